//! Per-goroutine accounting as events stream: time per state as signed sums
//! of transition times (order-independent, so threads' batches can be
//! accounted apart and merged), blocked time by reason, last state and stack.

use super::model::{CreatedBy, GoState, StateSpan, TraceEvent, TraceGoroutine, TraceStack, TraceSummary, STATES};
use rustc_hash::FxHashMap;
use std::collections::HashMap;

pub(super) use super::model::state_index;

/// Per-goroutine accumulation.
#[derive(Default)]
pub(super) struct GAcc {
    pub(super) start_function: Option<String>,
    pub(super) created_by: Option<CreatedBy>,
    /// Σ exits − Σ entries per state, in trace ticks (wrapping: the sums are exact modulo 2^64, and what they come to,
    /// a state's time — at most the trace's duration — fits an i64).
    acc: [i64; 6],
    /// v1: syscalls that did not block. Go's v1 converter ends each 1 ns
    /// after it began, finer than the trace's clock: a nanosecond moves from
    /// running to syscall per such syscall, after converting ticks.
    pub(super) quick_syscalls: u32,
    /// Entries minus exits per state (to close open intervals at the end;
    /// wrapping, exact modulo 2^32 like `acc`, and what it comes to is 0 or 1).
    open: [i32; 6],
    /// Blocked time by interned reason id.
    pub(super) blocked_reason: Vec<(u32, i64)>,
    pub(super) last: (u64, GoState),
    /// Last stack, resolved at the end of its generation: (ts, frames).
    pub(super) last_stack: (u64, TraceStack),
    /// Newest stack of the current generation, not yet resolved: (ts, stack id).
    pub(super) pending_stack: Option<(u64, u64)>,
    transitions: u64,
    /// Where it last started running, and when: (time, thread, P).
    last_ran_on: Option<(u64, RanOn)>,
    /// The reason of its open blocked interval.
    pub(super) blocked_since_reason: Option<u32>,
    /// Generation (index in the file) in which it was first seen.
    pub(super) first_gen: Option<u32>,
    /// 1.22+: the blocked intervals it entered and left in this generation.
    pub(super) blocks: Blocks,
    /// For watched goroutines: its latest transitions (time, from, to, reason).
    recent: Option<Box<Kept>>,
    /// Its status event already counted as a transition.
    pub(super) status_counted: bool,
    /// v1: stack id of the start function, resolved at the end.
    pub(super) pending_start: u64,
    /// v1: stack id of the creation, resolved at the end.
    pub(super) pending_creation_stack: u64,
}

/// A part's interned reason id in the table it is merged into.
fn remap(reason_ids: &[u32], r: u32) -> u32 {
    reason_ids.get(r as usize).copied().unwrap_or(r)
}

/// A transition kept for a watched goroutine: time, from, to, reason id.
type Recent = (u64, GoState, GoState, Option<u32>);

/// The goroutines a reader keeps the transitions of, and how many of each.
pub(super) struct Watch {
    pub(super) ids: rustc_hash::FxHashSet<u64>,
    /// The latest this many transitions are kept, per goroutine.
    pub(super) keep: usize,
}

/// A watched goroutine's kept transitions.
#[derive(Default)]
pub(super) struct Kept {
    v: Vec<Recent>,
    keep: usize,
    /// Older transitions were dropped.
    cut: bool,
}

impl Kept {
    /// Keeps the latest `keep` transitions, by time.
    fn keep_latest(&mut self) {
        if self.v.len() > self.keep {
            self.v.sort_by_key(|r| r.0);
            self.v.drain(..self.v.len().saturating_sub(self.keep));
            self.cut = true;
        }
    }
}

/// A fresh accumulator; watched goroutines keep their latest transitions.
#[cold]
fn new_acc(watch: &Option<std::sync::Arc<Watch>>, g: u64) -> GAcc {
    let keep = watch.as_ref().filter(|w| w.ids.contains(&g)).map(|w| w.keep);
    GAcc { recent: keep.map(|keep| Box::new(Kept { v: Vec::new(), keep, cut: false })), ..GAcc::default() }
}

/// How many of a watched goroutine's last transitions are its `last_events`.
pub(super) const RECENT: usize = 8;

/// How many of a watched goroutine's latest transitions make its timeline,
/// unless the reader is told otherwise (32 bytes each while reading: a
/// watched goroutine costs at most 256 KiB).
pub const TIMELINE_KEPT: usize = 4096;

/// A goroutine's blocked intervals of one generation (1.22+), in brief: the
/// entries' reason while they agree, and the exits' summed time. When the
/// reasons differ, the generation is decoded again with an exact log of
/// entries (its sequence number when it blocked, reason) and exits (the
/// unblock's sequence number, time) for that goroutine alone.
#[derive(Default)]
pub(super) struct Blocks {
    reason: Option<u32>,
    mixed: bool,
    exit_sum: i64,
    exits: u64,
    pub(super) entry_log: Vec<(u64, u32)>,
    pub(super) exit_log: Vec<(u64, u64)>,
}

impl Blocks {
    #[inline]
    pub(super) fn enter(&mut self, r: u32) {
        match self.reason {
            None => self.reason = Some(r),
            Some(x) if x != r => self.mixed = true,
            _ => {}
        }
    }
    #[inline]
    pub(super) fn exit(&mut self, ts: u64) {
        self.exit_sum = self.exit_sum.wrapping_add(ts as i64);
        self.exits = self.exits.saturating_add(1);
    }
    fn absorb(&mut self, p: &Blocks, reason_ids: &[u32]) {
        if let Some(r) = p.reason {
            self.enter(remap(reason_ids, r));
        }
        self.mixed |= p.mixed;
        self.exit_sum = self.exit_sum.wrapping_add(p.exit_sum);
        self.exits = self.exits.saturating_add(p.exits);
        self.entry_log.extend(p.entry_log.iter().map(|&(seq, r)| (seq, remap(reason_ids, r))));
        self.exit_log.extend_from_slice(&p.exit_log);
    }
}

impl GAcc {
    /// Its latest kept transition came from `from` (a creation: from not existing,
    /// accounted as from undetermined).
    pub(super) fn came_from(&mut self, from: GoState) {
        if let Some(r) = self.recent.as_mut().and_then(|k| k.v.last_mut()) {
            r.1 = from;
        }
    }

    /// Records where it was seen running at `ts`, if that is its latest.
    pub(super) fn ran(&mut self, ts: u64, r: RanOn) {
        if self.last_ran_on.is_none_or(|(t, _)| ts >= t) {
            self.last_ran_on = Some((ts, r));
        }
    }

    /// Counts a transition that moves no time.
    pub(super) fn count_transition(&mut self) {
        self.transitions = self.transitions.saturating_add(1);
    }
}

/// Goroutine accumulators, in the order first seen, found by id through an
/// index: dense by id (ids are small and never reused), with a map for
/// outliers. An id costs 4 bytes of index until its goroutine is seen, so a
/// part of a generation that sees a few goroutines of a large id range pays
/// for those few. The dense index grows only while it stays within a few
/// times the number of goroutines seen, so a trace naming a huge id (a
/// damaged or crafted one) costs a map entry, not an index that size.
#[derive(Default)]
pub(super) struct GTable {
    /// The accumulators and their goroutine ids.
    accs: Vec<(u64, GAcc)>,
    /// By id: the position in `accs`, or [`NONE`].
    dense: Vec<u32>,
    sparse: FxHashMap<u64, u32>,
    /// The generation (index in the file) being decoded.
    pub(super) gen: usize,
    /// How blocked time is given its reason.
    pub(super) reason_mode: ReasonMode,
    /// Goroutines whose latest transitions are kept.
    pub(super) watch: Option<std::sync::Arc<Watch>>,
}

/// An id the dense index has no goroutine for.
const NONE: u32 = u32::MAX;

/// How blocked intervals find their reason.
#[derive(Copy, Clone, Default, PartialEq, Eq)]
pub(super) enum ReasonMode {
    /// Events come in time order: the reason of the last entry to Waiting
    /// owns the next exit (Go 1.21's reader).
    #[default]
    Sequential,
    /// Events come per thread, in any order between threads: entries and exits
    /// are logged with the goroutine's sequence numbers and paired when the
    /// generation ends (1.22+).
    Paired,
}

const DENSE_IDS: u64 = 1 << 22;

impl GTable {
    #[inline(always)]
    pub(super) fn get(&mut self, g: u64) -> &mut GAcc {
        let i = g as usize;
        if g >= DENSE_IDS || (i >= self.dense.len() && !self.grow(i)) {
            return self.sparse_get(g);
        }
        let at = match self.dense.get(i) {
            Some(&at) if at != NONE => at as usize,
            _ => {
                let at = self.push(g);
                if let Some(slot) = self.dense.get_mut(i) {
                    *slot = at as u32;
                }
                at
            }
        };
        self.acc_at(at)
    }

    /// The accumulator at `at`, which `push` made.
    #[inline(always)]
    #[allow(clippy::indexing_slicing, reason = "positions come from push, and accs only grows")]
    fn acc_at(&mut self, at: usize) -> &mut GAcc {
        &mut self.accs[at].1
    }

    /// A new accumulator for `g`; its position.
    #[cold]
    #[inline(never)]
    fn push(&mut self, g: u64) -> usize {
        let a = new_acc(&self.watch, g);
        self.accs.push((g, a));
        self.accs.len().saturating_sub(1)
    }

    /// Grows the dense index to hold `i`, when that keeps it within a few
    /// times the goroutines seen; the sparse ones it now covers move in.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, i: usize) -> bool {
        let limit = 4096usize.max(self.accs.len().saturating_mul(4));
        if i >= limit || self.accs.len() >= NONE as usize {
            return false;
        }
        let len = i.saturating_add(1).next_power_of_two();
        self.dense.resize(len, NONE);
        let moved: Vec<u64> = self.sparse.keys().copied().filter(|&k| (k as usize) < len).collect();
        for k in moved {
            if let (Some(at), Some(slot)) = (self.sparse.remove(&k), self.dense.get_mut(k as usize)) {
                *slot = at;
            }
        }
        true
    }

    #[cold]
    #[inline(never)]
    fn sparse_get(&mut self, g: u64) -> &mut GAcc {
        let at = match self.sparse.get(&g) {
            Some(&at) => at as usize,
            None => {
                let at = self.push(g);
                self.sparse.insert(g, at as u32);
                at
            }
        };
        self.acc_at(at)
    }

    /// The accumulator of `g`, if it has one.
    pub(super) fn peek(&self, g: u64) -> Option<&GAcc> {
        let at = match self.dense.get(g as usize) {
            Some(&at) if g < DENSE_IDS => Some(at).filter(|&a| a != NONE),
            _ => self.sparse.get(&g).copied(),
        }?;
        self.accs.get(at as usize).map(|(_, a)| a)
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = (u64, &mut GAcc)> {
        self.accs.iter_mut().map(|(g, a)| (*g, a))
    }

    pub(super) fn values_mut(&mut self) -> impl Iterator<Item = &mut GAcc> {
        self.accs.iter_mut().map(|(_, a)| a)
    }

    pub(super) fn into_iter(self) -> impl Iterator<Item = (u64, GAcc)> {
        self.accs.into_iter()
    }

    /// The accumulators with their goroutine ids, the index dropped.
    pub(super) fn into_accs(self) -> Vec<(u64, GAcc)> {
        self.accs
    }
}

/// Figures of a decoded trace, for [`summarize`].
pub(super) struct Counts {
    pub(super) wire_events: u64,
    pub(super) cpu_samples: u64,
    pub(super) generations: u64,
    pub(super) first_generation: u64,
    pub(super) min_ts: u64,
    pub(super) max_ts: u64,
    pub(super) freq: u64,
}

/// Turns the per-goroutine accumulators into the summary.
#[allow(clippy::indexing_slicing, reason = "state_index maps each GoState to an index below the arrays' fixed length")]
pub(super) fn summarize(
    trace_version: String,
    c: Counts,
    gs: GTable,
    reasons: &Reasons,
    warnings: Vec<String>,
    threads: Vec<u64>,
) -> TraceSummary {
    let Counts { wire_events, cpu_samples, generations, first_generation, min_ts, max_ts, freq } = c;
    let to_ns = |ticks: i128| -> u64 {
        if freq == 0 {
            return 0;
        }
        (ticks.max(0) as f64 * 1e9 / freq as f64) as u64
    };
    let to_ns_adj = |ticks: i64, adj: i64| -> u64 { to_ns(i128::from(ticks)).saturating_add_signed(adj) };
    let convert = |id: u64, mut a: GAcc| -> TraceGoroutine {
        // Close intervals still open at the end of the trace.
        for (i, n) in a.open.iter().enumerate() {
            a.acc[i] = a.acc[i].wrapping_add(i64::from(*n).wrapping_mul(max_ts as i64));
        }
        if let Some(r) = a.blocked_since_reason.take() {
            add_reason(&mut a.blocked_reason, r, max_ts as i64);
        }
        let mut kept = a.recent.take().map(|k| *k).unwrap_or_default();
        kept.keep_latest();
        let timeline_cut = kept.cut;
        let mut recent = kept.v;
        recent.sort_by_key(|r| r.0);
        TraceGoroutine {
            id,
            start_function: a.start_function,
            created_by: a.created_by,
            state_at_end: a.last.1,
            last_stack: a.last_stack.1,
            running_ns: to_ns_adj(a.acc[state_index(GoState::Running)], i64::from(a.quick_syscalls).wrapping_neg()),
            runnable_ns: to_ns_adj(a.acc[state_index(GoState::Runnable)], 0),
            blocked_ns: to_ns_adj(a.acc[state_index(GoState::Waiting)], 0),
            syscall_ns: to_ns_adj(a.acc[state_index(GoState::Syscall)], i64::from(a.quick_syscalls)),
            blocked_by_reason: super::model::ReasonTimes::new(
                a.blocked_reason
                    .into_iter()
                    .filter(|(_, v)| *v > 0)
                    .map(|(k, v)| {
                        (reasons.names.get(k as usize).cloned().unwrap_or_else(|| "".into()), to_ns(i128::from(v)))
                    })
                    .collect(),
            ),
            transitions: a.transitions,
            last_events: recent
                .iter()
                .skip(recent.len().saturating_sub(RECENT))
                .map(|&(ts, from, to, r)| TraceEvent {
                    time_ns: to_ns((ts as i128).wrapping_sub(min_ts as i128)),
                    from,
                    to,
                    reason: r.and_then(|r| reasons.names.get(r as usize).map(|n| n.to_string())),
                })
                .collect(),
            timeline: timeline(&recent, |ts| to_ns((ts as i128).wrapping_sub(min_ts as i128))),
            timeline_cut,
            last_thread: a.last_ran_on.map(|(_, r)| r.thread),
            last_p: a.last_ran_on.and_then(|(_, r)| r.p),
        }
    };
    // The accumulators are handed back as the summaries are made (the
    // table shrinks while the list grows): at 100,000 goroutines the two
    // at once cost ~80 MB more at the peak.
    let mut accs = gs.into_accs();
    let mut goroutines: Vec<TraceGoroutine> = Vec::with_capacity(accs.len());
    while let Some((id, a)) = accs.pop() {
        if accs.len() < accs.capacity() / 4 {
            accs.shrink_to_fit();
        }
        if id != 0 {
            goroutines.push(convert(id, a));
        }
    }
    goroutines.sort_by_key(|g| g.id);
    TraceSummary {
        trace_version,
        events: wire_events.saturating_add(cpu_samples).saturating_add(if generations == 0 {
            0
        } else {
            generations.saturating_add(1)
        }),
        wire_events,
        cpu_samples,
        generations,
        first_generation,
        duration_ns: max_ts.checked_sub(min_ts).map_or(0, |d| to_ns(d as i128)),
        goroutines,
        warnings,
        threads,
        thread_ids: "os",
    }
}

/// The spans of a goroutine's kept transitions (sorted by time): each state
/// entered; a transition at the same nanosecond as the one before replaces
/// it, and one to the state it is already in makes no span.
fn timeline(recent: &[Recent], ns: impl Fn(u64) -> u64) -> Vec<StateSpan> {
    let mut out: Vec<StateSpan> = Vec::with_capacity(recent.len());
    for &(ts, _, to, _) in recent {
        let start_ns = ns(ts);
        if let Some(last) = out.last_mut() {
            if last.start_ns == start_ns {
                last.state = to;
                continue;
            }
            if last.state == to {
                continue;
            }
        }
        out.push(StateSpan { start_ns, state: to });
    }
    // Equal-time replacements may leave neighbours in the same state.
    out.dedup_by(|b, a| a.state == b.state);
    out
}

/// Records a transition of `g` at `ts` from `from` to `to`; `stack` is a
/// stack id of the current generation (0: none).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
#[allow(clippy::indexing_slicing, reason = "state_index maps each GoState to an index below the arrays' fixed length")]
pub(super) fn transition(
    gs: &mut GTable,
    g: u64,
    ts: u64,
    from: GoState,
    to: GoState,
    reason: Option<u32>,
    stack: u64,
    ran_on: Option<RanOn>,
) -> &mut GAcc {
    let (gen, reason_mode) = (gs.gen, gs.reason_mode);
    let a = gs.get(g);
    // Remember the generation in which each goroutine first appears.
    a.first_gen.get_or_insert(u32::try_from(gen).unwrap_or(u32::MAX));
    a.transitions = a.transitions.saturating_add(1);
    if from != GoState::Undetermined {
        a.acc[state_index(from)] = a.acc[state_index(from)].wrapping_add(ts as i64);
        a.open[state_index(from)] = a.open[state_index(from)].wrapping_sub(1);
    }
    if from == GoState::Waiting && reason_mode == ReasonMode::Sequential {
        if let Some(r) = a.blocked_since_reason.take() {
            add_reason(&mut a.blocked_reason, r, ts as i64);
        }
    }
    if to != GoState::NotExist {
        a.acc[state_index(to)] = a.acc[state_index(to)].wrapping_sub(ts as i64);
        a.open[state_index(to)] = a.open[state_index(to)].wrapping_add(1);
    }
    if to == GoState::Waiting {
        if let Some(r) = reason {
            add_reason(&mut a.blocked_reason, r, (ts as i64).wrapping_neg());
            if reason_mode == ReasonMode::Sequential {
                a.blocked_since_reason = Some(r);
            }
        }
    }
    if ts >= a.last.0 {
        a.last = (ts, to);
    }
    if stack != 0 && a.pending_stack.is_none_or(|(t, _)| ts >= t) {
        a.pending_stack = Some((ts, stack));
    }
    if let Some(r) = ran_on {
        a.ran(ts, r);
    }
    if let Some(k) = a.recent.as_mut() {
        k.v.push((ts, from, to, reason));
        if k.v.len() >= k.keep.saturating_mul(2) {
            k.keep_latest();
        }
    }
    a
}

/// The thread (and P, if it had one) a goroutine started running on.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) struct RanOn {
    pub(super) thread: u64,
    pub(super) p: Option<u64>,
}

pub(super) fn add_reason(v: &mut Vec<(u32, i64)>, r: u32, d: i64) {
    match v.iter_mut().find(|(k, _)| *k == r) {
        Some((_, x)) => *x = x.wrapping_add(d),
        None => {
            // Most goroutines block for one reason: room for one, not four.
            if v.capacity() == 0 {
                v.reserve_exact(1);
            }
            v.push((r, d))
        }
    }
}

/// Interned block reasons (strings are per generation; reasons repeat).
#[derive(Default)]
pub(super) struct Reasons {
    names: Vec<std::sync::Arc<str>>,
    ids: HashMap<Vec<u8>, u32>,
}

impl Reasons {
    /// The interned names, by id.
    pub(super) fn names(&self) -> &[std::sync::Arc<str>] {
        &self.names
    }

    pub(super) fn intern(&mut self, b: &[u8]) -> u32 {
        if let Some(&i) = self.ids.get(b) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(String::from_utf8_lossy(b).into());
        self.ids.insert(b.to_vec(), i);
        i
    }
}

impl GTable {
    /// Adds one generation's accumulators, decoded from some of its threads,
    /// to this table (the goroutines' state before that generation).
    /// `reason_ids` maps the part's interned reasons to this table's.
    #[allow(
        clippy::indexing_slicing,
        reason = "state_index maps each GoState to an index below the arrays' fixed length"
    )]
    pub(super) fn absorb(&mut self, part: GTable, reason_ids: &[u32]) {
        for (g, p) in part.into_iter() {
            let a = self.get(g);
            if p.start_function.is_some() {
                a.start_function = p.start_function;
            }
            if p.created_by.is_some() {
                a.created_by = p.created_by;
            }
            for i in 0..STATES.len() {
                a.acc[i] = a.acc[i].wrapping_add(p.acc[i]);
                a.open[i] = a.open[i].wrapping_add(p.open[i]);
            }
            for (r, d) in p.blocked_reason {
                add_reason(&mut a.blocked_reason, remap(reason_ids, r), d);
            }
            if p.transitions > 0 && p.last.0 >= a.last.0 {
                a.last = p.last;
            }
            a.transitions = a.transitions.saturating_add(p.transitions);
            if let Some((ts, id)) = p.pending_stack {
                if a.pending_stack.is_none_or(|(t, _)| ts >= t) {
                    a.pending_stack = Some((ts, id));
                }
            }
            if let Some((ts, r)) = p.last_ran_on {
                a.ran(ts, r);
            }
            if a.first_gen.is_none() {
                a.first_gen = p.first_gen;
            }
            a.status_counted |= p.status_counted;
            a.blocks.absorb(&p.blocks, reason_ids);
            if let Some(pr) = p.recent {
                let k = a.recent.get_or_insert_with(|| Box::new(Kept { v: Vec::new(), keep: pr.keep, cut: false }));
                k.cut |= pr.cut;
                k.v.extend(pr.v.into_iter().map(|(ts, f, t, r)| (ts, f, t, r.map(|r| remap(reason_ids, r)))));
                k.keep_latest();
            }
        }
    }

    /// Gives this generation's blocked time its reasons where the entries
    /// agree with each other and with the interval carried in; returns the
    /// goroutines whose reasons differ, to be paired exactly (see
    /// [`GTable::pair_blocks`]).
    pub(super) fn settle_blocks(&mut self, unknown: u32) -> Vec<u64> {
        let mut mixed = Vec::new();
        for (g, a) in self.iter_mut() {
            let b = &a.blocks;
            if b.reason.is_none() && b.exits == 0 {
                continue;
            }
            let carried = a.blocked_since_reason;
            if b.mixed || (b.reason.is_some() && carried.is_some() && b.reason != carried && b.exits > 0) {
                mixed.push(g);
                continue;
            }
            let r = b.reason.or(carried);
            if b.exits > 0 {
                let sum = b.exit_sum;
                add_reason(&mut a.blocked_reason, r.unwrap_or(unknown), sum);
            }
            a.blocked_since_reason = if a.last.1 == GoState::Waiting { r } else { None };
            a.blocks = Blocks::default();
        }
        mixed
    }

    /// Pairs the logged entries and exits of goroutines with mixed reasons by
    /// sequence number: an unblock with sequence number s ends the interval
    /// entered while the goroutine ran with s − 1; one with no such entry ends
    /// the interval carried in from an earlier generation, else one of reason
    /// `unknown`. Each exit's time goes to its reason.
    pub(super) fn pair_blocks(&mut self, goroutines: &[u64], unknown: u32) {
        for &g in goroutines {
            let a = self.get(g);
            let carried = a.blocked_since_reason;
            let mut entries = std::mem::take(&mut a.blocks.entry_log);
            let exits = std::mem::take(&mut a.blocks.exit_log);
            entries.sort_unstable_by_key(|e| e.0);
            let by_seq = EntriesBySeq::new(&entries);
            for &(seq, ts) in &exits {
                let r = seq.checked_sub(1).and_then(|k| by_seq.get(k)).or(carried).unwrap_or(unknown);
                add_reason(&mut a.blocked_reason, r, ts as i64);
            }
            // The interval still open, if the goroutine ends the generation blocked.
            a.blocked_since_reason =
                if a.last.1 == GoState::Waiting { entries.last().map(|e| e.1).or(carried) } else { None };
            a.blocks = Blocks::default();
        }
    }
}

/// A goroutine's logged block entries (sorted by sequence number), looked up
/// by sequence number: a table indexed by it when the numbers are dense (a
/// goroutine's sequence numbers count its events, so they are, and most of
/// them are entries or exits), else a binary search.
enum EntriesBySeq<'a> {
    Dense { first: u64, reasons: Vec<Option<u32>> },
    Sparse(&'a [(u64, u32)]),
}

impl<'a> EntriesBySeq<'a> {
    fn new(sorted: &'a [(u64, u32)]) -> Self {
        let (Some(first), Some(last)) = (sorted.first(), sorted.last()) else { return EntriesBySeq::Sparse(sorted) };
        let span = last.0.saturating_sub(first.0);
        // Dense only within a small multiple of the entries (the table's size is bounded by them).
        let limit = (sorted.len() as u64).saturating_mul(4).saturating_add(64);
        if span >= limit {
            return EntriesBySeq::Sparse(sorted);
        }
        let mut reasons = vec![None; (span as usize).saturating_add(1)];
        for &(seq, r) in sorted {
            if let Some(slot) = usize::try_from(seq.saturating_sub(first.0)).ok().and_then(|i| reasons.get_mut(i)) {
                *slot = Some(r);
            }
        }
        EntriesBySeq::Dense { first: first.0, reasons }
    }

    fn get(&self, seq: u64) -> Option<u32> {
        match self {
            EntriesBySeq::Dense { first, reasons } => {
                usize::try_from(seq.checked_sub(*first)?).ok().and_then(|i| reasons.get(i).copied().flatten())
            }
            EntriesBySeq::Sparse(s) => s.binary_search_by_key(&seq, |e| e.0).ok().and_then(|i| s.get(i)).map(|e| e.1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::EntriesBySeq;

    #[test]
    fn entries_are_found_by_sequence_number_dense_or_sparse() {
        // Dense: sequence numbers close together; sparse: one far away.
        let dense: Vec<(u64, u32)> = vec![(10, 1), (12, 2), (13, 3), (20, 4)];
        let sparse: Vec<(u64, u32)> = vec![(10, 1), (12, 2), (13, 3), (1 << 40, 4)];
        let (d, s) = (EntriesBySeq::new(&dense), EntriesBySeq::new(&sparse));
        assert!(matches!(d, EntriesBySeq::Dense { .. }) && matches!(s, EntriesBySeq::Sparse(_)));
        for (seq, want) in [(9, None), (10, Some(1)), (11, None), (12, Some(2)), (13, Some(3)), (14, None)] {
            assert_eq!(d.get(seq), want, "dense {seq}");
            assert_eq!(s.get(seq), want, "sparse {seq}");
        }
        assert_eq!((d.get(20), s.get(1 << 40), d.get(u64::MAX), s.get(0)), (Some(4), Some(4), None, None));
        assert_eq!(EntriesBySeq::new(&[]).get(0), None);
    }
}
