//! Where the goroutines are: `runtime.allgs`, and when a damaged core lost
//! it, its copies `allgptr`/`allglen`, then a scan of the heap's spans of
//! `runtime.g`'s size for objects that validate as goroutines (the runtime
//! never frees a `g`: dead ones are kept for reuse, so every goroutine ever
//! started is in such a span), and when the spans are lost too, the
//! goroutines the scheduler still points at (a part of them).

use super::heap::HeapLayout;
use super::Process;
use crate::addr::Addr;
use crate::memory::{Memory, ReadExt};
use crate::warning::{Warning, WarningKind};

use super::goroutines::MAX_GOROUTINES;
/// Most spans looked at by the heap scan.
const MAX_SPANS: u64 = 1 << 24;

/// How the goroutine list was found.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// `runtime.allgs`.
    Allgs,
    /// `runtime.allgptr` and `runtime.allglen`.
    Allgptr,
    /// The heap's spans of `runtime.g`'s size.
    HeapScan,
    /// The scheduler's lists: each M's current goroutine, the Ps' run
    /// queues, the global run queue and the free lists (parked goroutines
    /// are on none of them).
    SchedulerLists,
}

/// A slice of `*g` (pointer and length), checked.
fn slice_of(mem: &dyn Memory, base: Addr, len: u64, what: &str) -> Result<Vec<Addr>, String> {
    if len > MAX_GOROUTINES {
        return Err(format!("{what} claims {len} goroutines"));
    }
    if len == 0 {
        return Err(format!("{what} lists no goroutine"));
    }
    let b = mem
        .read_vec(base, len.saturating_mul(8), MAX_GOROUTINES.saturating_mul(8))
        .map_err(|e| format!("{what} array unreadable: {e}"))?;
    Ok(b.chunks_exact(8).map(|w| Addr(u64::from_le_bytes(w.try_into().unwrap_or([0; 8])))).collect())
}

/// The goroutines' addresses and how they were found, or why none were.
pub type Found = Result<(Vec<Addr>, Source), String>;

/// The goroutines' addresses, how they were found, and a warning for each
/// source that failed before the one used. `valid` tells a real `g` from
/// other bytes (used on heap-scan candidates).
pub fn find(p: &Process, valid: &dyn Fn(Addr) -> bool) -> (Found, Vec<Warning>) {
    let mem = p.mem();
    let mut warnings = Vec::new();
    let mut why = Vec::new();
    let warn = |w: &mut Vec<Warning>, text: String| w.push(Warning::new(WarningKind::DamagedCore, text));
    match p.global("runtime.allgs") {
        Some(at) => {
            let got = mem
                .read_ptr(at)
                .and_then(|b| Ok((b, mem.read_u64(at.add(8))?)))
                .map_err(|e| format!("runtime.allgs unreadable: {e}"))
                .and_then(|(b, n)| slice_of(mem, b, n, "runtime.allgs"));
            match got {
                Ok(v) if !damaged_entries(&v, valid) => return (Ok((v, Source::Allgs)), warnings),
                Ok(v) => return repaired(p, v, "runtime.allgs", Source::Allgs, valid),
                Err(e) => why.push(e),
            }
        }
        None => why.push("runtime.allgs not found in the executable".into()),
    }
    if let (Some(ptr), Some(len)) = (p.global("runtime.allgptr"), p.global("runtime.allglen")) {
        let got = mem
            .read_ptr(ptr)
            .and_then(|b| Ok((b, mem.read_u64(len)?)))
            .map_err(|e| format!("runtime.allgptr/allglen unreadable: {e}"))
            .and_then(|(b, n)| slice_of(mem, b, n, "runtime.allgptr/allglen"));
        match got {
            Ok(v) if !damaged_entries(&v, valid) => {
                warn(&mut warnings, format!("{}: goroutines from its copy runtime.allgptr/allglen", why.join("; ")));
                return (Ok((v, Source::Allgptr)), warnings);
            }
            Ok(v) => {
                let (found, mut more) = repaired(p, v, "runtime.allgptr/allglen", Source::Allgptr, valid);
                warn(&mut warnings, format!("{}: goroutines from its copy runtime.allgptr/allglen", why.join("; ")));
                warnings.append(&mut more);
                return (found, warnings);
            }
            Err(e) => why.push(e),
        }
    }
    match heap_scan(p, valid) {
        Ok(v) if !v.is_empty() => {
            warn(
                &mut warnings,
                format!(
                    "{}: {} goroutines found by scanning the heap's spans of runtime.g's size for objects that validate as goroutines (allgs order lost: listed by address)",
                    why.join("; "),
                    v.len()
                ),
            );
            return (Ok((v, Source::HeapScan)), warnings);
        }
        Ok(_) => why.push("the heap scan found no goroutine".into()),
        Err(e) => why.push(format!("heap scan: {e}")),
    }
    match scheduler_lists(p, valid) {
        Ok(v) => {
            warn(
                &mut warnings,
                format!(
                    "{}: only the {} goroutines the scheduler points at are listed (each M's current goroutine, the Ps' run queues, the global run queue, the free lists; by id): goroutines parked on channels, locks, timers or I/O are on none of them",
                    why.join("; "),
                    v.len()
                ),
            );
            (Ok((v, Source::SchedulerLists)), warnings)
        }
        Err(e) => {
            why.push(e);
            (Err(why.join("; ")), warnings)
        }
    }
}

/// Most Ps looked at (`GOMAXPROCS` is at most 2^8 … 2^16 in practice).
const MAX_PROCS: u64 = 1 << 16;
/// Slots of a P's run queue (`runtime.p.runq`).
const RUNQ_SLOTS: u64 = 256;

/// Goroutines found once each, in the order found.
struct Collected<'a> {
    valid: &'a dyn Fn(Addr) -> bool,
    seen: rustc_hash::FxHashSet<Addr>,
    out: Vec<Addr>,
}

impl Collected<'_> {
    /// Takes `g` when it is a goroutine not taken before; false when it is not one.
    fn take(&mut self, g: Addr) -> bool {
        if g.is_null() || (self.out.len() as u64) >= MAX_GOROUTINES || !(self.valid)(g) {
            return false;
        }
        if self.seen.insert(g) {
            self.out.push(g);
        }
        true
    }

    /// Takes the goroutines of a list linked through `g.schedlink`, up to
    /// the first that is not one or was seen (a cycle).
    fn follow(&mut self, mem: &dyn Memory, head: Addr, schedlink: u64) {
        let mut g = head;
        for _ in 0..MAX_GOROUTINES {
            if self.seen.contains(&g) || !self.take(g) {
                return;
            }
            match mem.read_ptr(g.add(schedlink)) {
                Ok(next) => g = next,
                Err(_) => return,
            }
        }
    }
}

/// The goroutines the scheduler still points at, from DWARF's layouts:
/// each M's `curg` (`allm`), each P's `runnext`, run queue and free list
/// (`allp`), and `sched`'s run queue and free lists, the lists linked
/// through `g.schedlink` (`runq.head`, `gFree.stack.head`, …; the paths
/// vary by version and are probed).
fn scheduler_lists(p: &Process, valid: &dyn Fn(Addr) -> bool) -> Result<Vec<Addr>, String> {
    let d = p.dwarf().map_err(|e| format!("the scheduler's lists need DWARF: {e}"))?;
    let mem = p.mem();
    let mut c = Collected { valid, seen: Default::default(), out: Vec::new() };
    let mut ignored = Vec::new();
    for m in super::goroutines::read_ms(p, &mut ignored) {
        c.take(m.curg);
    }
    let link = d.field_offset("runtime.g", "schedlink");
    let field = |st: &str, paths: &[&str]| paths.iter().find_map(|f| d.field_offset(st, f));
    let (head, tail, runq, runnext) = (
        field("runtime.p", &["runqhead"]),
        field("runtime.p", &["runqtail"]),
        field("runtime.p", &["runq"]),
        field("runtime.p", &["runnext"]),
    );
    let p_free = field("runtime.p", &["gFree.head", "gFree.gList.head"]);
    if let Some(allp) = p.global("runtime.allp") {
        let base = mem.read_ptr(allp).ok();
        let n = mem.read_u64(allp.add(8)).unwrap_or(0).min(MAX_PROCS);
        for i in 0..n {
            let Some(pp) = base.and_then(|b| mem.read_ptr(b.add(i.saturating_mul(8))).ok()) else { continue };
            if pp.is_null() {
                continue;
            }
            if let Some(off) = runnext {
                if let Ok(g) = mem.read_ptr(pp.add(off)) {
                    c.take(g);
                }
            }
            if let (Some(h), Some(t), Some(q)) = (head, tail, runq) {
                if let (Ok(h), Ok(t)) = (mem.read_u32(pp.add(h)), mem.read_u32(pp.add(t))) {
                    // runq[head % 256 .. tail % 256), at most the queue's size.
                    for j in 0..u64::from(t.wrapping_sub(h)).min(RUNQ_SLOTS) {
                        let slot = u64::from(h).wrapping_add(j) % RUNQ_SLOTS;
                        if let Ok(g) = mem.read_ptr(pp.add(q.saturating_add(slot.saturating_mul(8)))) {
                            c.take(g);
                        }
                    }
                }
            }
            if let (Some(off), Some(link)) = (p_free, link) {
                if let Ok(g) = mem.read_ptr(pp.add(off)) {
                    c.follow(mem, g, link);
                }
            }
        }
    }
    if let (Some(sched), Some(link)) = (p.global("runtime.sched"), link) {
        for path in ["runq.head", "gFree.stack.head", "gFree.noStack.head"] {
            if let Some(g) = d.field_offset("runtime.schedt", path).and_then(|off| mem.read_ptr(sched.add(off)).ok()) {
                c.follow(mem, g, link);
            }
        }
    }
    if c.out.is_empty() {
        return Err("no goroutine on the scheduler's lists either (allm, allp, sched)".into());
    }
    Ok(c.out)
}

/// Entries checked for damage in a goroutine list that has no null entry.
const SAMPLE: usize = 64;

/// True when a goroutine list has entries that are not goroutines: a null
/// one (the runtime only appends `g`s), or one of an even sample that
/// `valid` refuses — so a healthy list of a million costs 64 reads.
fn damaged_entries(v: &[Addr], valid: &dyn Fn(Addr) -> bool) -> bool {
    v.iter().any(|g| g.is_null()) || v.iter().step_by((v.len() / SAMPLE).max(1)).any(|&g| !valid(g))
}

/// A damaged goroutine list: its entries that are goroutines, in its order,
/// then the goroutines a heap scan finds that it lost (by address), and a
/// warning that says how many of each.
fn repaired(
    p: &Process,
    v: Vec<Addr>,
    what: &str,
    source: Source,
    valid: &dyn Fn(Addr) -> bool,
) -> (Found, Vec<Warning>) {
    let total = v.len();
    let mut kept: Vec<Addr> = v.into_iter().filter(|&g| !g.is_null() && valid(g)).collect();
    let lost = total.saturating_sub(kept.len());
    let head = format!("{what}: {lost} of its {total} entries are not goroutines (null, or not a g's status, id and stack): the core's memory there is damaged");
    let text = match heap_scan(p, valid) {
        Ok(found) => {
            let seen: rustc_hash::FxHashSet<Addr> = kept.iter().copied().collect();
            let before = kept.len();
            kept.extend(found.into_iter().filter(|g| !seen.contains(g)));
            format!(
                "{head}; {} more found by scanning the heap's spans of runtime.g's size (listed after the others, by address)",
                kept.len().saturating_sub(before)
            )
        }
        Err(e) => format!("{head}; the heap scan to find the others failed: {e}"),
    };
    (Ok((kept, source)), vec![Warning::new(WarningKind::DamagedCore, text)])
}

/// Every object of an in-use span whose element size fits `runtime.g` that `valid` accepts.
fn heap_scan(p: &Process, valid: &dyn Fn(Addr) -> bool) -> Result<Vec<Addr>, String> {
    let d = p.dwarf()?;
    let hl = HeapLayout::new(p)?;
    let gsize = d.struct_named("runtime.g").and_then(|t| t.size).ok_or("DWARF has no size of runtime.g")?;
    let allspans = d.field_offset("runtime.mheap", "allspans").ok_or("DWARF has no runtime.mheap.allspans")?;
    let mem = p.mem();
    let at = hl.mheap.add(allspans);
    let base = mem.read_ptr(at).map_err(|e| format!("mheap_.allspans unreadable: {e}"))?;
    let n = mem.read_u64(at.add(8)).map_err(|e| format!("mheap_.allspans unreadable: {e}"))?;
    if n > MAX_SPANS {
        return Err(format!("mheap_.allspans claims {n} spans"));
    }
    let spans = mem
        .read_vec(base, n.saturating_mul(8), MAX_SPANS.saturating_mul(8))
        .map_err(|e| format!("mheap_.allspans array: {e}"))?;
    let mut out = Vec::new();
    for w in spans.chunks_exact(8) {
        let s = Addr(u64::from_le_bytes(w.try_into().unwrap_or([0; 8])));
        let (Ok(state), Ok(elem), Ok(start)) = (
            mem.read_u8(s.add(hl.span_state)),
            mem.read_u64(s.add(hl.span_elemsize)),
            mem.read_ptr(s.add(hl.span_start)),
        ) else {
            continue;
        };
        // Size classes round a g up by at most an eighth.
        if state != hl.in_use || elem < gsize || elem > gsize.saturating_add(gsize / 8) {
            continue;
        }
        let nelems = match hl.span_nelems.1 {
            2 => mem.read_u16(s.add(hl.span_nelems.0)).map(u64::from),
            _ => mem.read_u64(s.add(hl.span_nelems.0)),
        };
        let Ok(nelems) = nelems else { continue };
        for i in 0..nelems.min(1 << 16) {
            let g = start.add(i.saturating_mul(elem));
            if valid(g) {
                out.push(g);
                if out.len() as u64 >= MAX_GOROUTINES {
                    return Ok(out);
                }
            }
        }
    }
    Ok(out)
}
