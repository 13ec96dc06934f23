//! The heap model: for any address, what it is — through `mheap_.arenas` →
//! `heapArena.spans` → `mspan` (state, range, `freeindex`, `allocBits`,
//! element size) — as the runtime's own `spanOf`/`isFree` decide it. Every
//! offset and constant comes from DWARF; the architecture's values are the fallback only
//! for constants the DWARF lacks.

use super::process::Process;
use crate::addr::Addr;
use crate::arch::Arch;
use crate::exe::dwarf::DwarfIndex;
use crate::memory::ReadExt;

/// Offsets and constants of the heap structures.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct HeapLayout {
    pub mheap: Addr,
    pub arenas: u64,
    pub mheap_sweepgen: u64,
    pub arena_base_offset: u64,
    pub heap_arena_bytes: u64,
    pub l1_bits: u32,
    pub l2_bits: u32,
    pub page_size: u64,
    pub pages_per_arena: u64,
    pub ha_spans: u64,
    pub span_start: u64,
    pub span_npages: u64,
    pub span_freeindex: (u64, u64),
    pub span_nelems: (u64, u64),
    pub span_alloc_bits: u64,
    pub span_state: u64,
    pub span_elemsize: u64,
    pub span_sweepgen: u64,
    pub in_use: u8,
    pub manual: u8,
}

fn need(d: &DwarfIndex, st: &str, f: &str) -> Result<u64, String> {
    d.require_field(st, f)
}

impl HeapLayout {
    /// The process's heap layout: from DWARF, else (no DWARF) the built-in
    /// one of its Go version and architecture ([`HeapLayout::builtin`]).
    pub fn new(p: &Process) -> Result<HeapLayout, String> {
        let mheap = p.global("runtime.mheap_").ok_or("no runtime.mheap_")?;
        match p.dwarf() {
            Ok(d) => HeapLayout::from_dwarf(d, p.arch, mheap),
            Err(why) => HeapLayout::builtin(p.go_major_minor().1, p.arch, mheap)
                .ok_or_else(|| format!("{why}, and gotopsy has no built-in heap layout for {}", p.go_version)),
        }
    }

    /// Reads the layout from DWARF; `mheap` is the address of `runtime.mheap_`.
    pub fn from_dwarf(d: &DwarfIndex, arch: &dyn Arch, mheap: Addr) -> Result<HeapLayout, String> {
        let c = |names: &[&str], def: i64| names.iter().find_map(|n| d.constant(n)).unwrap_or(def);
        let sized = |st: &str, f: &str| -> Result<(u64, u64), String> {
            Ok((need(d, st, f)?, d.field_size(st, f).unwrap_or(8)))
        };
        let ms = "runtime.mspan";
        // mSpanStateBox{s atomic.Uint8}: the byte is at the start of the box.
        let state = need(d, ms, "state")?;
        Ok(HeapLayout {
            mheap,
            arenas: need(d, "runtime.mheap", "arenas")?,
            mheap_sweepgen: need(d, "runtime.mheap", "sweepgen")?,
            arena_base_offset: c(
                &["runtime.arenaBaseOffset", "runtime.arenaBaseOffsetUintptr"],
                arch.arena_base_offset() as i64,
            ) as u64,
            heap_arena_bytes: c(&["runtime.heapArenaBytes"], 64 << 20) as u64,
            l1_bits: c(&["runtime.arenaL1Bits"], 0) as u32,
            l2_bits: c(&["runtime.arenaL2Bits"], 22) as u32,
            page_size: c(&["runtime.pageSize", "runtime._PageSize"], 8192) as u64,
            pages_per_arena: c(&["runtime.pagesPerArena"], 8192) as u64,
            ha_spans: need(d, "runtime.heapArena", "spans")?,
            span_start: need(d, ms, "startAddr")?,
            span_npages: need(d, ms, "npages")?,
            span_freeindex: sized(ms, "freeindex")?,
            span_nelems: sized(ms, "nelems")?,
            span_alloc_bits: need(d, ms, "allocBits")?,
            span_state: state,
            span_elemsize: need(d, ms, "elemsize")?,
            span_sweepgen: need(d, ms, "sweepgen")?,
            in_use: c(&["runtime.mSpanInUse"], 1) as u8,
            manual: c(&["runtime.mSpanManual"], 2) as u8,
        })
    }

    /// The layout of Go 1.`minor` on `arch` without DWARF, if known. Checked
    /// against the DWARF of every fixture (`tests/layout_fallback.rs`) and of
    /// builds of every supported version for both architectures
    /// (`cargo run --example check_builtin_layouts EXE...`).
    pub fn builtin(minor: u32, arch: &dyn Arch, mheap: Addr) -> Option<HeapLayout> {
        // Go 1.22 put a `cpu.CacheLinePad` before `mheap.arenas`, and
        // narrowed `mspan.freeindex`/`nelems` to uint16.
        let (arenas, ha_spans, span) = match minor {
            21 => (65944, 1_064_960, (48, 8, 56, 8, 72, 107, 112, 96)),
            22..=27 => (65944u64.saturating_add(arch.cache_line_pad_size()), 0, (48, 2, 50, 2, 64, 99, 104, 88)),
            _ => return None,
        };
        let (fi, fi_size, ne, ne_size, alloc_bits, state, elemsize, sweepgen) = span;
        Some(HeapLayout {
            mheap,
            arenas,
            mheap_sweepgen: 65856,
            arena_base_offset: arch.arena_base_offset(),
            heap_arena_bytes: 64 << 20,
            l1_bits: 0,
            l2_bits: 22,
            page_size: 8192,
            pages_per_arena: 8192,
            ha_spans,
            span_start: 24,
            span_npages: 32,
            span_freeindex: (fi, fi_size),
            span_nelems: (ne, ne_size),
            span_alloc_bits: alloc_bits,
            span_state: state,
            span_elemsize: elemsize,
            span_sweepgen: sweepgen,
            in_use: 1,
            manual: 2,
        })
    }
}

/// What an address is.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AddrInfo {
    /// The address asked about.
    pub address: Addr,
    /// `heap`, `stack` (a span of goroutine stacks), `data` (the executable's
    /// writable data or bss), `text` (code or read-only data), `mapped` (some
    /// other mapping), `unmapped`.
    pub region: &'static str,
    /// For heap addresses: inside an allocated object (true) or free memory
    /// (false); null elsewhere.
    pub allocated: Option<bool>,
    /// The object containing it (heap), when allocated or formerly allocated.
    pub object: Option<HeapObject>,
    /// The span's state and sweep status, for heap and stack addresses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span: Option<SpanInfo>,
    /// How the answer was reached, or why it is partial.
    pub reason: String,
    /// For text and data addresses: the function or global it is in, with
    /// the offset (`main.inventory+0x8`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// For stack addresses: the goroutine whose stack holds it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goroutine: Option<u64>,
}

impl AddrInfo {
    /// Names what the executable and the goroutines can say: the function
    /// at a text address (from the pclntab), the global at a data address
    /// (from the symbol table), the goroutine whose stack holds a stack
    /// address (`stacks`: id and `[lo, hi)` of each goroutine's stack).
    pub fn name(&mut self, p: &Process, stacks: &[(u64, Addr, Addr)]) {
        let a = self.address;
        self.symbol = symbol_at(p, a);
        if let Some(&(id, _, _)) = stacks.iter().find(|(_, lo, hi)| *lo <= a && a < *hi) {
            self.goroutine = Some(id);
            if self.region != "stack" {
                self.reason = format!("{}; inside goroutine {id}'s stack", self.reason);
            }
        }
    }
}

/// The function (from the pclntab) or global (from the symbol table) at
/// `a`, with its offset: `main.f+0x1c`.
pub fn symbol_at(p: &Process, a: Addr) -> Option<String> {
    if let Some(f) = p.pclntab.find_func(a) {
        let off = a.checked_sub(f.entry).unwrap_or(0);
        return Some(if off == 0 { f.name().to_string() } else { format!("{}+{off:#x}", f.name()) });
    }
    let (name, off) = p.exe.symbol_at(Addr(a.0.wrapping_sub(p.bias)))?;
    Some(if off == 0 { name.to_string() } else { format!("{name}+{off:#x}") })
}

/// An object in a span.
#[derive(Clone, Debug, serde::Serialize)]
pub struct HeapObject {
    /// First byte.
    pub base: Addr,
    /// Element size of its span.
    pub size: u64,
}

/// The span an address falls in.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SpanInfo {
    /// First byte of the span.
    pub start: Addr,
    /// Pages.
    pub npages: u64,
    /// `mSpanInUse`, `mSpanManual`, `mSpanDead` as a number.
    pub state: u8,
    /// False when the span was not swept since the last GC (`allocBits` are a cycle old).
    pub swept: bool,
}

impl HeapLayout {
    /// Classifies `a`.
    pub fn inspect(&self, p: &Process, a: Addr) -> AddrInfo {
        let mut info = AddrInfo {
            address: a,
            region: "unmapped",
            allocated: None,
            object: None,
            span: None,
            reason: String::new(),
            symbol: None,
            goroutine: None,
        };
        match self.span_of(p, a) {
            Ok(Some((span, state))) => {
                let mem = p.mem();
                let rd = |o: u64| mem.read_u64(span.add(o));
                let start = rd(self.span_start).map(Addr).unwrap_or(Addr::NULL);
                let npages = rd(self.span_npages).unwrap_or(0);
                let end = start.add(npages.saturating_mul(self.page_size));
                let global_sg = mem.read_u32(self.mheap.add(self.mheap_sweepgen)).unwrap_or(0);
                let sg = mem.read_u32(span.add(self.span_sweepgen)).unwrap_or(0);
                info.span =
                    Some(SpanInfo { start, npages, state, swept: sg == global_sg || sg == global_sg.wrapping_add(3) });
                info.region = "heap";
                if !(start <= a && a < end) {
                    // spans[] entries are not cleared when a span is freed.
                    info.allocated = Some(false);
                    info.reason = format!("stale span {start}..{end} no longer covers it: free pages");
                    return info;
                }
                if state == self.manual {
                    info.region = "stack";
                    info.reason = "span holds goroutine stacks (mSpanManual)".into();
                    return info;
                }
                if state != self.in_use {
                    info.allocated = Some(false);
                    info.reason = format!("span state {state} is not in use: freed");
                    return info;
                }
                let elemsize = rd(self.span_elemsize).unwrap_or(0);
                if elemsize == 0 {
                    info.reason = "span with element size 0".into();
                    return info;
                }
                let idx = a.0.saturating_sub(start.0).checked_div(elemsize).unwrap_or(0);
                let read_sized = |(o, sz): (u64, u64)| mem.read_uint(span.add(o), sz).unwrap_or(0);
                let freeindex = read_sized(self.span_freeindex);
                let nelems = read_sized(self.span_nelems);
                let base = start.add(idx.saturating_mul(elemsize));
                info.object = Some(HeapObject { base, size: elemsize });
                if idx >= nelems {
                    info.allocated = Some(false);
                    info.object = None;
                    info.reason = format!("past the span's {nelems} elements (span tail)");
                    return info;
                }
                let bit = mem
                    .read_ptr(span.add(self.span_alloc_bits))
                    .and_then(|bits| mem.read_u8(bits.add(idx / 8)))
                    .map(|b| b & (1 << (idx % 8)) != 0);
                match bit {
                    Ok(b) => {
                        let alloc = idx < freeindex || b;
                        info.allocated = Some(alloc);
                        info.reason = format!(
                            "object {idx} of {nelems} (size {elemsize}): {}",
                            if idx < freeindex {
                                "below freeindex"
                            } else if b {
                                "allocBits set"
                            } else {
                                "allocBits clear"
                            }
                        );
                    }
                    Err(e) => info.reason = format!("allocBits unreadable: {e}"),
                }
            }
            Ok(None) => {
                let seg = p.exe.segments.iter().find(|s| {
                    let lo = s.vaddr.wrapping_add(p.bias);
                    a.0 >= lo && a.0 < lo.saturating_add(s.memsz)
                });
                info.region = match seg {
                    Some(s) if s.writable => "data",
                    Some(_) => "text",
                    None if p.image.is_mapped(a) => "mapped",
                    None => "unmapped",
                };
                info.reason = "not in a heap arena".into();
            }
            Err(e) => {
                info.region = "heap";
                info.reason = e;
            }
        }
        info
    }

    /// True when an in-use span covers `a` (checks a guessed `mheap_`).
    pub fn covers(&self, p: &Process, a: Addr) -> bool {
        let Ok(Some((span, state))) = self.span_of(p, a) else { return false };
        let mem = p.mem();
        let start = mem.read_u64(span.add(self.span_start)).unwrap_or(0);
        let npages = mem.read_u64(span.add(self.span_npages)).unwrap_or(0);
        state == self.in_use && start <= a.0 && a.0.saturating_sub(start) < npages.saturating_mul(self.page_size)
    }

    /// The span covering `a` and its state, `None` when `a` is in no heap arena.
    /// The span holding `a` and its state, from `mheap_.arenas`.
    pub fn span_of(&self, p: &Process, a: Addr) -> Result<Option<(Addr, u8)>, String> {
        let mem = p.mem();
        let ri = a.0.wrapping_sub(self.arena_base_offset).checked_div(self.heap_arena_bytes).unwrap_or(0);
        let (l1_bits, l2_bits) = (self.l1_bits.min(40), self.l2_bits.min(40));
        let l2_mask = (1u64 << l2_bits).saturating_sub(1);
        let l1 = if l1_bits == 0 { 0 } else { ri >> l2_bits };
        let l2 = ri & l2_mask;
        if l1 >> l1_bits != 0 || ri >> l1_bits.saturating_add(l2_bits).min(63) != 0 {
            return Ok(None);
        }
        let l2arr = mem
            .read_ptr(self.mheap.add(self.arenas.saturating_add(l1.saturating_mul(8))))
            .map_err(|e| format!("mheap_.arenas unreadable: {e}"))?;
        if l2arr.is_null() {
            return Ok(None);
        }
        let ha = match mem.read_ptr(l2arr.add(l2.wrapping_mul(8))) {
            Ok(h) => h,
            Err(_) => return Ok(None), // the L2 array is sparse; unmapped parts hold no arena
        };
        if ha.is_null() {
            return Ok(None);
        }
        let pi = a.0.checked_div(self.page_size).unwrap_or(0).checked_rem(self.pages_per_arena).unwrap_or(0);
        let span = mem
            .read_ptr(ha.add(self.ha_spans.saturating_add(pi.saturating_mul(8))))
            .map_err(|e| format!("heapArena.spans unreadable: {e}"))?;
        if span.is_null() {
            return Err("in a heap arena, but no span covers it (never allocated)".into());
        }
        let state = mem.read_u8(span.add(self.span_state)).map_err(|e| format!("mspan unreadable: {e}"))?;
        Ok(Some((span, state)))
    }
}
