//! Live map iterators on goroutine stacks. Range-loop iterators are never in
//! DWARF locals: they are stack objects of the frame (`FUNCDATA_StackObjects`,
//! records of offset, size, ptrdata — no type). A record whose size and
//! ptrdata match the iterator type is read and validated (its type pointer must
//! lead to a map type descriptor, its map pointer to a readable header).
//! Liveness comes from the locals pointer map at the frame's pc: the compiler
//! tracks address-taken locals such as iterators there too, so the iterator is
//! live exactly when the bits of its pointer words are set.

use super::{MapHeader, MapLayout, MapModel, MapTable};
use crate::addr::Addr;
use crate::exe::pclntab::{funcdata, pcdata};
use crate::memory::{Memory, ReadExt};
use crate::runtime::goroutines::Goroutine;
use crate::runtime::process::Process;
use std::collections::HashMap;

/// Whether the frame still uses the iterator at its pc.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Liveness {
    /// Its pointer words are live in the frame's stack map: the GC keeps what it references.
    Live,
    /// They are not: its bytes are left over from an earlier use.
    Dead,
    /// No stack map at this pc (async preemption point) or none readable.
    Unknown,
}

json_named!(Liveness { Live => "live", Dead => "dead", Unknown => "unknown" });
json_named!(IterState {
    Current => "current",
    StartedMidGrow => "started-mid-grow",
    MapGrewSinceStart => "map-grew-since-start",
    Orphaned => "orphaned",
    Cleared => "cleared",
    TableReplaced => "table-replaced",
    DirectoryGrew => "directory-grew",
    SmallMapGrew => "small-map-grew",
    Finished => "finished",
    Starting => "starting",
    Unknown => "unknown",
});

/// An iterator's view of its map compared with the map now.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IterState {
    /// Nothing changed since the iterator started.
    Current,
    /// Classic: the iteration started while a grow was in progress.
    StartedMidGrow,
    /// Classic: a grow started after the iterator did (`it.buckets == h.oldbuckets`).
    MapGrewSinceStart,
    /// Classic: a grow completed since the iterator started (its buckets are neither `h.buckets` nor `h.oldbuckets`).
    Orphaned,
    /// `clear()` ran since the iterator started (`clearSeq` differs).
    Cleared,
    /// Swiss: the table the iterator is on was grown or split since (`tab.index == -1`).
    TableReplaced,
    /// Swiss: the directory grew since (`globalDepth` differs).
    DirectoryGrew,
    /// Swiss: a small map grew into tables since (`dirIdx == -1`, `dirLen > 0`).
    SmallMapGrew,
    /// The iteration has ended (`key == nil`).
    Finished,
    /// The iteration has not produced its first entry yet: `key == nil` while
    /// the goroutine is still inside `mapiterinit` / `mapIterStart` (which
    /// runs the first `Next`).
    Starting,
    /// A field the state depends on could not be read (`state_reason` says
    /// which): no state is made up from a missing word.
    Unknown,
}

impl IterState {
    /// True when the map changed shape under the iterator.
    pub fn is_stale(self) -> bool {
        !matches!(
            self,
            IterState::Current
                | IterState::StartedMidGrow
                | IterState::Finished
                | IterState::Starting
                | IterState::Unknown
        )
    }
}

/// A map iterator found on a goroutine's stack (or, for `reflect.MapIter`, on
/// the heap: then `goroutine` is 0 and `held_by` says what references it).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct MapIterator {
    /// Goroutine id (0: not on a stack).
    pub goroutine: u64,
    /// For an iterator off the stacks: what holds it (`reflect.MapIter in global main.it`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_by: Option<String>,
    /// Index in the goroutine's `frames` of the frame that holds it.
    pub frame: usize,
    /// That frame's function.
    pub function: String,
    /// Address of the iterator.
    pub address: Addr,
    /// The map it iterates.
    pub map: Addr,
    /// The map's type descriptor.
    pub map_type: Addr,
    /// Whether the frame still uses it.
    pub liveness: Liveness,
    /// Its state against the map.
    pub state: IterState,
    /// Why the state is `unknown`: what could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<String>,
    /// How the state was decided.
    pub evidence: Vec<String>,
    /// The iterator's pointers into the map's storage (classic `buckets`,
    /// `bptr`; Swiss `tab`, `group`), for the heap check.
    pub storage: Vec<(std::borrow::Cow<'static, str>, Addr)>,
}

/// A stack-object record.
#[derive(Copy, Clone, Debug)]
struct StackObject {
    off: i32,
    size: i32,
    ptrdata: i32,
}

const MAX_STACK_OBJECTS: u64 = 4096;

fn stack_objects(p: &Process, entry: Addr) -> Vec<StackObject> {
    let mem = p.mem();
    let Some(f) = p.pclntab.find_func(entry) else { return Vec::new() };
    let Some(at) = f.funcdata(funcdata::STACK_OBJECTS) else { return Vec::new() };
    let Ok(n) = mem.read_u64(at) else { return Vec::new() };
    (0..n.min(MAX_STACK_OBJECTS))
        .filter_map(|i| {
            let r: [u8; 16] = mem.read_array(at.add(i.saturating_mul(16).saturating_add(8))).ok()?;
            Some(StackObject {
                off: i32::from_le_bytes([r[0], r[1], r[2], r[3]]),
                size: i32::from_le_bytes([r[4], r[5], r[6], r[7]]),
                ptrdata: i32::from_le_bytes([r[8], r[9], r[10], r[11]]),
            })
        })
        .collect()
}

/// A frame's varp (locals end there) and argp (arguments start there), as the runtime computes them.
pub fn varp_argp(p: &Process, fr: crate::runtime::stack::FrameRef<'_>) -> (Addr, Addr) {
    (p.arch.varp(fr.sp, fr.fp), p.arch.argp(fr.fp))
}

/// The locals pointer bitmap at `pc`: (first word's address, number of bits, bits).
pub fn live_locals(p: &Process, entry: Addr, pc: Addr, varp: Addr) -> Option<(Addr, u32, Vec<u8>)> {
    let mem = p.mem();
    let f = p.pclntab.find_func(entry)?;
    let mut idx = -1;
    if pc != entry {
        idx = f.pcdata(pcdata::STACK_MAP_INDEX, pc.offset(-1));
    }
    if idx == -1 {
        idx = 0;
    }
    let map = f.funcdata(funcdata::LOCALS_POINTER_MAPS)?;
    let n = mem.read_i32(map).ok()?;
    let nbit = mem.read_i32(map.add(4)).ok()?;
    if idx < 0 || idx >= n || !(0..=1 << 20).contains(&nbit) {
        return None;
    }
    let bytes_per = (nbit as u64).div_ceil(8);
    let bits =
        mem.read_vec(map.add((idx as u64).saturating_mul(bytes_per).saturating_add(8)), bytes_per, 1 << 17).ok()?;
    Some((varp.offset((nbit as i64).saturating_mul(-8)), nbit as u32, bits))
}

/// Goroutines per parallel task.
const CHUNK: usize = 1024;

/// A locals pointer bitmap: first word's offset from varp, number of bits, bits.
type LocalsBitmap = (i64, u32, Vec<u8>);

/// Scans goroutines for iterators, one chunk of goroutines at a time (one
/// scanner per thread), caching per-function and per-pc facts.
/// Iterators found while the goroutines were read (see [`IteratorVisitor`]).
#[derive(Debug, Default)]
pub struct IteratorScan {
    /// Live (or possibly live) iterators.
    pub iterators: Vec<MapIterator>,
    /// Maps they iterate.
    pub maps: MapTable,
    /// Dead iterator slots seen.
    pub dead: usize,
}

impl IteratorScan {
    /// Merges the chunks' scans, in order.
    pub fn merge(parts: Vec<IteratorScan>) -> IteratorScan {
        let mut all = IteratorScan::default();
        // One allocation each, not a rehash per chunk merged.
        all.maps.reserve(parts.iter().map(|s| s.maps.len()).sum());
        all.iterators.reserve(parts.iter().map(|s| s.iterators.len()).sum());
        for s in parts {
            all.iterators.extend(s.iterators);
            all.maps.extend(s.maps);
            all.dead = all.dead.saturating_add(s.dead);
        }
        all
    }
}

/// Finds map iterators on each stack while the goroutine pass reads it
/// (a [`StackVisitor`](crate::runtime::goroutines::StackVisitor)).
pub struct IteratorVisitor<'a> {
    /// The process.
    pub p: &'a Process,
    /// Its map model.
    pub model: &'a MapModel,
}

impl<'a> crate::runtime::goroutines::StackVisitor for IteratorVisitor<'a> {
    type State = (IterScanner<'a>, Vec<MapIterator>);
    type Out = IteratorScan;
    fn start(&self) -> Self::State {
        (IterScanner::new(self.p, self.model), Vec::new())
    }
    fn visit(&self, (sc, its): &mut Self::State, g: &Goroutine) {
        its.extend(sc.scan(g));
    }
    fn finish(&self, (sc, its): Self::State) -> IteratorScan {
        IteratorScan { iterators: its, maps: sc.maps, dead: sc.dead }
    }
}

/// Scans stacks for iterators, with caches shared across one chunk's goroutines.
pub struct IterScanner<'a> {
    p: &'a Process,
    model: &'a MapModel,
    objects_of: rustc_hash::FxHashMap<Addr, std::rc::Rc<[StackObject]>>,
    live_of: rustc_hash::FxHashMap<(Addr, Addr, bool), Option<std::rc::Rc<LocalsBitmap>>>,
    names: super::TypeNames,
    /// Maps read so far.
    pub maps: MapTable,
    /// Iterator-shaped slots dead at their frame's pc (not listed).
    pub dead: usize,
}

impl<'a> IterScanner<'a> {
    /// A scanner with empty caches.
    pub fn new(p: &'a Process, model: &'a MapModel) -> Self {
        IterScanner {
            p,
            model,
            objects_of: Default::default(),
            live_of: Default::default(),
            names: Default::default(),
            maps: HashMap::new(),
            dead: 0,
        }
    }

    /// The live (or possibly live) iterators on one goroutine's stack.
    #[allow(
        clippy::indexing_slicing,
        reason = "frame indices come from enumerating the same goroutine's frames (fi - 1 only when fi > 0); the cache slot is taken modulo its length"
    )]
    pub fn scan(&mut self, g: &Goroutine) -> Vec<MapIterator> {
        let (p, model) = (self.p, self.model);
        let size = model.iter_size();
        let mut out = Vec::new();
        let mut prev = None;
        for (fi, fr) in g.frames.iter().enumerate() {
            let caller_of = prev.replace(fr);
            if fr.inlined {
                continue;
            }
            let objs = self.objects_of.entry(fr.entry).or_insert_with(|| {
                stack_objects(p, fr.entry)
                    .into_iter()
                    .filter(|o| {
                        o.size as u64 == size && (model.iter_ptrdata == 0 || o.ptrdata as u64 == model.iter_ptrdata)
                    })
                    .collect()
            });
            if objs.is_empty() {
                continue;
            }
            let objs = objs.clone();
            let (varp, argp) = varp_argp(p, fr);
            let trap = caller_of.is_some_and(|f| is_injected(&f.function));
            // The locals bitmap, relative to varp, is the same for every goroutine at this pc.
            let bitmap = self
                .live_of
                .entry((fr.entry, fr.pc, trap))
                .or_insert_with(|| {
                    if trap {
                        return None;
                    }
                    live_locals(p, fr.entry, fr.pc, varp)
                        .map(|(base, n, bits)| std::rc::Rc::new(((base.0 as i64).wrapping_sub(varp.0 as i64), n, bits)))
                })
                .clone();
            for o in objs.iter() {
                let at = if o.off < 0 { varp.offset(o.off as i64) } else { argp.offset(o.off as i64) };
                if at < fr.sp {
                    continue; // not yet allocated in the frame
                }
                let live = match bitmap.as_deref() {
                    None => Liveness::Unknown,
                    Some((rel, n, bits)) => liveness_in(varp.offset(*rel), *n, bits, at, o.ptrdata.max(0) as u64),
                };
                if live == Liveness::Dead {
                    self.dead = self.dead.saturating_add(1);
                    continue;
                }
                if let Some(it) = read_iterator(p, model, g, fi, at, &mut self.maps, &mut self.names) {
                    out.push(MapIterator { liveness: live, ..it });
                }
            }
        }
        out
    }
}

/// Finds every live (or possibly live) map iterator on the goroutines'
/// stacks, reading each map once. Dead iterator slots — bytes left from an
/// earlier loop or an earlier goroutine on a reused stack — are counted, not listed.
pub fn find_iterators(
    p: &Process,
    model: &MapModel,
    gs: &[Goroutine],
    maps: &mut MapTable,
) -> (Vec<MapIterator>, usize) {
    use rayon::prelude::*;
    let parts: Vec<(Vec<MapIterator>, MapTable, usize)> = gs
        .par_chunks(CHUNK)
        .map(|chunk| {
            let mut sc = IterScanner::new(p, model);
            let out = chunk.iter().flat_map(|g| sc.scan(g)).collect();
            (out, sc.maps, sc.dead)
        })
        .collect();
    let mut all = Vec::new();
    let mut dead = 0usize;
    for (its, m, d) in parts {
        all.extend(its);
        maps.extend(m);
        dead = dead.saturating_add(d);
    }
    (all, dead)
}

fn liveness_in(base: Addr, nbit: u32, bits: &[u8], obj: Addr, ptrdata: u64) -> Liveness {
    let Some(first) = obj.checked_sub(base) else { return Liveness::Unknown };
    let first = first / 8;
    let words = ptrdata.div_ceil(8).max(1);
    if first.saturating_add(words) > nbit as u64 {
        return Liveness::Unknown;
    }
    if (first..first.saturating_add(words)).any(|i| bits.get((i / 8) as usize).is_some_and(|b| b & (1 << (i % 8)) != 0))
    {
        Liveness::Live
    } else {
        Liveness::Dead
    }
}

fn is_injected(f: &str) -> bool {
    matches!(f, "runtime.asyncPreempt" | "runtime.sigpanic" | "runtime.debugCallV2" | "runtime.asyncPreempt2")
}

/// Reads and validates an iterator at `at`; classifies its state.
#[allow(
    clippy::indexing_slicing,
    reason = "frame indices come from enumerating the same goroutine's frames (fi - 1 only when fi > 0); the cache slot is taken modulo its length"
)]
fn read_iterator(
    p: &Process,
    model: &MapModel,
    g: &Goroutine,
    fi: usize,
    at: Addr,
    maps: &mut MapTable,
    names: &mut super::TypeNames,
) -> Option<MapIterator> {
    let mut it = read_iterator_at(p, model, at, maps, names)?;
    // A nil key inside the functions that start an iteration is not its end.
    let starting = g.frames.iter().take(fi).find(|f| ITER_START.contains(&&*f.function));
    if let (IterState::Finished, Some(f)) = (it.state, starting) {
        it.state = IterState::Starting;
        it.evidence =
            vec![format!("key is nil and the goroutine is inside {}: the first entry is not produced yet", f.function)];
    }
    let function = g.frames.get(fi)?.function.to_string();
    Some(MapIterator { goroutine: g.id, frame: fi, function, ..it })
}

/// The functions that start an iteration (and run its first `Next`).
const ITER_START: &[&str] =
    &["runtime.mapiterinit", "runtime.mapIterStart", "internal/runtime/maps.(*Iter).Init", "reflect.mapiterinit"];

/// Reads and validates an iterator at `at` wherever it lives (stack or heap);
/// the caller fills in where it was found.
pub fn read_iterator_at(
    p: &Process,
    model: &MapModel,
    at: Addr,
    maps: &mut MapTable,
    names: &mut super::TypeNames,
) -> Option<MapIterator> {
    let mem = p.mem();
    let (t_off, m_off, key_off) = match &model.layout {
        MapLayout::Classic(l) => (l.it_t, l.it_h, l.it_key),
        MapLayout::Swiss(l) => (l.it_typ, l.it_m, l.it_key),
    };
    let t = mem.read_ptr(at.add(t_off)).ok()?;
    let m = mem.read_ptr(at.add(m_off)).ok()?;
    if m.is_null() || !model.is_map_type(mem, t) {
        return None;
    }
    if let std::collections::hash_map::Entry::Vacant(e) = maps.entry(m) {
        e.insert(Box::new(p.read_map_cached(model, m, Some(t), names).ok()?));
    }
    let h = maps.get(&m)?;
    let key = mem.read_ptr(at.add(key_off)).ok()?;
    let (state, evidence) = if key.is_null() {
        (IterState::Finished, vec!["key is nil: the iteration has ended".to_string()])
    } else {
        classify(mem, model, at, h)
    };
    let ptr = |o: u64| mem.read_ptr(at.add(o)).unwrap_or(Addr::NULL);
    let storage: Vec<(&'static str, Addr)> = match &model.layout {
        MapLayout::Classic(l) => vec![("buckets", ptr(l.it_buckets)), ("bptr", ptr(l.it_bptr))],
        MapLayout::Swiss(l) => vec![("tab", ptr(l.it_tab)), ("group", ptr(l.it_group))],
    };
    let state_reason = (state == IterState::Unknown).then(|| evidence.last().cloned()).flatten();
    Some(MapIterator {
        state_reason,
        held_by: None,
        storage: storage.into_iter().filter(|(_, a)| !a.is_null()).map(|(n, a)| (n.into(), a)).collect(),
        goroutine: 0,
        frame: 0,
        function: String::new(),
        address: at,
        map: m,
        map_type: t,
        liveness: Liveness::Unknown,
        state,
        evidence,
    })
}

fn classify(mem: &dyn Memory, model: &MapModel, it: Addr, h: &MapHeader) -> (IterState, Vec<String>) {
    let mut ev = Vec::new();
    // A field the state depends on: unreadable means the state is unknown, never a made-up one.
    macro_rules! field {
        ($read:expr, $name:literal) => {
            match $read {
                Ok(v) => v,
                Err(e) => {
                    ev.push(format!("{} unreadable: {e}", $name));
                    return (IterState::Unknown, ev);
                }
            }
        };
    }
    match &model.layout {
        MapLayout::Classic(l) => {
            let ib = field!(mem.read_ptr(it.add(l.it_buckets)), "it.buckets");
            let bptr = field!(mem.read_ptr(it.add(l.it_bptr)), "it.bptr");
            let it_b = field!(mem.read_u8(it.add(l.it_b)), "it.B");
            let hb = h.buckets.unwrap_or(Addr::NULL);
            let hold = h.oldbuckets.unwrap_or(Addr::NULL);
            if let (Some(o), Some(hc)) = (l.it_clear_seq, h.clear_seq) {
                let ic = field!(mem.read_u64(it.add(o)), "it.clearSeq");
                if ic != hc {
                    ev.push(format!("it.clearSeq={ic}, h.clearSeq={hc}"));
                    return (IterState::Cleared, ev);
                }
            }
            ev.push(format!(
                "it.buckets={ib} it.B={it_b}; h.buckets={hb} h.oldbuckets={hold} h.B={}",
                h.b.unwrap_or(0)
            ));
            if ib == hb && hold.is_null() {
                (IterState::Current, ev)
            } else if !hold.is_null() && ib == hb && Some(it_b) == h.b {
                (IterState::StartedMidGrow, ev)
            } else if !hold.is_null() && ib == hold {
                if let Ok(top) = mem.read_u8(bptr) {
                    if l.evacuated.contains(&top) {
                        ev.push(format!("the current bucket {bptr} is evacuated (tophash[0]={top})"));
                    }
                }
                ev.push(format!("h.nevacuate={}", h.nevacuate.unwrap_or(0)));
                (IterState::MapGrewSinceStart, ev)
            } else {
                if let Ok(top) = mem.read_array::<8>(bptr) {
                    ev.push(format!("current bucket {bptr} tophash {top:?}"));
                }
                (IterState::Orphaned, ev)
            }
        }
        MapLayout::Swiss(l) => {
            let ic = field!(mem.read_u64(it.add(l.it_clear_seq)), "it.clearSeq");
            let hc = h.clear_seq.unwrap_or(ic);
            if ic != hc {
                ev.push(format!("it.clearSeq={ic}, m.clearSeq={hc}"));
                return (IterState::Cleared, ev);
            }
            let dir_idx = field!(mem.read_i64(it.add(l.it_dir_idx)), "it.dirIdx");
            let igd = field!(mem.read_u8(it.add(l.it_global_depth)), "it.globalDepth");
            let tab = field!(mem.read_ptr(it.add(l.it_tab)), "it.tab");
            let dir_len = h.dir_len.unwrap_or(0);
            let tab_index = if tab.is_null() { None } else { mem.read_i64(tab.add(l.table_index)).ok() };
            let state = if dir_idx == -1 && dir_len > 0 {
                IterState::SmallMapGrew
            } else if tab_index == Some(-1) {
                IterState::TableReplaced
            } else if Some(igd) != h.global_depth && dir_idx != -1 {
                IterState::DirectoryGrew
            } else {
                return (IterState::Current, ev);
            };
            ev.push(format!(
                "it.dirIdx={dir_idx} it.globalDepth={igd} it.tab={tab}; m.dirLen={dir_len} m.globalDepth={}",
                h.global_depth.unwrap_or(0)
            ));
            if let Some(idx) = tab_index {
                ev.push(format!("tab.index={idx}"));
            }
            (state, ev)
        }
    }
}

/// `reflect.MapIter`s reachable from global variables (fmt and encoding/json
/// iterate maps through them; they live on the heap). Those held by frame
/// locals: [`reflect_iterators_in_frames`].
pub fn reflect_iterators(p: &Process, model: &MapModel, maps: &mut MapTable) -> Vec<MapIterator> {
    let Some(super::ReflectIterLayout { hiter: hiter_off, size }) = model.reflect_iter else { return Vec::new() };
    let mem = p.mem();
    // (name, stated address, holds a pointer to the iterator): DWARF's
    // globals of its type, else (no DWARF) the symbol table's variables of
    // pointer or iterator size, each validated below as an iterator.
    let candidates: Vec<(String, Addr, bool)> = match p.dwarf() {
        Ok(d) => d
            .globals_with_type(|t| t == "*reflect.MapIter" || t == "reflect.MapIter")
            .into_iter()
            .map(|(n, a, ty)| (n, a, ty.starts_with('*')))
            .collect(),
        Err(_) if p.exe.has_symbols() => {
            let mut v: Vec<(String, Addr, bool)> = Vec::new();
            for (ptr, sz) in [(true, 8), (false, size)] {
                v.extend(p.exe.variables_of_size(sz).into_iter().map(|(n, a)| (n.to_string(), a, ptr)));
            }
            v
        }
        // No symbols either: every word of the data a pointer can be in
        // (`.data`, `.bss`) as a pointer to one, and as the start of one.
        Err(_) => {
            let mut v: Vec<(String, Addr, bool)> = Vec::new();
            for s in [".data", ".bss"].iter().filter_map(|n| p.exe.sections.get(*n)) {
                for i in 0..(s.size / 8).min(MAX_GLOBAL_CANDIDATES as u64) {
                    let stated = Addr(s.addr).add(i.saturating_mul(8));
                    let name = format!("at {}", stated.add(p.bias));
                    v.push((name.clone(), stated, true));
                    if stated.0.saturating_add(size) <= s.addr.saturating_add(s.size) {
                        v.push((name, stated, false));
                    }
                }
            }
            v
        }
    };
    let blind = !p.uses_dwarf && !p.exe.has_symbols();
    let mut names = super::TypeNames::default();
    let mut out = Vec::new();
    for (name, addr, is_ptr) in candidates.into_iter().take(4 * MAX_GLOBAL_CANDIDATES) {
        let obj = if is_ptr { mem.read_ptr(addr.add(p.bias)).unwrap_or(Addr::NULL) } else { addr.add(p.bias) };
        if obj.is_null() {
            continue;
        }
        // Words taken blind are read aside, and kept only when they lead to a
        // named map type and a map header outside the executable's image.
        let mut scratch = HashMap::new();
        let into = if blind { &mut scratch } else { &mut *maps };
        if let Some(it) = read_iterator_at(p, model, obj.add(hiter_off), into, &mut names) {
            if blind {
                let named =
                    scratch.get(&it.map).and_then(|h| h.type_name.as_deref()).is_some_and(|n| n.starts_with("map["));
                let in_exe =
                    p.exe.segments.iter().any(|s| it.map.0.wrapping_sub(s.vaddr.wrapping_add(p.bias)) < s.memsz);
                if !named || in_exe {
                    continue;
                }
                for (a, h) in scratch {
                    maps.entry(a).or_insert(h);
                }
            }
            // Referenced from a global: the GC keeps it and what it points to.
            out.push(MapIterator {
                held_by: Some(format!("reflect.MapIter in global {name}")),
                liveness: Liveness::Live,
                ..it
            });
        }
    }
    out
}

/// Most globals examined as `reflect.MapIter` holders.
const MAX_GLOBAL_CANDIDATES: usize = 1 << 16;

/// Most live pointer slots examined in one frame.
const MAX_FRAME_SLOTS: u32 = 4096;

/// `reflect.MapIter`s held by frames: in the frames of functions into which
/// `reflect.Value.MapRange` was inlined (from the pclntab's inline trees),
/// a stack object of `reflect.MapIter`'s size (the iterator did not escape),
/// or a pointer slot live at the frame's pc (its locals pointer map) leading
/// to one on the heap — each validated as an iterator (map type descriptor,
/// readable map header). DWARF does not help here: the compiler keeps no
/// variable for such iterators.
#[allow(
    clippy::indexing_slicing,
    reason = "frame indices come from enumerating the same goroutine's frames (fi - 1 only when fi > 0); the cache slot is taken modulo its length"
)]
pub fn reflect_iterators_in_frames(
    p: &Process,
    model: &MapModel,
    gs: &[Goroutine],
    maps: &mut MapTable,
) -> Vec<MapIterator> {
    let Some(super::ReflectIterLayout { hiter: hiter_off, size }) = model.reflect_iter else { return Vec::new() };
    let mem = p.mem();
    let mut ranges: rustc_hash::FxHashMap<Addr, bool> = Default::default();
    let mut recent = [(Addr::NULL, false); 1024];
    let mut names = super::TypeNames::default();
    let mut out: Vec<MapIterator> = Vec::new();
    for g in gs {
        let mut prev = None;
        for (fi, fr) in g.frames.iter().enumerate() {
            let caller_of = prev.replace(fr);
            if fr.inlined {
                continue;
            }
            // A direct-mapped cache in front of the map: stacks repeat the same functions.
            let slot = &mut recent[((fr.entry.0 >> 4) as usize).checked_rem(recent.len()).unwrap_or(0)];
            let holds = if slot.0 == fr.entry {
                slot.1
            } else {
                let h = *ranges.entry(fr.entry).or_insert_with(|| {
                    p.pclntab.find_func(fr.entry).is_some_and(|f| f.inlines(mem, "reflect.Value.MapRange"))
                });
                *slot = (fr.entry, h);
                h
            };
            if !holds || caller_of.is_some_and(|f| is_injected(&f.function)) {
                continue;
            }
            let (varp, argp) = varp_argp(p, fr);
            let Some((base, nbit, bits)) = live_locals(p, fr.entry, fr.pc, varp) else { continue };
            let mut found = |at: Addr, how: String, out: &mut Vec<MapIterator>| {
                if out.iter().any(|it| it.address == at.add(hiter_off)) {
                    return;
                }
                if let Some(it) = read_iterator_at(p, model, at.add(hiter_off), maps, &mut names) {
                    let function = fr.function.to_string();
                    // Live at the frame's pc: the GC keeps the iterator.
                    out.push(MapIterator {
                        held_by: Some(how),
                        goroutine: g.id,
                        frame: fi,
                        function,
                        liveness: Liveness::Live,
                        ..it
                    });
                }
            };
            for o in stack_objects(p, fr.entry).iter().filter(|o| o.size as u64 == size) {
                let at = if o.off < 0 { varp.offset(o.off as i64) } else { argp.offset(o.off as i64) };
                if at >= fr.sp && liveness_in(base, nbit, &bits, at, o.ptrdata.max(0) as u64) == Liveness::Live {
                    found(at, format!("reflect.MapIter on the stack of {}", fr.function), &mut out);
                }
            }
            for i in 0..nbit.min(MAX_FRAME_SLOTS) {
                if bits.get((i / 8) as usize).is_none_or(|b| b & (1 << (i % 8)) == 0) {
                    continue;
                }
                let Ok(obj) = mem.read_ptr(base.add((i as u64).saturating_mul(8))) else { continue };
                if !obj.is_null() {
                    found(obj, format!("reflect.MapIter held by a local of {}", fr.function), &mut out);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::FakeMemory;

    fn swiss_header(clear_seq: u64) -> MapHeader {
        MapHeader {
            len: 3,
            clear_seq: Some(clear_seq),
            dir_ptr: Some(Addr(0xa000)),
            dir_len: Some(0),
            global_depth: Some(0),
            ..MapHeader::unread(Addr(0x9000), "swiss")
        }
    }

    #[test]
    fn an_unreadable_field_makes_the_state_unknown_not_cleared() {
        let model = super::super::builtin::builtin_model(27, "go1.27.3").unwrap();
        let it = Addr(0x1000);
        // The iterator's first 40 bytes only: it.clearSeq (offset 48) is past them.
        let cut = FakeMemory::new().map_words(it, &[0x5000, 0, 0x6000, 0x9000, 0]);
        let (state, ev) = classify(&cut, &model, it, &swiss_header(7));
        assert_eq!(state, IterState::Unknown);
        assert!(ev.last().unwrap().starts_with("it.clearSeq unreadable"), "{ev:?}");
        // Readable and equal: current; readable and different: cleared.
        let mut words = vec![0u64; 12];
        words[6] = 7; // clearSeq
        words[8] = u64::MAX; // dirIdx = -1 would mean small-map-grew only with a directory
        let whole = FakeMemory::new().map_words(it, &words);
        assert_eq!(classify(&whole, &model, it, &swiss_header(7)).0, IterState::Current);
        assert_eq!(classify(&whole, &model, it, &swiss_header(8)).0, IterState::Cleared);
    }
}
