//! Map findings: both sides of concurrent-map crashes, and stale iterators.
//!
//! The runtime names only the goroutine that hit the check. Every other
//! goroutine inside a map write (`mapassign*`, `mapdelete*`, map clear, and
//! their Swiss counterparts) is examined: which map it is working on is read
//! from its map functions' map argument — where the parameter's DWARF location
//! list says it is at the frame's pc (a stack slot; a register, when
//! `runtime.asyncPreempt` saved the registers), else its argument spill slot —
//! trying each map function on the stack, innermost first, then the callers'
//! map-typed variables that DWARF locates on the stack after the call;
//! validated against the map headers. Where that fails it is still listed, as
//! a `possible-writer`, with the reason.

use super::{Finding, FindingKind, GoroutineRole, Role, Severity};
use crate::addr::Addr;
use crate::exe::dwarf::ParamLocation;
use crate::memory::ReadExt;
use crate::runtime::crash::Crash;
use crate::runtime::goroutines::{Goroutine, Goroutines};
use crate::runtime::maps::iterators::{find_iterators, Liveness, MapIterator};
use crate::runtime::maps::{MapHeader, MapModel, MapTable};
use crate::runtime::process::Process;
use crate::warning::{Warning, WarningKind};
use std::collections::HashMap;

/// What a map function does to its map.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MapOp {
    /// Iterating (`mapiternext`, `(*Iter).Next`, …).
    Iterate,
    /// Writing (assign, delete, clear).
    Write,
    /// Reading (`mapaccess1/2*`).
    Read,
    /// Cloning.
    Clone,
}

/// Where in a map function's arguments the map is.
#[derive(Copy, Clone, Debug)]
enum MapArg {
    /// Argument word N is the map header.
    Header(u64),
    /// Argument word N is an iterator; the header is inside it.
    Iterator(u64),
}

/// Classifies the runtime's map entry points (classic and Swiss names alike).
fn map_function(name: &str) -> Option<(MapOp, MapArg)> {
    use MapArg::*;
    use MapOp::*;
    if !(name.starts_with("runtime.")
        && name.as_bytes().get(8..11).is_some_and(|b| matches!(b, b"map" | b"has" | b"gro" | b"eva"))
        || name.starts_with("internal/runtime/maps."))
    {
        return None;
    }
    Some(match name {
        "runtime.mapiternext" | "runtime.mapIterNext" | "internal/runtime/maps.(*Iter).Next" => (Iterate, Iterator(0)),
        "runtime.mapiterinit" | "runtime.mapIterStart" => (Iterate, Header(1)),
        "internal/runtime/maps.(*Iter).Init" => (Iterate, Header(2)),
        "runtime.mapclear" => (Write, Header(1)),
        "internal/runtime/maps.(*Map).PutSlot"
        | "internal/runtime/maps.(*Map).Delete"
        | "internal/runtime/maps.(*Map).Clear" => (Write, Header(0)),
        "internal/runtime/maps.(*Map).getWithKey" | "internal/runtime/maps.(*Map).getWithoutKey" => (Read, Header(0)),
        "runtime.mapclone2" | "internal/runtime/maps.(*Map).Clone" => (Clone, Header(0)),
        // Inside a write: growing, splitting, evacuating.
        "runtime.hashGrow" | "runtime.growWork" | "runtime.evacuate" => (Write, Header(1)),
        "internal/runtime/maps.(*table).rehash"
        | "internal/runtime/maps.(*table).split"
        | "internal/runtime/maps.(*table).grow" => (Write, Header(2)),
        n if n.starts_with("internal/runtime/maps.(*Map).putSlotSmall")
            || n == "internal/runtime/maps.(*Map).growToSmall"
            || n == "internal/runtime/maps.(*Map).growToTable"
            || n == "internal/runtime/maps.(*Map).deleteSmall" =>
        {
            (Write, Header(0))
        }
        n if n.starts_with("runtime.mapassign") || n.starts_with("runtime.mapdelete") => (Write, Header(1)),
        n if n.starts_with("runtime.mapaccess1") || n.starts_with("runtime.mapaccess2") => (Read, Header(1)),
        _ => return None,
    })
}

/// The map analysis of a core.
#[derive(Debug, Default, serde::Serialize)]
pub struct MapAnalysis {
    /// Maps seen (through iterators or map functions on stacks).
    pub maps: Vec<Box<MapHeader>>,
    /// Every iterator found on a stack.
    pub iterators: Vec<MapIterator>,
    /// Findings.
    pub findings: Vec<Finding>,
    /// Iterator-shaped stack slots that are dead at their frame's pc (not listed).
    pub dead_iterator_slots: usize,
    /// Why the analysis could not run, or what it could not read.
    pub warnings: Vec<Warning>,
}

/// A goroutine inside a map function.
struct MapCall {
    goroutine: u64,
    function: String,
    op: MapOp,
    /// The map, when its argument word gave a readable header.
    map: Option<Addr>,
    reason: String,
}

/// The map functions on a goroutine's stack, innermost first; the first whose
/// argument gives a readable map header names the map. The operation is that
/// of the outermost map function (the runtime entry point).
#[allow(
    clippy::indexing_slicing,
    reason = "frame indices come from enumerating the same goroutine's frames; fi - 1 only when fi > 0"
)]
fn map_call(p: &Process, model: &MapModel, g: &Goroutine, maps: &mut MapTable) -> Option<MapCall> {
    // Most goroutines are in no map function: decide without allocating.
    if !g.frames.iter().any(|f| !f.inlined && map_function(&f.function).is_some()) {
        return None;
    }
    let calls: Vec<(usize, MapOp, MapArg)> = g
        .frames
        .iter()
        .enumerate()
        .filter(|(_, f)| !f.inlined)
        .filter_map(|(i, f)| map_function(&f.function).map(|(op, a)| (i, op, a)))
        .collect();
    let &(outer_i, op, _) = calls.last()?;
    let function = g.frames.get(outer_i)?.function.to_string();
    let mut reasons = Vec::new();
    for &(fi, _, arg) in &calls {
        match map_from_args(p, model, g, fi, arg, maps) {
            Ok((h, source)) => {
                let at = g.frames.get(fi).map(|f| &*f.site.function).unwrap_or_default();
                let reason = format!("map from {at}'s {source}");
                return Some(MapCall { goroutine: g.id, function, op, map: Some(h), reason });
            }
            Err(e) => reasons.push(e),
        }
    }
    match map_from_callers(p, model, g, outer_i, maps) {
        Ok((h, reason)) => Some(MapCall { goroutine: g.id, function, op, map: Some(h), reason }),
        Err(e) => {
            reasons.extend(e);
            Some(MapCall { goroutine: g.id, function, op, map: None, reason: reasons.join("; ") })
        }
    }
}

/// How many frames past the runtime's map function are searched for the map.
const CALLER_FRAMES: usize = 3;

/// The map from the frames that called the runtime's map function (at index
/// `outer`): the nearest physical frame whose map-typed parameters or
/// variables have a stack location at its call site (DWARF location lists)
/// holding exactly one readable map header.
fn map_from_callers(
    p: &Process,
    model: &MapModel,
    g: &Goroutine,
    outer: usize,
    maps: &mut MapTable,
) -> Result<(Addr, String), Vec<String>> {
    let Ok(d) = p.dwarf() else { return map_from_caller_slots(p, model, g, outer, maps) };
    let mem = p.mem();
    let mut why = Vec::new();
    for fr in g.frames.iter().skip(outer.saturating_add(1)).filter(|f| !f.inlined).take(CALLER_FRAMES) {
        // At the return address: a variable that lives on across the call is
        // in its stack slot there already (the slot was written before the call).
        let pc = fr.pc.0.wrapping_sub(p.bias);
        let mut found: Vec<(Addr, String)> = Vec::new();
        for crate::exe::dwarf::MapVar { name, location, .. } in d.map_vars_at(&fr.function, pc) {
            let ParamLocation::Cfa(off) = location else { continue };
            let Ok(h) = mem.read_ptr(fr.fp.offset(off)) else { continue };
            if h.is_null() || found.iter().any(|(a, _)| *a == h) {
                continue;
            }
            let ok = maps.contains_key(&h)
                || match p.read_map(model, h, None) {
                    Ok(hdr) if plausible(&hdr) => {
                        maps.insert(h, Box::new(hdr));
                        true
                    }
                    _ => false,
                };
            if ok {
                found.push((h, name));
            }
        }
        match found.as_slice() {
            [(h, name)] => {
                return Ok((*h, format!("map from {}'s variable {name} (DWARF location after its call)", fr.function)))
            }
            [] => {}
            many => {
                why.push(format!("{} holds {} maps at its call; which one is ambiguous", fr.function, many.len()));
                return Err(why);
            }
        }
    }
    why.push(format!("no caller within {CALLER_FRAMES} frames has a map variable located at its call"));
    Err(why)
}

/// Most argument words of a caller examined without DWARF.
const MAX_ARG_WORDS: u64 = 32;

/// [`map_from_callers`] without DWARF: the nearest caller whose live pointer
/// slots at its call (the locals pointer map at that pc) and incoming
/// argument words (its spill slots) hold exactly one map header that is
/// consistent in itself ([`consistent`]); a map another goroutine's frames
/// already named wins over one seen only here.
fn map_from_caller_slots(
    p: &Process,
    model: &MapModel,
    g: &Goroutine,
    outer: usize,
    maps: &mut MapTable,
) -> Result<(Addr, String), Vec<String>> {
    let mem = p.mem();
    for fr in g.frames.iter().skip(outer.saturating_add(1)).filter(|f| !f.inlined).take(CALLER_FRAMES) {
        let (varp, argp) = crate::runtime::maps::iterators::varp_argp(p, fr);
        let mut slots: Vec<Addr> = Vec::new();
        if let Some((base, nbit, bits)) = crate::runtime::maps::iterators::live_locals(p, fr.entry, fr.pc, varp) {
            for i in 0..u64::from(nbit.min(4096)) {
                if bits.get((i / 8) as usize).is_some_and(|b| b & (1 << (i % 8)) != 0) {
                    slots.push(base.add(i.saturating_mul(8)));
                }
            }
        }
        let args = p.pclntab.find_func(fr.entry).map_or(0, |f| u64::try_from(f.args()).unwrap_or(0));
        slots.extend((0..(args / 8).min(MAX_ARG_WORDS)).map(|i| argp.add(i.saturating_mul(8))));
        let mut known: Vec<Addr> = Vec::new();
        let mut seen: Vec<Addr> = Vec::new();
        for slot in slots {
            let Ok(h) = mem.read_ptr(slot) else { continue };
            if h.is_null() || seen.contains(&h) || known.contains(&h) {
                continue;
            }
            if maps.contains_key(&h) {
                known.push(h);
                continue;
            }
            match p.read_map(model, h, None) {
                Ok(hdr) if plausible(&hdr) && consistent(&hdr) => {
                    maps.insert(h, Box::new(hdr));
                    seen.push(h);
                }
                _ => {}
            }
        }
        let how = |h: Addr| {
            Ok((
                h,
                format!(
                    "map from a live pointer of {}'s frame at its call (no DWARF: found by its shape)",
                    fr.function
                ),
            ))
        };
        match (known.as_slice(), seen.as_slice()) {
            ([h], _) | ([], [h]) => return how(*h),
            ([], []) => {}
            _ => {
                return Err(vec![format!(
                    "{}'s frame holds {} maps at its call; which one is ambiguous",
                    fr.function,
                    known.len().saturating_add(seen.len())
                )])
            }
        }
    }
    Err(vec![format!("no caller within {CALLER_FRAMES} frames holds a map header in a live pointer slot (no DWARF)")])
}

/// A header whose fields agree with each other as the runtime keeps them,
/// for words found by their shape only: a classic map with entries has
/// buckets and at most about `loadFactor` (6.5) entries per bucket; a Swiss
/// map's directory is `1 << globalDepth` tables long, and a small map (no
/// directory) holds at most one group of 8 slots.
fn consistent(h: &MapHeader) -> bool {
    match (h.b, h.dir_len) {
        (Some(b), _) => {
            let buckets = 1u64 << b.min(40);
            (h.len == 0 || h.buckets.is_some_and(|a| !a.is_null()))
                && h.len <= buckets.saturating_mul(7).saturating_add(8)
        }
        (None, Some(0)) => h.len <= 8 && (h.len == 0 || h.dir_ptr.is_some_and(|a| !a.is_null())),
        (None, Some(n)) => {
            h.global_depth.is_some_and(|d| d < 40 && n == 1i64 << d) && h.dir_ptr.is_some_and(|a| !a.is_null())
        }
        (None, None) => false,
    }
}

/// The value of argument `i` of frame `fi`, and where it was read: from the
/// parameter's DWARF location at the frame's pc (a stack slot, or a register
/// `runtime.asyncPreempt` saved), else from its argument spill slot.
#[allow(
    clippy::indexing_slicing,
    reason = "frame indices come from enumerating the same goroutine's frames; fi - 1 only when fi > 0"
)]
fn arg_word(p: &Process, g: &Goroutine, fi: usize, i: u64) -> Result<(Option<Addr>, String), String> {
    let mem = p.mem();
    let Some(fr) = g.frames.get(fi) else { return Err(format!("goroutine {} has no frame {fi}", g.id)) };
    let prev = fi.checked_sub(1).and_then(|i| g.frames.get(i));
    let argp = p.arch.argp(fr.fp);
    let spill = || {
        Ok((
            mem.read_ptr(argp.add(i.saturating_mul(8))).ok(),
            "argument spill slot (written at entry; may be stale)".into(),
        ))
    };
    let Ok(d) = p.dwarf() else { return spill() };
    let preempted = prev.is_some_and(|f| &*f.function == "runtime.asyncPreempt");
    // Return addresses are looked up at the call instruction.
    let pc = if fi == 0 || preempted { fr.pc } else { fr.pc.offset(-1) };
    let link_pc = pc.0.wrapping_sub(p.bias);
    match d.param_location(&fr.function, i as usize, link_pc) {
        Some(ParamLocation::Cfa(off)) => Ok((
            mem.read_ptr(fr.fp.offset(off)).ok(),
            format!("argument {i} at CFA{off:+} (DWARF location at this pc)"),
        )),
        Some(ParamLocation::Register(r)) => {
            let name = p.arch.dwarf_register_name(r).unwrap_or("?");
            match p.arch.async_preempt_slot(r).zip(prev).filter(|_| preempted) {
                Some((off, prev)) => Ok((
                    mem.read_ptr(prev.sp.add(off)).ok(),
                    format!("argument {i} in {name} (DWARF location at this pc), saved by runtime.asyncPreempt"),
                )),
                None => Err(format!(
                    "{}'s argument {i} is in register {name} at this pc and its registers were not saved",
                    fr.function
                )),
            }
        }
        None => spill(),
    }
}

#[allow(
    clippy::indexing_slicing,
    reason = "frame indices come from enumerating the same goroutine's frames; fi - 1 only when fi > 0"
)]
fn map_from_args(
    p: &Process,
    model: &MapModel,
    g: &Goroutine,
    fi: usize,
    arg: MapArg,
    maps: &mut MapTable,
) -> Result<(Addr, String), String> {
    let mem = p.mem();
    let Some(fr) = g.frames.get(fi) else { return Err(format!("goroutine {} has no frame {fi}", g.id)) };
    let argp = p.arch.argp(fr.fp);
    let word = |i: u64| mem.read_ptr(argp.add(i.saturating_mul(8))).ok();
    let (it_map_off, it_t_off) = match &model.layout {
        crate::runtime::maps::MapLayout::Classic(l) => (l.it_h, l.it_t),
        crate::runtime::maps::MapLayout::Swiss(l) => (l.it_m, l.it_typ),
    };
    let (candidate, typ, source) = match arg {
        MapArg::Header(i) => {
            let (h, source) = arg_word(p, g, fi, i)?;
            (h, (0..3).filter(|&j| j != i).filter_map(word).find(|t| model.is_map_type(mem, *t)), source)
        }
        MapArg::Iterator(i) => {
            let (it, source) = arg_word(p, g, fi, i)?;
            (
                it.and_then(|it| mem.read_ptr(it.add(it_map_off)).ok()),
                it.and_then(|it| mem.read_ptr(it.add(it_t_off)).ok()),
                format!("iterator ({source})"),
            )
        }
    };
    let typ = typ.filter(|t| model.is_map_type(mem, *t));
    let h = match candidate {
        Some(h) if !h.is_null() => h,
        _ => return Err(format!("{}'s map argument is nil or unreadable ({source})", fr.function)),
    };
    // Read it, or read it again when this frame knows its type and the first reader did not.
    let known = maps.get(&h).is_some_and(|hdr| hdr.type_name.is_some() || typ.is_none());
    if !known {
        match p.read_map(model, h, typ) {
            Ok(hdr) if plausible(&hdr) => {
                maps.insert(h, Box::new(hdr));
            }
            _ if maps.contains_key(&h) => {}
            _ => return Err(format!("{}'s {source} holds {h}, which is not a readable map header", fr.function)),
        }
    }
    Ok((h, source))
}

/// A header whose fields make sense (guards against stale spill slots).
fn plausible(h: &MapHeader) -> bool {
    h.len < (1 << 40)
        && h.b.is_none_or(|b| b < 64)
        && h.global_depth.is_none_or(|d| d < 64)
        && h.dir_len.is_none_or(|d| (0..1 << 40).contains(&d))
}

fn kind_of_crash(msg: &str) -> Option<(FindingKind, MapOp)> {
    Some(match msg {
        "concurrent map iteration and map write" => (FindingKind::ConcurrentMapIterationAndWrite, MapOp::Iterate),
        "concurrent map writes" => (FindingKind::ConcurrentMapWrites, MapOp::Write),
        "concurrent map read and map write" => (FindingKind::ConcurrentMapReadAndWrite, MapOp::Read),
        "concurrent map clone and map write" => (FindingKind::ConcurrentMapCloneAndWrite, MapOp::Clone),
        _ => return None,
    })
}

fn role_name(op: MapOp) -> Role {
    match op {
        MapOp::Iterate => Role::Iterator,
        MapOp::Write => Role::Writer,
        MapOp::Read => Role::Reader,
        MapOp::Clone => Role::Cloner,
    }
}

fn describe(h: Option<&MapHeader>, addr: Option<Addr>) -> String {
    match (h, addr) {
        (Some(h), Some(a)) => format!("{} at {a} ({} entries)", h.type_name.as_deref().unwrap_or("map"), h.len),
        (None, Some(a)) => format!("the map at {a}"),
        _ => "a map whose address its registers did not keep".into(),
    }
}

/// The map model of a process, or why maps cannot be analyzed.
pub fn model(p: &Process) -> Result<MapModel, String> {
    MapModel::of(p)
}

/// Runs the map analysis, scanning the stacks for iterators now (see
/// [`analyze_with`] to use a scan made while the goroutines were read).
pub fn analyze(p: &Process, all: &Goroutines, crash: &Crash) -> MapAnalysis {
    match model(p) {
        Ok(m) => analyze_with(p, all, crash, &m, None),
        Err(e) => MapAnalysis {
            warnings: vec![Warning::new(WarningKind::Maps, format!("maps not analyzed: {e}"))],
            ..Default::default()
        },
    }
}

/// Runs the map analysis with the process's map model, and the iterators an
/// [`IteratorVisitor`](crate::runtime::maps::iterators::IteratorVisitor) found
/// while the goroutines were read (else the stacks are scanned now).
pub fn analyze_with(
    p: &Process,
    all: &Goroutines,
    crash: &Crash,
    model: &MapModel,
    scan: Option<crate::runtime::maps::iterators::IteratorScan>,
) -> MapAnalysis {
    let mut out = MapAnalysis::default();
    let gs = &all.list[..];
    let mut maps: MapTable = HashMap::new();
    let (iterators, dead) = match scan {
        Some(scan) => {
            maps = scan.maps;
            (scan.iterators, scan.dead)
        }
        None => find_iterators(p, model, gs, &mut maps),
    };
    out.dead_iterator_slots = dead;
    let mut iterators = iterators;
    iterators.extend(crate::runtime::maps::iterators::reflect_iterators(p, model, &mut maps));
    let in_frames = crate::runtime::maps::iterators::reflect_iterators_in_frames(p, model, gs, &mut maps);
    let known: std::collections::HashSet<Addr> = iterators.iter().map(|i| i.address).collect();
    iterators.extend(in_frames.into_iter().filter(|f| !known.contains(&f.address)));
    let calls: Vec<MapCall> = {
        use rayon::prelude::*;
        let parts: Vec<(Vec<MapCall>, MapTable)> = gs
            .par_chunks(4096)
            .map(|chunk| {
                let mut local = HashMap::new();
                let calls = chunk.iter().filter_map(|g| map_call(p, model, g, &mut local)).collect();
                (calls, local)
            })
            .collect();
        let mut all = Vec::new();
        for (c, m) in parts {
            all.extend(c);
            for (k, v) in m {
                // Keep the reading that knows the map's type.
                match maps.entry(k) {
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(v);
                    }
                    std::collections::hash_map::Entry::Occupied(mut e) => {
                        if e.get().type_name.is_none() && v.type_name.is_some() {
                            e.insert(v);
                        }
                    }
                }
            }
        }
        all
    };
    let mut findings = Vec::new();

    // The crash, both sides.
    if let (Some(msg), Some(gid)) = (crash.message.as_deref(), crash.goroutine) {
        if let Some((kind, crash_op)) = kind_of_crash(msg) {
            let mine = calls.iter().find(|c| c.goroutine == gid);
            // For iteration crashes the iterator on the stack names the map reliably.
            let from_iter =
                iterators.iter().filter(|i| i.goroutine == gid && i.liveness != Liveness::Dead).map(|i| i.map).next();
            let mut map = mine.and_then(|c| c.map).or(from_iter);
            let mut evidence = Vec::new();
            if map.is_none() {
                // The crashing side's registers were not spilled; if every other
                // writer works on one map, that is the candidate.
                let written: Vec<Addr> =
                    calls.iter().filter(|c| c.goroutine != gid && c.op == MapOp::Write).filter_map(|c| c.map).collect();
                if let Some(&first) = written.first() {
                    if written.iter().all(|&m| m == first) {
                        map = Some(first);
                        evidence.push(format!(
                            "goroutine {gid}'s map could not be read from its frames ({}); the only map other goroutines are writing is {first}",
                            mine.map(|c| c.reason.as_str()).unwrap_or("no map function on its stack")
                        ));
                    }
                }
            }
            let crash_map_proven = mine.and_then(|c| c.map).or(from_iter).is_some();
            let mut roles = vec![GoroutineRole::new(
                gid,
                role_name(crash_op),
                mine.map(|c| c.function.clone()),
                Some(format!("hit the runtime's check: fatal error: {msg}")),
            )];
            if let Some(m) = map {
                if let Some(h) = maps.get(&m) {
                    evidence.push(format!(
                        "map {} is {}; write flag {}",
                        m,
                        h.type_name.as_deref().unwrap_or("of unknown type"),
                        if h.writing {
                            "set: a write was in progress when the core was written"
                        } else {
                            "clear (the writer may have finished its write after the check fired)"
                        }
                    ));
                }
            }
            // Reasons in plain words; how the map was read stays in the evidence.
            for c in calls.iter().filter(|c| c.goroutine != gid && c.op == MapOp::Write) {
                match (c.map, map) {
                    (Some(a), Some(b)) if a == b && crash_map_proven => {
                        roles.push(GoroutineRole::new(
                            c.goroutine,
                            Role::Writer,
                            Some(c.function.clone()),
                            Some("inside a write to the same map".into()),
                        ));
                        evidence.push(format!("goroutine {}: {}", c.goroutine, c.reason));
                    }
                    (Some(a), Some(b)) if a != b => {}
                    _ => {
                        roles.push(GoroutineRole::new(
                            c.goroutine,
                            Role::PossibleWriter,
                            Some(c.function.clone()),
                            Some("inside a map write, but which map it writes could not be confirmed".into()),
                        ));
                        evidence.push(format!("goroutine {}: {}", c.goroutine, c.reason));
                    }
                }
            }
            let writers: Vec<String> =
                roles.iter().skip(1).filter(|r| r.role == Role::Writer).map(|r| r.id.to_string()).collect();
            let what = describe(map.and_then(|m| maps.get(&m).map(|b| &**b)), map);
            let possible: Vec<String> =
                roles.iter().filter(|r| r.role == Role::PossibleWriter).map(|r| r.id.to_string()).collect();
            let summary = match (crash_op, writers.is_empty()) {
                (op, true) if !possible.is_empty() => format!(
                    "goroutine {gid} ({}) found {what} being written; goroutine {} {} inside a map write and probably the other side",
                    role_name(op),
                    possible.join(", "),
                    if possible.len() == 1 { "is" } else { "are" }
                ),
                (MapOp::Write, true) => format!("goroutine {gid} detected a concurrent write to {what}; no other writer is on a stack now"),
                (_, true) => format!("goroutine {gid} ({}) found {what} being written; no writer is on a stack now (it finished before the core was written)", role_name(crash_op)),
                (MapOp::Write, false) => {
                    let mut all = vec![gid.to_string()];
                    all.extend(writers.iter().cloned());
                    let last = all.pop().unwrap_or_default();
                    format!("goroutines {} and {last} wrote {what} at the same time", all.join(", "))
                }
                (op, false) => format!("goroutine {gid} ({}) raced with goroutine {} writing {what}", role_name(op), writers.join(", ")),
            };
            findings.push(Finding {
                map_names: Vec::new(),
                id: String::new(),
                kind,
                severity: Severity::Critical,
                summary,
                map,
                goroutines: roles,
                evidence,
            });
        }
    }

    // Stale iterators.
    for it in iterators.iter().filter(|i| i.state.is_stale() && i.liveness != Liveness::Dead) {
        let h = maps.get(&it.map).map(|b| &**b);
        let writing = h.is_some_and(|h| h.writing);
        let others: Vec<&MapCall> = calls
            .iter()
            .filter(|c| c.goroutine != it.goroutine && c.op == MapOp::Write && c.map == Some(it.map))
            .collect();
        let severity = if writing {
            Severity::Critical
        } else if !others.is_empty() {
            Severity::Warning
        } else {
            Severity::Info
        };
        let mut roles = vec![GoroutineRole::new(it.goroutine, Role::Iterator, Some(it.function.clone()), None)];
        roles.extend(others.iter().map(|c| {
            GoroutineRole::new(
                c.goroutine,
                Role::Writer,
                Some(c.function.clone()),
                Some("inside a write to the map it iterates".into()),
            )
        }));
        let mut evidence = it.evidence.clone();
        evidence.extend(others.iter().map(|c| format!("goroutine {}: {}", c.goroutine, c.reason)));
        evidence.push(format!("iterator at {} is {:?} at the frame's pc", it.address, it.liveness));
        let state = it.state.as_str();
        findings.push(Finding {
            map_names: Vec::new(),
            id: String::new(),
            kind: FindingKind::StaleIterator,
            severity,
            summary: format!(
                "{} is iterating {} in {} but the map changed under it ({state}){}",
                match &it.held_by {
                    Some(by) => format!("a {by}"),
                    None => format!("goroutine {}", it.goroutine),
                },
                describe(h, Some(it.map)),
                if it.function.is_empty() { "the heap" } else { it.function.as_str() },
                match severity {
                    Severity::Critical => "; a write is in progress",
                    Severity::Warning => "; another goroutine is writing it",
                    Severity::Info => "; legal if the same goroutine inserted during the range",
                }
            ),
            map: Some(it.map),
            goroutines: roles,
            evidence,
        });
    }
    // Iterators pointing into freed memory.
    match crate::runtime::heap::HeapLayout::new(p) {
        Ok(heap) => {
            for (n, it) in iterators.iter().filter(|i| i.liveness != Liveness::Dead).enumerate() {
                // Each lookup reads a span and its bitmaps: a quarter of a
                // million iterators would keep 50 MB of the core resident.
                if n % 65536 == 65535 {
                    p.release_core_pages();
                }
                for (what, a) in &it.storage {
                    let info = heap.inspect(p, *a);
                    if info.region != "heap" || info.allocated != Some(false) {
                        continue;
                    }
                    let swept = info.span.as_ref().is_some_and(|s| s.swept);
                    let severity =
                        if it.liveness == Liveness::Live && swept { Severity::Critical } else { Severity::Warning };
                    findings.push(Finding {
                        map_names: Vec::new(),
                        id: String::new(),
                        kind: FindingKind::FreedBucketReference,
                        severity,
                        summary: format!(
                            "goroutine {}'s iterator over the map at {} in {} points ({what}) at {a}, which the heap says is free",
                            it.goroutine, it.map, it.function
                        ),
                        map: Some(it.map),
                        goroutines: vec![GoroutineRole::new(it.goroutine, Role::Iterator, Some(it.function.clone()), None)],
                        evidence: vec![
                            format!("{what} = {a}: {}", info.reason),
                            format!("iterator liveness {:?}; span swept: {swept}", it.liveness),
                        ],
                    });
                }
            }
        }
        Err(e) => out.warnings.push(Warning::new(
            WarningKind::Maps,
            format!("heap model unavailable, freed-bucket references not checked: {e}"),
        )),
    }
    for (i, f) in findings.iter_mut().enumerate() {
        f.id = format!("F{}", i.saturating_add(1));
    }
    let mut list: Vec<Box<MapHeader>> = maps.into_values().collect();
    list.sort_unstable_by_key(|h| h.address);
    for h in list.iter().filter(|h| h.damage.is_some()) {
        out.warnings.push(Warning::new(
            WarningKind::DamagedCore,
            format!(
                "the map header at {} looks damaged ({}): its length and state are not to be trusted",
                h.address,
                h.damage.as_deref().unwrap_or_default()
            ),
        ));
    }
    out.maps = list;
    out.iterators = iterators;
    out.findings = findings;
    out
}

/// Reads the entries of every map in the analysis (at most `limit` each).
/// Only on request: cores hold secrets.
pub fn attach_entries(p: &Process, a: &mut MapAnalysis, limit: usize) {
    if let Ok(model) = model(p) {
        attach_entries_with(p, a, &model, limit);
    }
}

/// [`attach_entries`] with the process's map model.
pub fn attach_entries_with(p: &Process, a: &mut MapAnalysis, model: &MapModel, limit: usize) {
    for h in &mut a.maps {
        match crate::runtime::maps::entries::entries(p, model, h, limit) {
            Ok((e, more)) => {
                if more {
                    h.entries_note = Some(format!("first {limit} of {} entries shown", h.len));
                }
                h.entries = Some(e);
            }
            Err(e) => h.entries_note = Some(format!("entries unreadable: {e}")),
        }
    }
}
