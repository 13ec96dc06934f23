//! The runtime's globals in an executable without a symbol table
//! (`-ldflags="-s -w"`, `objcopy --strip-all`): found by what they hold, and
//! each validated before it is used (`docs/stripped.md`).
//!
//! - `runtime.firstmoduledata`: from Go 1.26 the section `.go.module`; before,
//!   the word of `.noptrdata` that holds the pclntab's address (the module
//!   data's `pcHeader`); either way its `text`, `minpc` and `maxpc` must lie
//!   in `.text` in that order, `text` equal the pclntab header's `textStart`
//!   (before 1.26), and `funcnametab` point into the pclntab.
//! - Threads: each thread's `g` register (amd64 `r14`, arm64 `x28`) or, on
//!   amd64, its TLS slot (`fs_base − 8`), accepted when that `g`'s `m` names
//!   it back (`m.g0`, `m.curg` or `m.gsignal`) and runs on that thread
//!   (`m.procid`).
//! - `runtime.allm`: the word of `.bss`/`.noptrbss` holding an `m` (one whose
//!   `g0` names it back) whose `alllink` chain passes through every such `m`
//!   (the longest such chain: the head).
//! - `runtime.allgs`: the slice header of `.bss` (pointer, length, capacity)
//!   whose array holds every such `m`'s `curg`, every element a valid `g`,
//!   the first the main goroutine (id 1).
//! - `runtime.mheap_`: the place in `.bss` where `mheap_.arenas` leads, through
//!   the heap arena index, to in-use spans holding the goroutines found.
//! - `runtime.sched`: the place in `.bss`/`.noptrbss` where, at the built-in
//!   offsets of `schedt`, `goidgen` is at least every goroutine id in `allgs`
//!   and within one goroutine-id batch per P of the largest, `mnext` exceeds
//!   every `m.id` on `allm`'s chain, `maxmcount` is positive and `lastpoll`
//!   not negative; the one whose `maxmcount` is the runtime's default 10000,
//!   else the one candidate (several: none).
//! - `runtime.trace` (sought only when a trace is recovered from the core):
//!   the one place whose generation, `enabled` flag and that generation's
//!   mark-worker label ids are those of a running tracer ([`find_trace`]).
//! - `runtime/trace.tracing` (the same): the one place whose
//!   `flightRecorder` leads to a flight recorder holding a trace header
//!   ([`find_tracing`]).

use super::heap::HeapLayout;
use super::trace_layout::{FlightLayout, TraceLayout};
use super::Process;
use crate::addr::Addr;
use crate::exe::pclntab::ModuleDataLayout;
use crate::exe::Executable;
use crate::memory::ReadExt;
use crate::warning::{Warning, WarningKind};

/// Most `m`s followed on an `alllink` chain (the runtime's own limit, `sched.maxmcount`).
const MAX_MS: usize = 10_000;
/// Most goroutines a candidate `allgs` may claim.
const MAX_ALLGS: u64 = 1 << 26;
/// Elements of a candidate `allgs` validated as goroutines.
const CHECKED_GS: u64 = 64;
/// How far `sched.goidgen` may run ahead of the largest goroutine id: each P
/// takes ids in batches of 16 (`_GoidCacheBatch`), and at most 1024 Ps.
const GOID_SLACK: u64 = 16 * 1024;
/// `sched.maxmcount` unless the program called `debug.SetMaxThreads`.
const DEFAULT_MAXMCOUNT: u64 = 10_000;

/// The stated address of `runtime.firstmoduledata`, found without symbols.
pub fn find_moduledata(exe: &Executable, ml: &ModuleDataLayout) -> Result<Addr, String> {
    let section = |n: &str| exe.sections.get(n).map(|s| (s.addr, s.size));
    let (text_start, text_size) = section(".text").ok_or("the executable has no .text section")?;
    let (pclntab, pclntab_size) = section(".gopclntab")
        .or_else(|| section(".data.rel.ro.gopclntab"))
        .ok_or("the executable has no .gopclntab section")?;
    let word = |stated: u64| -> Option<u64> {
        let b = exe.initial_bytes(stated, 8, 0)?;
        Some(u64::from_le_bytes(b.get(..8)?.try_into().ok()?))
    };
    let in_text = |a: u64| a.wrapping_sub(text_start) <= text_size;
    // pcHeader.textStart (after magic, pads, minLC, ptrSize, nfunc, nfiles):
    // where the Go text starts (not .text's start when cgo linked C code
    // first); 0 from Go 1.26, which no longer stores it.
    let text_start_field = word(pclntab.saturating_add(24)).filter(|&t| t != 0);
    let valid = |md: u64| -> bool {
        let f = |o: u64| word(md.saturating_add(o));
        let (Some(text), Some(minpc), Some(maxpc), Some(names)) =
            (f(ml.text), f(ml.minpc), f(ml.maxpc), f(ml.funcnametab))
        else {
            return false;
        };
        f(ml.pc_header) == Some(pclntab)
            && text_start_field.is_none_or(|t| t == text)
            && in_text(text)
            && text <= minpc
            && minpc < maxpc
            && in_text(maxpc)
            && names.wrapping_sub(pclntab) < pclntab_size
    };
    if let Some((addr, _)) = section(".go.module") {
        return if valid(addr) {
            Ok(Addr(addr))
        } else {
            Err(".go.module does not hold a module data that points at .gopclntab and its text".into())
        };
    }
    let (start, size) = section(".noptrdata").ok_or("the executable has no .noptrdata section")?;
    let len = usize::try_from(size).map_err(|_| ".noptrdata is too large")?;
    let bytes = exe.initial_bytes(start, len, 0).ok_or(".noptrdata is not in the file")?;
    let found: Vec<u64> = bytes
        .chunks_exact(8)
        .enumerate()
        .filter(|(_, w)| u64::from_le_bytes((*w).try_into().unwrap_or([0; 8])) == pclntab)
        .filter_map(|(i, _)| (start.saturating_add((i as u64).saturating_mul(8))).checked_sub(ml.pc_header))
        .filter(|&md| valid(md))
        .collect();
    match found.as_slice() {
        [md] => Ok(Addr(*md)),
        [] => Err("no word of .noptrdata is a module data pointing at .gopclntab and its text".into()),
        many => Err(format!("{} candidates for the module data in .noptrdata", many.len())),
    }
}

/// An `m` a thread runs, and the goroutines it names.
#[derive(Copy, Clone, Debug)]
struct ThreadM {
    m: Addr,
    curg: Addr,
}

/// Every thread's `m`, from its `g` register or TLS slot, validated.
fn thread_ms(p: &Process) -> Vec<ThreadM> {
    let mem = p.mem();
    let (gl, ml) = (&p.layout.g, &p.layout.m);
    let mut out: Vec<ThreadM> = Vec::new();
    for t in &p.core.threads {
        let tls = t.regs.tls_g.and_then(|a| mem.read_ptr(Addr(a)).ok());
        for g in [Some(Addr(t.regs.g)), tls].into_iter().flatten().filter(|g| !g.is_null()) {
            let Ok(m) = mem.read_ptr(g.add(gl.m)) else { continue };
            if m.is_null() || out.iter().any(|o| o.m == m) {
                continue;
            }
            let rd = |o: u64| mem.read_ptr(m.add(o)).unwrap_or(Addr::NULL);
            let names_it = rd(ml.g0) == g || rd(ml.curg) == g || ml.gsignal.is_some_and(|o| rd(o) == g);
            let on_thread = mem.read_u64(m.add(ml.procid)).is_ok_and(|id| id == u64::from(t.lwp));
            if names_it && on_thread {
                out.push(ThreadM { m, curg: rd(ml.curg) });
                break;
            }
        }
    }
    out
}

/// The 8-aligned words of the writable data the program starts with zeroed
/// (`.bss`, `.noptrbss`) or initialized (`.data`, `.noptrdata`), as (actual
/// address, value), read from the core.
fn data_words(p: &Process, sections: &[&str]) -> Vec<(Addr, u64)> {
    let mut out = Vec::new();
    for name in sections {
        let Some(s) = p.exe.sections.get(*name) else { continue };
        let start = Addr(s.addr).add(p.bias);
        let Ok(bytes) = p.mem().read_vec(start, s.size, 1 << 28) else { continue };
        out.extend(bytes.chunks_exact(8).enumerate().map(|(i, w)| {
            (start.add((i as u64).saturating_mul(8)), u64::from_le_bytes(w.try_into().unwrap_or([0; 8])))
        }));
    }
    out
}

/// The `m`s on the `alllink` chain from `head` (at most [`MAX_MS`], a cycle ends it).
fn alllink_chain(p: &Process, head: Addr) -> Option<Vec<Addr>> {
    let link = p.layout.m.alllink?;
    let mem = p.mem();
    let mut v = Vec::new();
    let mut at = head;
    while !at.is_null() && v.len() < MAX_MS && !v.contains(&at) {
        v.push(at);
        at = mem.read_ptr(at.add(link)).unwrap_or(Addr::NULL);
    }
    Some(v)
}

/// Where `runtime.allm` is: the word whose chain passes every thread's `m`.
fn find_allm(p: &Process, words: &[(Addr, u64)], ms: &[ThreadM]) -> Option<Addr> {
    let mem = p.mem();
    // Any m's g0 names it back (the head may be an m no thread runs: cgo's spare extra M).
    let is_m = |m: Addr| {
        mem.read_ptr(m.add(p.layout.m.g0)).and_then(|g0| mem.read_ptr(g0.add(p.layout.g.m))).is_ok_and(|b| b == m)
    };
    let mut best: Option<(Addr, usize)> = None;
    for &(at, w) in words {
        if w == 0 || w % 8 != 0 || !(ms.iter().any(|m| m.m.0 == w) || is_m(Addr(w))) {
            continue;
        }
        let c = alllink_chain(p, Addr(w))?;
        if ms.iter().all(|m| c.contains(&m.m)) && best.is_none_or(|(_, n)| c.len() > n) {
            best = Some((at, c.len()));
        }
    }
    best.map(|(at, _)| at)
}

/// Where `runtime.allgs` is: a slice header whose array holds every
/// thread's current goroutine, its elements valid goroutines, the first the
/// main goroutine; with the goroutines it holds.
fn find_allgs(
    p: &Process,
    words: &[(Addr, u64)],
    ms: &[ThreadM],
    valid: &dyn Fn(Addr) -> bool,
) -> Option<(Addr, Vec<Addr>)> {
    let mem = p.mem();
    let curgs: Vec<Addr> = ms.iter().map(|m| m.curg).filter(|g| !g.is_null()).collect();
    for win in words.windows(3) {
        let [(at, ptr), (_, len), (_, cap)] = win else { continue };
        if *ptr == 0 || *ptr % 8 != 0 || *len == 0 || len > cap || *cap > MAX_ALLGS {
            continue;
        }
        let first = mem.read_ptr(Addr(*ptr)).unwrap_or(Addr::NULL);
        if first.is_null() || mem.read_i64(first.add(p.layout.g.goid)).ok() != Some(1) || !valid(first) {
            continue;
        }
        let Ok(bytes) = mem.read_vec(Addr(*ptr), len.saturating_mul(8), MAX_ALLGS.saturating_mul(8)) else { continue };
        let gs: Vec<Addr> =
            bytes.chunks_exact(8).map(|w| Addr(u64::from_le_bytes(w.try_into().unwrap_or([0; 8])))).collect();
        if curgs.iter().all(|g| gs.contains(g)) && gs.iter().take(CHECKED_GS as usize).all(|&g| valid(g)) {
            return Some((*at, gs));
        }
    }
    None
}

/// Where `runtime.mheap_` is: the `.bss` place whose `arenas` index leads
/// to in-use spans covering every one of `objects` (heap-allocated `g`s).
fn find_mheap(p: &Process, words: &[(Addr, u64)], objects: &[Addr]) -> Option<Addr> {
    if objects.is_empty() {
        return None;
    }
    let minor = p.go_major_minor().1;
    let arenas = HeapLayout::builtin(minor, p.arch, Addr::NULL)?.arenas;
    for &(at, w) in words {
        if w == 0 || w % 8 != 0 {
            continue;
        }
        let Some(base) = at.0.checked_sub(arenas) else { continue };
        let Some(hl) = HeapLayout::builtin(minor, p.arch, Addr(base)) else { continue };
        if objects.iter().all(|&o| hl.covers(p, o)) {
            return Some(Addr(base));
        }
    }
    None
}

/// Where `runtime.sched` is: the place whose `goidgen`, `mnext`,
/// `maxmcount` and `lastpoll` agree with the goroutines and `m`s found
/// (`max_goid`: the largest id in `allgs`; `max_mid`: the largest `m.id`).
fn find_sched(p: &Process, words: &[(Addr, u64)], max_goid: u64, max_mid: u64) -> Option<Addr> {
    let l = &p.layout;
    let (Some(goidgen), Some(lastpoll), Some(mnext), Some(maxm)) =
        (l.sched_goidgen, l.sched_lastpoll, l.sched_mnext, l.sched_maxmcount)
    else {
        return None;
    };
    // The field at `off` in the schedt whose goidgen is words[i], when the section runs that far.
    let at = |i: usize, off: u64| -> Option<u64> {
        let off = off.checked_sub(goidgen)?;
        let j = i.checked_add(usize::try_from(off / 8).ok()?)?;
        let &(a, w) = words.get(j)?;
        let (base, _) = *words.get(i)?;
        (a == base.add(off & !7)).then_some(if off % 8 == 0 { w } else { w >> 32 })
    };
    // The first place that agrees and how many do; the same for those whose
    // maxmcount is the default (small programs' .bss holds many small words).
    let (mut any, mut default): ((Option<Addr>, u32), (Option<Addr>, u32)) = ((None, 0), (None, 0));
    for (i, &(a, w)) in words.iter().enumerate() {
        if a.0.checked_sub(goidgen).is_none() || w.checked_sub(max_goid).is_none_or(|d| d > GOID_SLACK) {
            continue;
        }
        let (Some(next), Some(maxmc), Some(poll)) = (at(i, mnext), at(i, maxm), at(i, lastpoll)) else { continue };
        let maxmc = maxmc & 0xffff_ffff;
        if next > max_mid && next <= 1 << 24 && maxmc > 0 && maxmc < 1 << 31 && (poll as i64) >= 0 {
            let base = Addr(a.0.wrapping_sub(goidgen));
            any = (any.0.or(Some(base)), any.1.saturating_add(1));
            if maxmc == DEFAULT_MAXMCOUNT {
                default = (default.0.or(Some(base)), default.1.saturating_add(1));
            }
        }
    }
    match (any, default) {
        (_, (Some(a), 1)) | ((Some(a), 1), (None, _)) => Some(a),
        _ => None,
    }
}

/// The largest goroutine id among `gs` (`allgs`' elements), and the largest
/// `m.id` on `allm`'s chain (its head read from `allm`).
fn largest_ids(p: &Process, gs: &[Addr], allm: Addr) -> Option<(u64, u64)> {
    let mem = p.mem();
    let max_goid = gs.iter().filter_map(|g| mem.read_u64(g.add(p.layout.g.goid)).ok()).max()?;
    let ms = alllink_chain(p, mem.read_ptr(allm).ok()?)?;
    let max_mid = ms.iter().filter_map(|m| mem.read_u64(m.add(p.layout.m.id)).ok()).max()?;
    Some((max_goid, max_mid))
}

/// The globals a stripped executable's symbols would have given, found in
/// the core and validated, with a warning naming how (and what was not found).
pub fn discover(p: &Process, valid: &dyn Fn(Addr) -> bool) -> (Vec<(&'static str, Addr)>, Vec<Warning>) {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    let ms = thread_ms(p);
    let bss = data_words(p, &[".bss", ".noptrbss"]);
    match find_allm(p, &bss, &ms) {
        Some(a) => found.push(("runtime.allm", a)),
        None => missing.push("runtime.allm"),
    }
    let allgs = find_allgs(p, &bss, &ms, valid);
    match &allgs {
        Some((a, _)) => found.push(("runtime.allgs", *a)),
        None => missing.push("runtime.allgs"),
    }
    // Goroutines are heap objects: the first few anchor the heap's index.
    let gs: &[Addr] = allgs.as_ref().map_or(&[], |(_, gs)| gs);
    match find_mheap(p, &bss, gs.get(..4).unwrap_or(gs)) {
        Some(a) => found.push(("runtime.mheap_", a)),
        None => missing.push("runtime.mheap_"),
    }
    let allm = found.iter().find(|(n, _)| *n == "runtime.allm").map(|&(_, a)| a);
    let sched = allm.and_then(|m| largest_ids(p, gs, m)).and_then(|(goid, mid)| find_sched(p, &bss, goid, mid));
    match sched {
        Some(a) => found.push(("runtime.sched", a)),
        None => missing.push("runtime.sched"),
    }
    let mut text = format!(
        "the executable has no symbol table (stripped): {} of its threads lead to the runtime's m; found by what they hold: {}",
        ms.len(),
        if found.is_empty() { "nothing".to_string() } else { found.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ") }
    );
    if !missing.is_empty() {
        text.push_str(&format!("; not found: {}", missing.join(", ")));
    }
    (found, vec![Warning::new(WarningKind::MissingRuntimeData, text)])
}

/// Largest generation number a running tracer is believed to be at (one
/// generation a second for a century is ~2^32).
const MAX_TRACE_GEN: u64 = 1 << 32;

/// Where `runtime.trace` is, when a tracer was running: the one place of
/// `.bss`/`.noptrbss` where `trace.gen` is a generation (1 to 2^32),
/// `trace.enabled` is set, and `trace.markWorkerLabels` of that
/// generation's parity holds consecutive nonzero string ids no larger than
/// the ids its string table has handed out (the runtime registers those
/// labels first, `traceRegisterLabelsAndReasons`). Several such places:
/// none.
pub fn find_trace(p: &Process, l: &TraceLayout) -> Option<Addr> {
    let mem = p.mem();
    let (labels, label_stride) = l.mark_worker_labels;
    let (strings, string_stride) = l.string_tab;
    let count = (label_stride / 8).min(64);
    let mut found = None;
    for (at, w) in data_words(p, &[".bss", ".noptrbss"]) {
        if w == 0 || w > MAX_TRACE_GEN {
            continue;
        }
        let Some(base) = at.0.checked_sub(l.gen).map(Addr) else { continue };
        if l.enabled.is_some_and(|e| mem.read_u8(base.add(e)).ok() != Some(1)) {
            continue;
        }
        let parity = w % 2;
        let ids = base.add(labels.saturating_add(parity.saturating_mul(label_stride)));
        let Ok(ids) = (0..count).map(|i| mem.read_u64(ids.add(i.saturating_mul(8)))).collect::<Result<Vec<_>, _>>()
        else {
            continue;
        };
        let seq =
            mem.read_u64(base.add(strings.saturating_add(parity.saturating_mul(string_stride))).add(l.string_seq));
        let consecutive = ids.windows(2).all(|w| matches!(w, [a, b] if a.checked_add(1) == Some(*b)));
        let handed_out = seq.is_ok_and(|seq| ids.last().is_some_and(|&last| last <= seq));
        if count > 0 && ids.first().is_some_and(|&a| a > 0) && consecutive && handed_out {
            if found.is_some() {
                return None;
            }
            found = Some(base);
        }
    }
    found
}

/// Where `runtime/trace.tracing` is, when a flight recorder was running:
/// the one place of `.bss`/`.noptrbss` whose `flightRecorder` leads to a
/// `recorder` whose `FlightRecorder` holds a trace header ("go 1.…").
/// Several such places: none.
pub fn find_tracing(p: &Process, l: &FlightLayout) -> Option<Addr> {
    let mem = p.mem();
    let mut found = None;
    for (at, w) in data_words(p, &[".bss", ".noptrbss"]) {
        if w == 0 || w % 8 != 0 {
            continue;
        }
        let Some(base) = at.0.checked_sub(l.flight_recorder).map(Addr) else { continue };
        let Ok(fr) = mem.read_ptr(Addr(w).add(l.recorder_r)) else { continue };
        if fr.is_null() || fr.0 % 8 != 0 {
            continue;
        }
        let header: Result<[u8; 16], _> = mem.read_array(fr.add(l.header));
        if header.is_ok_and(|h| h.starts_with(b"go 1.")) {
            if found.is_some() {
                return None;
            }
            found = Some(base);
        }
    }
    found
}
