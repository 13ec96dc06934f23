//! Turns physical frames into the logical frames the runtime prints: inlined
//! calls expanded, lines looked up at the runtime's `symPC`, argument words
//! formatted from `FUNCDATA_ArgInfo`.

use super::unwind::PhysFrame;
use crate::addr::Addr;
use crate::exe::pclntab::{funcdata, pcdata, Func, Pclntab};
use crate::memory::{Memory, ReadExt};
use std::collections::HashMap;
use std::sync::Arc;

/// A frame as the runtime prints it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Frame {
    /// Symbol name (`runtime.gopanic`, `main.F[...]`).
    pub function: Arc<str>,
    /// Source file as recorded in the binary.
    pub file: Arc<str>,
    /// Line number.
    pub line: i32,
    /// Program counter of the physical frame.
    pub pc: Addr,
    /// Stack pointer.
    pub sp: Addr,
    /// Caller's stack pointer.
    pub fp: Addr,
    /// Function entry of the physical frame.
    pub entry: Addr,
    /// True for a call inlined into the next frame.
    pub inlined: bool,
    /// Argument words as the runtime prints them, without parentheses
    /// (`0x1, {0x2, 0x3}`); `...` for inlined frames.
    pub args: String,
    /// True when the frame is on a system stack (g0 or gsignal), not the goroutine's.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub system_stack: bool,
}

impl Frame {
    /// The runtime's print name: `panic` for `runtime.gopanic`, `F[...]` for generics.
    pub fn print_name(&self) -> String {
        print_name(&self.function)
    }
}

/// The runtime's `printFuncName`.
pub fn print_name(name: &str) -> String {
    if name == "runtime.gopanic" {
        return "panic".into();
    }
    let (a, b, c, d, e) = name_pieces_for_print(name);
    format!("{a}{b}{c}{d}{e}")
}

/// The runtime's `funcNamePiecesForPrint`: shortens type arguments to `[...]`.
fn name_pieces_for_print(name: &str) -> (&str, &str, &str, &str, &str) {
    let Some(i) = name.find('[') else { return (name, "", "", "", "") };
    let Some(j) = name.rfind(']') else { return (name, "", "", "", "") };
    if j <= i {
        return (name, "", "", "", "");
    }
    let interior = &name[i + 1..j];
    if !interior.contains('[') {
        return (&name[..i], "[...]", &name[j + 1..], "", "");
    }
    let mut depth = 1i32;
    let (mut rbr, mut lbr) = (None, None);
    for (k, c) in interior.char_indices() {
        if c == '[' {
            depth += 1;
            if depth != 1 {
                continue;
            }
            lbr = Some(k);
            break;
        }
        if c == ']' {
            depth -= 1;
            if depth < 0 {
                break;
            }
            if depth != 0 {
                continue;
            }
            rbr = Some(k);
        }
    }
    if depth == 1 {
        match (rbr, lbr) {
            (Some(r), Some(l)) if l > r => return (&name[..i], "[...]", &interior[r + 1..l], "[...]", &name[j + 1..]),
            (None, None) => return (&name[..i], "[...]", &name[j + 1..], "", ""),
            _ => {}
        }
    }
    (name, "", "", "", "")
}

#[derive(Clone)]
struct Logical {
    function: Arc<str>,
    file: Arc<str>,
    line: i32,
    inlined: bool,
}

/// Caches symbol lookups across goroutines: stacks repeat the same pcs.
#[derive(Default)]
pub struct Symbolizer {
    by_pc: HashMap<(Addr, bool), Arc<[Logical]>>,
    strings: HashMap<String, Arc<str>>,
    arg_info: HashMap<Addr, Option<Arc<ArgInfo>>>,
}

struct ArgInfo {
    layout: Vec<u8>,
    live: Option<Vec<u8>>,
}

const TRACE_ARGS_END_SEQ: u8 = 0xff;
const TRACE_ARGS_START_AGG: u8 = 0xfe;
const TRACE_ARGS_END_AGG: u8 = 0xfd;
const TRACE_ARGS_DOTDOTDOT: u8 = 0xfc;
const TRACE_ARGS_OFFSET_TOO_LARGE: u8 = 0xfb;
/// Most bytes an argument layout or liveness table can have (the runtime's `TraceArgsMaxLen` is far less).
const ARG_INFO_MAX: usize = 512;
/// Deepest inlining we follow.
const MAX_INLINE_DEPTH: usize = 256;

impl Symbolizer {
    /// A fresh cache.
    pub fn new() -> Self {
        Self::default()
    }

    fn intern(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.strings.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        self.strings.insert(s.to_string(), a.clone());
        a
    }

    /// Logical frames of the physical frame at `pc` (`trap`: look up at pc, not pc-1).
    fn logical(&mut self, tab: &Pclntab, mem: &dyn Memory, f: &Func<'_>, pc: Addr, trap: bool) -> Arc<[Logical]> {
        if let Some(v) = self.by_pc.get(&(pc, trap)) {
            return v.clone();
        }
        let sym_pc = sym_pc(pc, f.entry, trap);
        let mut out = Vec::new();
        let mut upc = sym_pc;
        let mut ix = f.pcdata(pcdata::INL_TREE_INDEX, upc);
        while ix >= 0 && out.len() < MAX_INLINE_DEPTH {
            let Some(call) = f.inlined_call(mem, ix) else { break };
            let (file, line) = f.file_line(upc);
            out.push(Logical { function: self.intern(call.name), file: self.intern(file), line, inlined: true });
            upc = f.entry.offset(call.parent_pc as i64);
            ix = f.pcdata(pcdata::INL_TREE_INDEX, upc);
        }
        let (file, line) = f.file_line(upc);
        out.push(Logical { function: self.intern(f.name()), file: self.intern(file), line, inlined: false });
        let _ = tab;
        let v: Arc<[Logical]> = out.into();
        self.by_pc.insert((pc, trap), v.clone());
        v
    }

    fn arg_info(&mut self, mem: &dyn Memory, f: &Func<'_>) -> Option<Arc<ArgInfo>> {
        if let Some(v) = self.arg_info.get(&f.entry) {
            return v.clone();
        }
        let layout = f.funcdata(funcdata::ARG_INFO).and_then(|a| read_upto(mem, a, ARG_INFO_MAX));
        let v = layout.map(|layout| {
            let live = f.funcdata(funcdata::ARG_LIVE_INFO).and_then(|a| read_upto(mem, a, ARG_INFO_MAX));
            Arc::new(ArgInfo { layout, live })
        });
        self.arg_info.insert(f.entry, v.clone());
        v
    }

    /// The runtime's `printArgs` for one physical frame.
    fn format_args(&mut self, mem: &dyn Memory, f: &Func<'_>, argp: Addr, sym_pc: Addr) -> String {
        let Some(info) = self.arg_info(mem, f) else { return String::new() };
        let live_idx = f.pcdata(pcdata::ARG_LIVE_INDEX, sym_pc);
        let start_offset = info.live.as_ref().and_then(|l| l.first().copied()).unwrap_or(0xff);
        let is_live = |off: u8, slot: u8| -> bool {
            let Some(live) = &info.live else { return true };
            if live_idx <= 0 || off < start_offset {
                return true;
            }
            let at = live_idx as usize + slot as usize / 8;
            live.get(at).is_some_and(|b| b & (1 << (slot % 8)) != 0)
        };
        let mut s = String::new();
        let mut start = true;
        let mut slot = 0u8;
        let p = &info.layout;
        let mut i = 0usize;
        while i < p.len() {
            let o = p[i];
            i += 1;
            let comma = |s: &mut String, start: bool| {
                if !start {
                    s.push_str(", ");
                }
            };
            match o {
                TRACE_ARGS_END_SEQ => break,
                TRACE_ARGS_START_AGG => {
                    comma(&mut s, start);
                    s.push('{');
                    start = true;
                    continue;
                }
                TRACE_ARGS_END_AGG => s.push('}'),
                TRACE_ARGS_DOTDOTDOT => {
                    comma(&mut s, start);
                    s.push_str("...");
                }
                TRACE_ARGS_OFFSET_TOO_LARGE => {
                    comma(&mut s, start);
                    s.push('_');
                }
                _ => {
                    comma(&mut s, start);
                    let Some(&sz) = p.get(i) else { break };
                    i += 1;
                    match mem.read_u64(argp.add(o as u64)) {
                        Ok(mut x) => {
                            if sz < 8 {
                                let shift = 64 - (sz as u32) * 8;
                                x = (x << shift) >> shift;
                            }
                            s.push_str(&format!("{x:#x}"));
                        }
                        Err(_) => s.push_str("0x?"),
                    }
                    if !is_live(o, slot) {
                        s.push('?');
                    }
                    if o >= start_offset {
                        slot = slot.wrapping_add(1);
                    }
                }
            }
            start = false;
        }
        s
    }

    /// Expands physical frames into logical ones.
    pub fn frames(&mut self, tab: &Pclntab, mem: &dyn Memory, phys: &[PhysFrame]) -> Vec<Frame> {
        let mut out = Vec::with_capacity(phys.len() + 4);
        for p in phys {
            let Some(f) = tab.find_func(p.pc) else { continue };
            let logical = self.logical(tab, mem, &f, p.pc, p.trap);
            let outer_args = self.format_args(mem, &f, p.fp, sym_pc(p.pc, f.entry, p.trap));
            for l in logical.iter() {
                out.push(Frame {
                    function: l.function.clone(),
                    file: l.file.clone(),
                    line: l.line,
                    pc: p.pc,
                    sp: p.sp,
                    fp: p.fp,
                    entry: f.entry,
                    inlined: l.inlined,
                    args: if l.inlined { "...".to_string() } else { outer_args.clone() },
                    system_stack: p.system_stack,
                });
            }
        }
        out
    }

    /// File, line and function of a `go` statement's pc (`g.gopc`), as `printcreatedby` shows it.
    pub fn created_by(&mut self, tab: &Pclntab, pc: Addr) -> Option<(Arc<str>, Arc<str>, i32, u64)> {
        let f = tab.find_func(pc)?;
        let tracepc = if pc > f.entry { pc.offset(-1) } else { pc };
        let (file, line) = f.file_line(tracepc);
        let off = pc.checked_sub(f.entry).unwrap_or(0);
        Some((self.intern(f.name()), self.intern(file), line, off))
    }
}

/// The runtime's `symPC`: return addresses are looked up one byte back.
pub fn sym_pc(pc: Addr, entry: Addr, trap: bool) -> Addr {
    if !trap && pc > entry {
        pc.offset(-1)
    } else {
        pc
    }
}

/// Reads up to `max` bytes at `a`, fewer at the end of a region.
fn read_upto(mem: &dyn Memory, a: Addr, max: usize) -> Option<Vec<u8>> {
    let mut n = max;
    while n > 0 {
        let mut v = vec![0u8; n];
        if mem.read(a, &mut v).is_ok() {
            return Some(v);
        }
        n /= 2;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn print_names_follow_the_runtime() {
        assert_eq!(print_name("runtime.gopanic"), "panic");
        assert_eq!(print_name("main.blockGeneric[go.shape.string]"), "main.blockGeneric[...]");
        assert_eq!(print_name("main.(*T[go.shape.int]).M"), "main.(*T[...]).M");
        assert_eq!(print_name("main.F[go.shape.[]int]"), "main.F[...]");
        assert_eq!(print_name("a.b[x].c[y]"), "a.b[...].c[...]");
        assert_eq!(print_name("main.main"), "main.main");
        assert_eq!(print_name("x]["), "x][");
    }

    #[test]
    fn sym_pc_rule() {
        assert_eq!(sym_pc(Addr(0x105), Addr(0x100), false), Addr(0x104));
        assert_eq!(sym_pc(Addr(0x105), Addr(0x100), true), Addr(0x105));
        assert_eq!(sym_pc(Addr(0x100), Addr(0x100), false), Addr(0x100));
    }
}
