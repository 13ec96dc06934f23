//! Go's pclntab (1.20+ format, magic 0xfffffff1), located through
//! `runtime.firstmoduledata` rather than by section name: function table,
//! pc-value tables (pcsp, pcfile, pcln, pcdata), the inline tree and funcdata.

use crate::addr::Addr;
use crate::memory::{MemError, Memory, ReadExt, View};

/// `FUNCDATA_*` indices.
pub mod funcdata {
    /// Arguments' pointer maps.
    pub const ARGS_POINTER_MAPS: usize = 0;
    /// Locals' pointer maps.
    pub const LOCALS_POINTER_MAPS: usize = 1;
    /// Stack objects.
    pub const STACK_OBJECTS: usize = 2;
    /// Inline tree.
    pub const INL_TREE: usize = 3;
    /// Argument layout for tracebacks.
    pub const ARG_INFO: usize = 5;
    /// Argument liveness for tracebacks.
    pub const ARG_LIVE_INFO: usize = 6;
}

/// `PCDATA_*` indices.
pub mod pcdata {
    /// Unsafe points.
    pub const UNSAFE_POINT: usize = 0;
    /// Index into the stack maps.
    pub const STACK_MAP_INDEX: usize = 1;
    /// Index into the inline tree.
    pub const INL_TREE_INDEX: usize = 2;
    /// Index into the argument liveness bitmaps.
    pub const ARG_LIVE_INDEX: usize = 3;
}

/// `abi.FuncFlag` bits.
pub mod funcflag {
    /// The function is the top of a stack (goexit, mstart, …).
    pub const TOPFRAME: u8 = 1;
    /// The function writes SP in ways the unwinder cannot follow.
    pub const SPWRITE: u8 = 2;
    /// The function is written in assembly.
    pub const ASM: u8 = 4;
}

/// Field offsets of `runtime.moduledata` needed to find the tables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleDataLayout {
    /// `pcHeader *pcHeader`.
    pub pc_header: u64,
    /// `funcnametab []byte`.
    pub funcnametab: u64,
    /// `cutab []uint32`.
    pub cutab: u64,
    /// `filetab []byte`.
    pub filetab: u64,
    /// `pctab []byte`.
    pub pctab: u64,
    /// `pclntable []byte`.
    pub pclntable: u64,
    /// `ftab []functab`.
    pub ftab: u64,
    /// `minpc uintptr`.
    pub minpc: u64,
    /// `maxpc uintptr`.
    pub maxpc: u64,
    /// `text uintptr`.
    pub text: u64,
    /// `gofunc uintptr`.
    pub gofunc: u64,
}

/// Field offsets of `runtime._func`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuncLayout {
    /// Bytes before the pcdata offsets.
    pub size: usize,
    /// `nameOff`.
    pub name_off: usize,
    /// `args`.
    pub args: usize,
    /// `deferreturn`.
    pub deferreturn: usize,
    /// `pcsp`.
    pub pcsp: usize,
    /// `pcfile`.
    pub pcfile: usize,
    /// `pcln`.
    pub pcln: usize,
    /// `npcdata`.
    pub npcdata: usize,
    /// `cuOffset`.
    pub cu_offset: usize,
    /// `startLine`.
    pub start_line: usize,
    /// `funcID`.
    pub func_id: usize,
    /// `flag`.
    pub flag: usize,
    /// `nfuncdata`.
    pub nfuncdata: usize,
}

impl Default for FuncLayout {
    /// The layout of Go 1.20–1.27 (used when DWARF lacks `runtime._func`).
    fn default() -> Self {
        FuncLayout {
            size: 44,
            name_off: 4,
            args: 8,
            deferreturn: 12,
            pcsp: 16,
            pcfile: 20,
            pcln: 24,
            npcdata: 28,
            cu_offset: 32,
            start_line: 36,
            func_id: 40,
            flag: 41,
            nfuncdata: 43,
        }
    }
}

/// The pclntab magic of Go 1.20 and later.
pub const PCLNTAB_MAGIC_120: u32 = 0xffff_fff1;
/// Size of one `inlinedCall` record.
pub const INLINED_CALL_SIZE: u64 = 16;
/// Largest table we accept (bounds allocations from a damaged core).
const MAX_TABLE: u64 = 1 << 31;

/// The function and line tables of one Go module.
pub struct Pclntab {
    /// `moduledata.text`: base of function entry offsets.
    pub text: Addr,
    /// Lowest pc of the module.
    pub minpc: Addr,
    /// Highest pc of the module.
    pub maxpc: Addr,
    /// `moduledata.gofunc`: base of funcdata offsets.
    pub gofunc: Addr,
    funcnametab: View,
    cutab: View,
    filetab: View,
    pctab: View,
    pclntable: View,
    ftab: View,
    nftab: usize,
    layout: FuncLayout,
    /// `pcHeader.minLC`: pc-value deltas count instructions of this many bytes.
    quantum: u64,
}

/// One function of the table.
#[derive(Copy, Clone)]
pub struct Func<'a> {
    tab: &'a Pclntab,
    off: usize,
    /// Entry pc.
    pub entry: Addr,
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off.checked_add(4)?)?.try_into().ok()?))
}

fn cstr_at(b: &[u8], off: usize) -> Option<&str> {
    let s = b.get(off..)?;
    let end = s.iter().position(|&c| c == 0)?;
    std::str::from_utf8(s.get(..end)?).ok()
}

fn read_slice_header(mem: &dyn Memory, at: Addr) -> Result<(Addr, u64), MemError> {
    Ok((mem.read_ptr(at)?, mem.read_u64(at.add(8))?))
}

impl Pclntab {
    /// Reads the tables of the module whose `moduledata` is at `md`.
    pub fn from_moduledata(
        mem: &dyn Memory,
        md: Addr,
        ml: &ModuleDataLayout,
        layout: FuncLayout,
    ) -> Result<Pclntab, String> {
        let rd = |e: MemError| format!("moduledata at {md}: {e}");
        let hdr = mem.read_ptr(md.add(ml.pc_header)).map_err(rd)?;
        let magic = mem.read_u32(hdr).map_err(|e| format!("pcHeader at {hdr}: {e}"))?;
        if magic != PCLNTAB_MAGIC_120 {
            return Err(format!("pcHeader at {hdr}: magic {magic:#x} is not Go 1.20+'s {PCLNTAB_MAGIC_120:#x}"));
        }
        // pcHeader.minLC: the instruction size quantum pc deltas are counted in.
        let quantum = mem.read_u8(hdr.add(6)).map_err(|e| format!("pcHeader at {hdr}: {e}"))?;
        if !matches!(quantum, 1 | 2 | 4) {
            return Err(format!("pcHeader at {hdr}: instruction quantum {quantum} is not 1, 2 or 4"));
        }
        let view = |field: u64, elem: u64| -> Result<(View, u64), String> {
            let (p, n) = read_slice_header(mem, md.add(field)).map_err(rd)?;
            let bytes = n
                .checked_mul(elem)
                .filter(|&b| b <= MAX_TABLE)
                .ok_or_else(|| format!("moduledata table at {p} has absurd length {n}"))?;
            Ok((mem.view(p, bytes, MAX_TABLE).map_err(|e| format!("pclntab table: {e}"))?, n))
        };
        let (funcnametab, _) = view(ml.funcnametab, 1)?;
        let (cutab, _) = view(ml.cutab, 4)?;
        let (filetab, _) = view(ml.filetab, 1)?;
        let (pctab, _) = view(ml.pctab, 1)?;
        let (pclntable, _) = view(ml.pclntable, 1)?;
        let (ftab, nftab) = view(ml.ftab, 8)?;
        if nftab == 0 {
            return Err("moduledata has an empty function table".into());
        }
        Ok(Pclntab {
            text: mem.read_ptr(md.add(ml.text)).map_err(rd)?,
            minpc: mem.read_ptr(md.add(ml.minpc)).map_err(rd)?,
            maxpc: mem.read_ptr(md.add(ml.maxpc)).map_err(rd)?,
            gofunc: mem.read_ptr(md.add(ml.gofunc)).map_err(rd)?,
            funcnametab,
            cutab,
            filetab,
            pctab,
            pclntable,
            ftab,
            // The last entry is a sentinel marking the end of text.
            nftab: (nftab as usize).saturating_sub(1),
            layout,
            quantum: quantum as u64,
        })
    }

    /// Number of functions.
    pub fn len(&self) -> usize {
        self.nftab
    }

    /// True when the table has no function.
    pub fn is_empty(&self) -> bool {
        self.nftab == 0
    }

    fn ftab_entry(&self, i: usize) -> Option<(u32, u32)> {
        let b = self.ftab.bytes();
        let at = i.checked_mul(8)?;
        Some((u32_at(b, at)?, u32_at(b, at.checked_add(4)?)?))
    }

    /// The function containing `pc`, if any.
    pub fn find_func(&self, pc: Addr) -> Option<Func<'_>> {
        if pc < self.minpc || pc >= self.maxpc {
            return None;
        }
        let rel = pc.checked_sub(self.text)?;
        let rel = u32::try_from(rel).ok()?;
        // Binary search over entry offsets.
        let (mut lo, mut hi) = (0usize, self.nftab);
        while lo < hi {
            let mid = lo.midpoint(hi);
            if self.ftab_entry(mid)?.0 <= rel {
                lo = mid.saturating_add(1);
            } else {
                hi = mid;
            }
        }
        let i = lo.checked_sub(1)?;
        let (entry_off, func_off) = self.ftab_entry(i)?;
        let (next_off, _) = self.ftab_entry(i.checked_add(1)?)?;
        if rel >= next_off {
            return None;
        }
        let f = Func { tab: self, off: func_off as usize, entry: self.text.add(entry_off as u64) };
        // The _func must agree with the table about its entry.
        (f.u32(0)? == entry_off).then_some(f)
    }

    /// Every function, in address order.
    pub fn funcs(&self) -> impl Iterator<Item = Func<'_>> + '_ {
        (0..self.nftab).filter_map(move |i| self.func(i))
    }

    /// The `i`th function in address order (`None` past the last, or where
    /// the table is unreadable).
    pub fn func(&self, i: usize) -> Option<Func<'_>> {
        if i >= self.nftab {
            return None;
        }
        let (entry_off, func_off) = self.ftab_entry(i)?;
        Some(Func { tab: self, off: func_off as usize, entry: self.text.add(entry_off as u64) })
    }

    /// Name at `off` in `funcnametab`.
    pub fn name_at(&self, off: i32) -> Option<&str> {
        cstr_at(self.funcnametab.bytes(), usize::try_from(off).ok()?)
    }

    /// Decodes pc-value table `off` for `target`, starting at `entry`.
    pub fn pcvalue(&self, off: u32, entry: Addr, target: Addr) -> Option<i32> {
        if off == 0 {
            return None;
        }
        let tab = self.pctab.bytes();
        let mut p = tab.get(off as usize..)?;
        let mut pc = entry.0;
        let mut val: i32 = -1;
        let mut first = true;
        // A table has at most one step per byte of text; bound the walk anyway.
        for _ in 0..(1 << 24) {
            let (uvdelta, n) = uvarint32(p)?;
            if uvdelta == 0 && !first {
                return None;
            }
            first = false;
            p = p.get(n..)?;
            let delta = (uvdelta >> 1) as i32 ^ ((uvdelta & 1) as i32).wrapping_neg();
            val = val.wrapping_add(delta);
            let (pcdelta, n) = uvarint32(p)?;
            p = p.get(n..)?;
            pc = pc.wrapping_add((pcdelta as u64).wrapping_mul(self.quantum));
            if target.0 < pc {
                return Some(val);
            }
        }
        None
    }

    /// The largest value of a pc-value table over its whole function.
    pub fn pcvalue_max(&self, off: u32) -> Option<i32> {
        if off == 0 {
            return None;
        }
        let mut p = self.pctab.bytes().get(off as usize..)?;
        let (mut val, mut max): (i32, Option<i32>) = (-1, None);
        for step in 0..(1 << 24) {
            let (uvdelta, n) = uvarint32(p)?;
            if uvdelta == 0 && step > 0 {
                break;
            }
            p = p.get(n..)?;
            val = val.wrapping_add((uvdelta >> 1) as i32 ^ ((uvdelta & 1) as i32).wrapping_neg());
            max = Some(max.map_or(val, |m| m.max(val)));
            let (_, n) = uvarint32(p)?;
            p = p.get(n..)?;
        }
        max
    }

    fn file_name(&self, f: &Func<'_>, fileno: i32) -> Option<&str> {
        let idx = (f.cu_offset()? as usize).checked_add(usize::try_from(fileno).ok()?)?;
        let fileoff = u32_at(self.cutab.bytes(), idx.checked_mul(4)?)?;
        if fileoff == u32::MAX {
            return None;
        }
        cstr_at(self.filetab.bytes(), fileoff as usize)
    }
}

#[allow(clippy::arithmetic_side_effects, reason = "i < 5: the shift stays below 35 bits, on at most 5 bytes")]
fn uvarint32(b: &[u8]) -> Option<(u32, usize)> {
    let mut x = 0u32;
    for (i, &c) in b.iter().enumerate().take(5) {
        x |= ((c & 0x7f) as u32) << (7 * i);
        if c & 0x80 == 0 {
            return Some((x, i + 1));
        }
    }
    None
}

impl<'a> Func<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.tab.pclntable.bytes()
    }
    fn u32(&self, field: usize) -> Option<u32> {
        u32_at(self.bytes(), self.off.checked_add(field)?)
    }
    fn u8(&self, field: usize) -> Option<u8> {
        self.bytes().get(self.off.checked_add(field)?).copied()
    }

    /// The function's symbol name (`runtime.gopanic`, `main.F[...]`).
    pub fn name(&self) -> &'a str {
        let l = &self.tab.layout;
        self.u32(l.name_off).and_then(|o| self.tab.name_at(o as i32)).unwrap_or("?")
    }
    /// Size of the arguments (`args`).
    pub fn args(&self) -> i32 {
        self.u32(self.tab.layout.args).unwrap_or(0) as i32
    }
    /// Offset of the deferreturn call, or 0.
    pub fn deferreturn(&self) -> u32 {
        self.u32(self.tab.layout.deferreturn).unwrap_or(0)
    }
    fn cu_offset(&self) -> Option<u32> {
        self.u32(self.tab.layout.cu_offset)
    }
    /// `abi.FuncFlag` bits.
    pub fn flag(&self) -> u8 {
        self.u8(self.tab.layout.flag).unwrap_or(0)
    }
    /// `abi.FuncID`.
    pub fn func_id(&self) -> u8 {
        self.u8(self.tab.layout.func_id).unwrap_or(0)
    }
    /// Line of the `func` keyword.
    pub fn start_line(&self) -> i32 {
        self.u32(self.tab.layout.start_line).unwrap_or(0) as i32
    }
    /// Offset of the pcsp table, 0 if none.
    pub fn pcsp(&self) -> u32 {
        self.u32(self.tab.layout.pcsp).unwrap_or(0)
    }

    /// SP delta at `pc` (bytes the frame has pushed), from pcsp.
    pub fn sp_delta(&self, pc: Addr) -> Option<i32> {
        self.tab.pcvalue(self.pcsp(), self.entry, pc)
    }

    /// File and line at `pc` (the innermost inlined position).
    pub fn file_line(&self, pc: Addr) -> (&'a str, i32) {
        let l = &self.tab.layout;
        let file = self
            .u32(l.pcfile)
            .and_then(|o| self.tab.pcvalue(o, self.entry, pc))
            .and_then(|n| self.tab.file_name(self, n))
            .unwrap_or("?");
        let line = self.u32(l.pcln).and_then(|o| self.tab.pcvalue(o, self.entry, pc)).unwrap_or(0);
        (file, line)
    }

    fn npcdata(&self) -> u32 {
        self.u32(self.tab.layout.npcdata).unwrap_or(0)
    }

    /// Value of pcdata table `table` at `pc`; -1 where the table has none (as the runtime).
    pub fn pcdata(&self, table: usize, pc: Addr) -> i32 {
        if table as u32 >= self.npcdata() {
            return -1;
        }
        let l = &self.tab.layout;
        // table < npcdata (a byte): the offset is small.
        self.u32(l.size.saturating_add(table.saturating_mul(4)))
            .and_then(|o| self.tab.pcvalue(o, self.entry, pc))
            .unwrap_or(-1)
    }

    /// Whether a call to `name` is inlined anywhere in the function (its inline tree).
    pub fn inlines(&self, mem: &dyn Memory, name: &str) -> bool {
        if pcdata::INL_TREE_INDEX as u32 >= self.npcdata() {
            return false;
        }
        let off = self.u32(self.tab.layout.size.saturating_add(pcdata::INL_TREE_INDEX.saturating_mul(4)));
        let max = off.and_then(|o| self.tab.pcvalue_max(o)).unwrap_or(-1).min(1 << 14);
        (0..=max).any(|i| self.inlined_call(mem, i).is_some_and(|c| c.name == name))
    }

    /// Address of funcdata `i`, if the function has it.
    pub fn funcdata(&self, i: usize) -> Option<Addr> {
        let l = &self.tab.layout;
        let n = self.u8(l.nfuncdata)? as usize;
        if i >= n {
            return None;
        }
        let off = self.u32(l.size.saturating_add((self.npcdata() as usize).saturating_add(i).saturating_mul(4)))?;
        if off == u32::MAX {
            return None;
        }
        Some(self.tab.gofunc.add(off as u64))
    }

    /// The inline tree record `index`: (name, parent pc offset, funcID).
    pub fn inlined_call(&self, mem: &dyn Memory, index: i32) -> Option<InlinedCall<'a>> {
        let tree = self.funcdata(funcdata::INL_TREE)?;
        let at = tree.add(u64::try_from(index).ok()?.checked_mul(INLINED_CALL_SIZE)?);
        let rec: [u8; 16] = mem.read_array(at).ok()?;
        let name_off = i32::from_le_bytes(rec[4..8].try_into().ok()?);
        let parent_pc = i32::from_le_bytes(rec[8..12].try_into().ok()?);
        let start_line = i32::from_le_bytes(rec[12..16].try_into().ok()?);
        Some(InlinedCall { func_id: rec[0], name: self.tab.name_at(name_off).unwrap_or("?"), parent_pc, start_line })
    }
}

/// A record of the inline tree.
#[derive(Copy, Clone, Debug)]
pub struct InlinedCall<'a> {
    /// `abi.FuncID` of the inlined function.
    pub func_id: u8,
    /// Name of the inlined function.
    pub name: &'a str,
    /// Offset from the outer function's entry of an instruction at the call site.
    pub parent_pc: i32,
    /// Line of the inlined function's `func` keyword.
    pub start_line: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tab(pctab: Vec<u8>) -> Pclntab {
        tab_q(pctab, 1)
    }

    fn tab_q(pctab: Vec<u8>, quantum: u64) -> Pclntab {
        Pclntab {
            text: Addr(0x1000),
            minpc: Addr(0x1000),
            maxpc: Addr(0x2000),
            gofunc: Addr(0),
            funcnametab: View::from_vec(b"\0main.f\0".to_vec()),
            cutab: View::from_vec(vec![]),
            filetab: View::from_vec(vec![]),
            pctab: View::from_vec(pctab),
            pclntable: View::from_vec(vec![]),
            ftab: View::from_vec(vec![]),
            nftab: 0,
            layout: FuncLayout::default(),
            quantum,
        }
    }

    #[test]
    fn pcvalue_decodes_steps() {
        // value -1 -> +8 (delta 9: zigzag 18) for 4 bytes, then +8 (16) for 10 bytes, then end.
        let t = tab(vec![0, 18, 4, 16, 10, 0]);
        assert_eq!(t.pcvalue(1, Addr(0x1000), Addr(0x1000)), Some(8));
        assert_eq!(t.pcvalue(1, Addr(0x1000), Addr(0x1003)), Some(8));
        assert_eq!(t.pcvalue(1, Addr(0x1000), Addr(0x1004)), Some(16));
        assert_eq!(t.pcvalue(1, Addr(0x1000), Addr(0x100d)), Some(16));
        assert_eq!(t.pcvalue(1, Addr(0x1000), Addr(0x100e)), None);
        // Negative deltas: -1 + 5 = 4, then 4 - 3 = 1.
        let t = tab(vec![0, 10, 2, 5, 2, 0]);
        assert_eq!(t.pcvalue(1, Addr(0x1000), Addr(0x1002)), Some(1));
        assert_eq!(t.pcvalue(0, Addr(0x1000), Addr(0x1002)), None);
        assert_eq!(t.name_at(1), Some("main.f"));
        assert!(t.find_func(Addr(0x1000)).is_none());
    }

    #[test]
    fn pcvalue_deltas_count_instructions_of_the_quantum() {
        // arm64 (minLC 4): the same table covers 4 instructions = 16 bytes, then 10 = 40 bytes.
        let t = tab_q(vec![0, 18, 4, 16, 10, 0], 4);
        assert_eq!(t.pcvalue(1, Addr(0x1000), Addr(0x100c)), Some(8));
        assert_eq!(t.pcvalue(1, Addr(0x1000), Addr(0x1010)), Some(16));
        assert_eq!(t.pcvalue(1, Addr(0x1000), Addr(0x1037)), Some(16));
        assert_eq!(t.pcvalue(1, Addr(0x1000), Addr(0x1038)), None);
    }

    #[test]
    fn pcvalue_never_panics_on_garbage() {
        let t = tab(vec![0xff; 64]);
        assert_eq!(t.pcvalue(1, Addr(0x1000), Addr(0x1fff)), None);
        assert_eq!(t.pcvalue(1000, Addr(0x1000), Addr(0x1fff)), None);
    }
}
