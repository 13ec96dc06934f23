//! The generation format of Go 1.22+ (`go 1.22`, `go 1.23` from 1.23/1.24,
//! `go 1.25`, `go 1.26` from 1.26/1.27).
//!
//! A generation's batches are grouped by the thread (M) that wrote them and
//! the groups decoded in parallel: which goroutine an M runs depends only on
//! that M's own events, time per state is accounted as order-independent
//! sums, and blocked intervals are paired with their reasons by the
//! goroutines' sequence numbers once the generation is done.

use super::account::{
    summarize, transition, Counts, GAcc, GTable, RanOn, ReasonMode, Reasons, Watch, RECENT, TIMELINE_KEPT,
};
use super::model::{CreatedBy, GoState, TraceSummary};
use super::wire::{is_event_batch, read_tables, ArgCounts, Batch, Cursor, Tables};
use super::{header_version, TraceError};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

const NO_THREAD: u64 = u64::MAX;

/// Below this many bytes of events, a generation is decoded on one thread.
const PARALLEL_MIN_BYTES: usize = 1 << 20;

/// The goroutine an M runs and its sequence number in this generation.
#[derive(Copy, Clone)]
struct OnM {
    m: u64,
    g: u64,
    seq: u64,
    /// The P the M holds, if any.
    p: Option<u64>,
}

/// The goroutine each M is running (few Ms: a vector beats a map).
#[derive(Default, Clone)]
struct MBindings(Vec<OnM>);

impl MBindings {
    #[inline]
    fn get(&self, m: u64) -> (u64, u64) {
        self.0.iter().find(|e| e.m == m).map_or((0, 0), |e| (e.g, e.seq))
    }
    #[inline]
    fn set(&mut self, m: u64, g: u64, seq: u64) {
        match self.0.iter_mut().find(|e| e.m == m) {
            Some(e) => (e.g, e.seq) = (g, seq),
            None => self.0.push(OnM { m, g, seq, p: None }),
        }
    }
    fn p(&self, m: u64) -> Option<u64> {
        self.0.iter().find(|e| e.m == m).and_then(|e| e.p)
    }
    fn set_p(&mut self, m: u64, p: Option<u64>) {
        match self.0.iter_mut().find(|e| e.m == m) {
            Some(e) => e.p = p,
            None => self.0.push(OnM { m, g: 0, seq: 0, p }),
        }
    }
    /// Moves out the bindings of `ms`, their sequence numbers restarted for a
    /// new generation.
    fn take(&mut self, ms: &[u64]) -> MBindings {
        let (mine, rest): (Vec<OnM>, Vec<OnM>) = self.0.drain(..).partition(|e| ms.contains(&e.m));
        self.0 = rest;
        MBindings(mine.into_iter().map(|e| OnM { seq: 0, ..e }).collect())
    }
}

/// Batches to decode, each with the goroutine (and sequence number) its M
/// ran when it began, if known; and the bindings of their Ms.
type Work<'a, 'b> = (Vec<(&'b Batch<'a>, Option<(u64, u64)>)>, MBindings);

/// What every part of a generation reads.
struct Ctx<'a, 'b> {
    minor: u32,
    gen: usize,
    counts: ArgCounts,
    t: &'b Tables<'a>,
    /// What earlier generations left (read only).
    prior: &'b GTable,
    /// Goroutines whose blocks to log (pass two).
    log: &'b FxHashSet<u64>,
}

/// What one group of threads contributes to a generation.
struct Part {
    /// For each batch decoded (pass one): the goroutine its M ran when the
    /// batch began, and the goroutines that blocked or unblocked in it.
    batch_starts: Vec<((u64, u64), GMask)>,
    gs: GTable,
    reasons: Reasons,
    m_g: MBindings,
    wire_events: u64,
    min_ts: u64,
    max_ts: u64,
}

/// A set of goroutines folded into 256 bits (id mod 256): which batches may
/// mention a goroutine.
#[derive(Default, Clone, Copy)]
struct GMask([u64; 4]);

impl GMask {
    #[inline]
    #[allow(clippy::indexing_slicing, reason = "the word index is masked to 0..=3, the array's length")]
    fn add(&mut self, g: u64) {
        self.0[(g as usize >> 6) & 3] |= 1 << (g & 63);
    }
    fn intersects(&self, o: &GMask) -> bool {
        self.0.iter().zip(o.0.iter()).any(|(a, b)| a & b != 0)
    }
}

/// Decoding state carried from one generation to the next.
struct Decoder {
    minor: u32,
    gs: GTable,
    m_g: MBindings,
    reasons: Reasons,
    threads: Vec<u64>,
    wire_events: u64,
    cpu_samples: u64,
    min_ts: u64,
    max_ts: u64,
    freq: u64,
    first_generation: Option<u64>,
    generations: usize,
    /// Stacks resolved so far, shared across generations.
    interned: std::sync::Arc<super::wire::Interned>,
}

impl Decoder {
    /// Adds a part's accumulators (or, `logs_only`, its block logs) to the decoder's.
    fn absorb(&mut self, part: Part, logs_only: bool) {
        let ids: Vec<u32> = part.reasons.names().iter().map(|n| self.reasons.intern(n.as_bytes())).collect();
        self.gs.absorb(part.gs, &ids);
        if !logs_only {
            self.m_g.0.extend(part.m_g.0);
            self.wire_events = self.wire_events.saturating_add(part.wire_events);
            self.min_ts = self.min_ts.min(part.min_ts);
            self.max_ts = self.max_ts.max(part.max_ts);
        }
    }

    /// Decodes one complete generation.
    /// Decodes one complete generation; with `require_frequency`, one
    /// without a frequency event is cut short: it is left out (returns false).
    fn generation(
        &mut self,
        gen: &[Batch<'_>],
        release: &mut dyn FnMut(std::ops::Range<usize>),
        require_frequency: bool,
    ) -> Result<bool, TraceError> {
        let mut t = Tables { interned: std::sync::Arc::clone(&self.interned), ..Tables::default() };
        for batch in gen.iter().filter(|b| !b.experimental) {
            read_tables(batch, &mut t)?;
        }
        if require_frequency && t.freq.is_none() {
            return Ok(false);
        }
        let gi = self.generations;
        self.gs.gen = gi;
        self.gs.reason_mode = ReasonMode::Paired;
        self.generations = self.generations.saturating_add(1);
        if self.first_generation.is_none() {
            self.first_generation = gen.first().map(|b| b.gen);
        }
        if let Some(f) = t.freq {
            self.freq = f;
        }
        self.cpu_samples = self.cpu_samples.saturating_add(t.cpu_samples);
        // Each M's batches, in file order (which is that M's time order).
        let mut by_m: Vec<(u64, Vec<&Batch<'_>>, usize)> = Vec::new();
        for batch in gen.iter().filter(|b| !b.experimental && is_event_batch(b)) {
            if batch.m != NO_THREAD && !self.threads.contains(&batch.m) {
                self.threads.push(batch.m);
            }
            match by_m.iter_mut().find(|(m, _, _)| *m == batch.m) {
                Some((_, v, n)) => {
                    v.push(batch);
                    *n = n.saturating_add(batch.data.len());
                }
                None => by_m.push((batch.m, vec![batch], batch.data.len())),
            }
        }
        let total: usize = by_m.iter().map(|g| g.2).sum();
        let nparts =
            if total < PARALLEL_MIN_BYTES { 1 } else { rayon::current_num_threads().clamp(1, by_m.len().max(1)) };
        // Largest groups first, each to the lightest part.
        by_m.sort_by_key(|g| std::cmp::Reverse(g.2));
        let mut groups: Vec<(Vec<u64>, Vec<&Batch<'_>>, usize)> = (0..nparts).map(|_| (vec![], vec![], 0)).collect();
        for (m, batches, n) in by_m {
            if let Some(p) = groups.iter_mut().min_by_key(|p| p.2) {
                p.0.push(m);
                p.1.extend(batches);
                p.2 = p.2.saturating_add(n);
            }
        }
        let work: Vec<Work<'_, '_>> = groups
            .into_iter()
            .map(|(ms, batches, _)| (batches.into_iter().map(|b| (b, None)).collect(), self.m_g.take(&ms)))
            .collect();
        let batches_of: Vec<Vec<&Batch<'_>>> = work.iter().map(|w| w.0.iter().map(|b| b.0).collect()).collect();
        let none = FxHashSet::default();
        let cx =
            Ctx { minor: self.minor, gen: gi, counts: ArgCounts::new(self.minor), t: &t, prior: &self.gs, log: &none };
        let parts = run_parts(work, |(batches, m_g)| decode_part::<false>(&cx, &batches, m_g));
        let mut starts = Vec::with_capacity(parts.len());
        for part in parts {
            let mut part = part?;
            starts.push(std::mem::take(&mut part.batch_starts));
            self.absorb(part, false);
        }
        let unknown = self.reasons.intern(b"");
        let mixed = self.gs.settle_blocks(unknown);
        if !mixed.is_empty() {
            // Some goroutines blocked for different reasons: decode again the
            // batches that may mention them, logging their blocks.
            let log: FxHashSet<u64> = mixed.iter().copied().collect();
            let mut want = GMask::default();
            mixed.iter().for_each(|&g| want.add(g));
            let work: Vec<Work<'_, '_>> = batches_of
                .into_iter()
                .zip(starts)
                .map(|(batches, starts)| {
                    let again = batches
                        .into_iter()
                        .zip(starts)
                        .filter(|(_, (_, mask))| mask.intersects(&want))
                        .map(|(b, (start, _))| (b, Some(start)))
                        .collect();
                    (again, MBindings::default())
                })
                .collect();
            let cx = Ctx {
                minor: self.minor,
                gen: gi,
                counts: ArgCounts::new(self.minor),
                t: &t,
                prior: &self.gs,
                log: &log,
            };
            let parts = run_parts(work, |(batches, m_g)| decode_part::<true>(&cx, &batches, m_g));
            for part in parts {
                self.absorb(part?, true);
            }
            self.gs.pair_blocks(&mixed, unknown);
        }
        if let (Some(first), Some(last)) = (gen.first(), gen.last()) {
            release(first.offset.saturating_sub(64)..last.offset.saturating_add(last.data.len()));
        }
        // Stack ids are per generation: resolve each goroutine's newest one now.
        for a in self.gs.values_mut() {
            if let Some((ts, id)) = a.pending_stack.take() {
                let frames = t.stack(id);
                if !frames.is_empty() && ts >= a.last_stack.0 {
                    a.last_stack = (ts, frames);
                }
            }
        }
        Ok(true)
    }
}

/// Runs `f` on each piece of work, in parallel when there are several.
fn run_parts<W: Send, R: Send>(work: Vec<W>, f: impl Fn(W) -> R + Sync + Send) -> Vec<R> {
    if work.len() > 1 {
        work.into_par_iter().map(f).collect()
    } else {
        work.into_iter().map(f).collect()
    }
}

/// Decodes the batches of some threads of generation `gen` (index in the
/// file) into accumulators of their own; `prior` is what earlier generations
/// left.
fn decode_part<const LOG: bool>(
    cx: &Ctx<'_, '_>,
    batches: &[(&Batch<'_>, Option<(u64, u64)>)],
    m_g: MBindings,
) -> Result<Part, TraceError> {
    let mut gs = GTable::default();
    (gs.gen, gs.reason_mode, gs.watch) = (cx.gen, ReasonMode::Paired, cx.prior.watch.clone());
    let mut part = Part {
        batch_starts: Vec::with_capacity(if LOG { 0 } else { batches.len() }),
        gs,
        reasons: Reasons::default(),
        m_g,
        wire_events: 0,
        min_ts: u64::MAX,
        max_ts: 0,
    };
    let mut reason_ids = FxHashMap::default();
    for &(batch, start) in batches {
        if let Some((g, seq)) = start {
            part.m_g.set(batch.m, g, seq);
        }
        let at_start = part.m_g.get(batch.m);
        let mut mask = GMask::default();
        part.wire_events =
            part.wire_events.saturating_add(events::<LOG>(cx, batch, &mut part, &mut reason_ids, &mut mask)?);
        if !LOG {
            part.batch_starts.push((at_start, mask));
        }
    }
    Ok(part)
}

/// Reads a whole trace.
pub fn read(b: &[u8]) -> Result<TraceSummary, TraceError> {
    read_releasing(b, &mut |_| {})
}

/// Reads a whole trace, calling `release` with each generation's byte range
/// once it is decoded (the caller can drop those pages of its memory map).
pub fn read_releasing(b: &[u8], release: &mut dyn FnMut(std::ops::Range<usize>)) -> Result<TraceSummary, TraceError> {
    read_with(b, release, None)
}

/// Reads a whole trace, keeping the last transitions of the goroutines in
/// `watch` (`last_events`, and the latest [`TIMELINE_KEPT`] as their
/// `timeline`), e.g. those a core's map findings name.
pub fn read_watching(b: &[u8], watch: &[u64]) -> Result<TraceSummary, TraceError> {
    read_watching_keeping(b, watch, TIMELINE_KEPT)
}

/// As [`read_watching`], keeping the latest `keep` transitions of each
/// watched goroutine for its timeline (32 bytes each while reading).
pub fn read_watching_keeping(b: &[u8], watch: &[u64], keep: usize) -> Result<TraceSummary, TraceError> {
    let w = Watch { ids: watch.iter().copied().collect(), keep: keep.max(RECENT) };
    read_with(b, &mut |_| {}, Some(std::sync::Arc::new(w)))
}

fn read_with(
    b: &[u8],
    release: &mut dyn FnMut(std::ops::Range<usize>),
    watch: Option<std::sync::Arc<Watch>>,
) -> Result<TraceSummary, TraceError> {
    let minor = header_version(b)?;
    if minor == 21 {
        return super::v1::read(b, watch);
    }
    if !matches!(minor, 22 | 23 | 25 | 26) {
        return Err(TraceError::Unsupported(minor));
    }
    let mut c = Cursor { b: b.get(16..).unwrap_or_default(), pos: 0, base: 16 };
    let mut gs = GTable::default();
    gs.watch = watch;
    let mut d = Decoder {
        minor,
        gs,
        m_g: MBindings::default(),
        reasons: Reasons::default(),
        threads: Vec::new(),
        wire_events: 0,
        cpu_samples: 0,
        min_ts: u64::MAX,
        max_ts: 0,
        freq: 0,
        first_generation: None,
        generations: 0,
        interned: Default::default(),
    };
    let mut cur: Vec<Batch<'_>> = Vec::new();
    let mut warnings = Vec::new();
    let mut ended_cleanly = true;
    while !c.eof() {
        let res: Result<Option<Batch<'_>>, TraceError> = (|| {
            let t = c.byte()?;
            match t {
                0x01 | 0x31 => {
                    let experimental = t == 0x31;
                    if experimental {
                        c.byte()?;
                    }
                    let gen = c.uvarint()?;
                    let m = c.uvarint()?;
                    let ts = c.uvarint()?;
                    let size = c.uvarint()?;
                    if size > 1 << 20 {
                        return Err(c.err(format!("batch size {size} exceeds the format's limit")));
                    }
                    let offset = c.base.saturating_add(c.pos);
                    let data = c.bytes(size)?;
                    Ok(Some(Batch { gen, m, ts, data, offset, experimental }))
                }
                0x34 if minor >= 26 => Ok(None),
                t => Err(c.err(format!("unknown batch type {t:#x}"))),
            }
        })();
        match res {
            Ok(Some(batch)) => {
                if minor < 26 && cur.last().is_some_and(|l: &Batch<'_>| l.gen != batch.gen) {
                    d.generation(&std::mem::take(&mut cur), release, false)?;
                }
                cur.push(batch);
                ended_cleanly = minor < 26;
            }
            Ok(None) => {
                d.generation(&std::mem::take(&mut cur), release, false)?;
                ended_cleanly = true;
            }
            Err(e) => {
                warnings.push(format!("{e}; the trace is cut short: the generation in progress is dropped"));
                cur.clear();
                ended_cleanly = true;
                break;
            }
        }
    }
    if !cur.is_empty() {
        if minor >= 26 && !ended_cleanly {
            warnings
                .push("the last generation has no end-of-generation marker (trace truncated); it is dropped".into());
        } else if !d.generation(&cur, release, minor < 26)? {
            // Before the go 1.26 format a generation ends with its frequency
            // event (1.25: in its sync batch); without it the file was cut.
            warnings.push("the last generation has no frequency event (trace truncated); it is dropped".into());
        }
    }
    let Decoder {
        gs,
        reasons,
        threads,
        wire_events,
        cpu_samples,
        min_ts,
        max_ts,
        freq,
        first_generation,
        generations,
        ..
    } = d;
    let first_generation = first_generation.unwrap_or(0);

    Ok(summarize(
        format!("go1.{minor}"),
        Counts { wire_events, cpu_samples, generations: generations as u64, first_generation, min_ts, max_ts, freq },
        gs,
        &reasons,
        warnings,
        threads,
    ))
}

fn status(v: u64) -> GoState {
    match v {
        1 => GoState::Runnable,
        2 => GoState::Running,
        3 => GoState::Syscall,
        4 => GoState::Waiting,
        _ => GoState::Undetermined,
    }
}

/// Decodes one batch's events into `part`; returns how many there were.
/// With `LOG`, only logs the blocked-interval entries and exits of the
/// goroutines in `log` (see [`Blocks`](super::account::Blocks)).
fn events<const LOG: bool>(
    cx: &Ctx<'_, '_>,
    batch: &Batch<'_>,
    part: &mut Part,
    reason_ids: &mut FxHashMap<u64, u32>,
    mask: &mut GMask,
) -> Result<u64, TraceError> {
    let Ctx { minor, t, prior, log, ref counts, .. } = *cx;
    let Part { gs, reasons, m_g, min_ts, max_ts, .. } = part;
    // The goroutine this M runs (and its sequence number), and the batch's
    // time range, kept in locals while the batch is decoded.
    let mut on = m_g.get(batch.m);
    let (mut lo, mut hi) = (*min_ts, *max_ts);
    let mut last_reason: Option<(u64, u32)> = None;
    let mut c = Cursor { b: batch.data, pos: 0, base: batch.offset };
    let mut ts = batch.ts;
    let mut n = 0u64;
    let m = batch.m;
    let thread = (m != NO_THREAD).then_some(m);
    let mut on_p = m_g.p(m);
    let unknown = reasons.intern(b"");
    let coroutine = reasons.intern(b"coroutine");
    let mut args = [0u64; 8];
    // Logs an entry to Waiting (LOG only).
    let enter = |gs: &mut GTable, g: u64, seq: u64, r: u32| {
        if log.contains(&g) {
            gs.get(g).blocks.entry_log.push((seq, r));
        }
    };
    let exit = |gs: &mut GTable, g: u64, seq: u64, ts: u64| {
        if log.contains(&g) {
            gs.get(g).blocks.exit_log.push((seq, ts));
        }
    };
    while !c.eof() {
        let ev = c.byte()?;
        let k =
            counts.get(ev).ok_or_else(|| c.err(format!("unknown event type {ev:#x} for trace version go1.{minor}")))?;
        for a in args.iter_mut().take(k) {
            *a = c.uvarint()?;
        }
        ts = ts.wrapping_add(args[0]);
        n = n.saturating_add(1);
        let (cur, cur_seq) = on;
        if !LOG {
            lo = lo.min(ts);
            hi = hi.max(ts);
        }
        use GoState::*;
        match ev {
            0x2f if LOG => enter(gs, args[1], 0, unknown),
            0x0e if LOG => {}
            0x0e | 0x2f => {
                // GoCreate / GoCreateBlocked
                let new_g = args[1];
                let (to, reason) = if ev == 0x2f { (Waiting, Some(unknown)) } else { (Runnable, None) };
                // From NotExist: no interval to close (accounted as from Undetermined).
                let a = transition(gs, new_g, ts, Undetermined, to, reason, 0, None);
                a.came_from(NotExist);
                if let Some(r) = reason {
                    a.blocks.enter(r);
                    mask.add(new_g);
                }
                a.start_function = t.first_function(args[2]);
                a.created_by = Some(CreatedBy { goroutine: (cur != 0).then_some(cur), stack: t.stack(args[3]) });
            }
            0x0f => {
                // GoCreateSyscall: a cgo callback's goroutine appears in a syscall on this M.
                if !LOG {
                    transition(gs, args[1], ts, Undetermined, Syscall, None, 0, ran_on(thread, on_p));
                }
                on = (args[1], 0);
            }
            0x10 => {
                if !LOG {
                    transition(gs, args[1], ts, Runnable, Running, None, 0, ran_on(thread, on_p));
                }
                on = (args[1], args[2]);
            }
            0x11 | 0x12 => {
                if !LOG {
                    let from = if ev == 0x12 { Syscall } else { Running };
                    transition(gs, cur, ts, from, NotExist, None, 0, None);
                }
                on = (0, 0);
            }
            0x13 => {
                if !LOG {
                    transition(gs, cur, ts, Running, Runnable, None, args[2], None);
                }
                on = (0, 0);
            }
            0x14 => {
                let r = match last_reason {
                    Some((id, r)) if id == args[1] => r,
                    _ => {
                        let r = match reason_ids.get(&args[1]) {
                            Some(&r) => r,
                            None => {
                                let r = reasons.intern(t.strings.get(&args[1]).copied().unwrap_or(b""));
                                reason_ids.insert(args[1], r);
                                r
                            }
                        };
                        last_reason = Some((args[1], r));
                        r
                    }
                };
                if LOG {
                    enter(gs, cur, cur_seq, r);
                } else {
                    transition(gs, cur, ts, Running, Waiting, Some(r), args[2], None).blocks.enter(r);
                    mask.add(cur);
                }
                on = (0, 0);
            }
            0x15 if LOG => exit(gs, args[1], args[2], ts),
            0x15 => {
                transition(gs, args[1], ts, Waiting, Runnable, None, 0, None).blocks.exit(ts);
                mask.add(args[1]);
            }
            0x16 | 0x17 if LOG => {}
            0x16 => {
                transition(gs, cur, ts, Running, Syscall, None, args[2], None);
            }
            0x17 => {
                transition(gs, cur, ts, Syscall, Running, None, 0, None);
            }
            0x18 => {
                if !LOG {
                    transition(gs, cur, ts, Syscall, Runnable, None, 0, None);
                }
                // (Its P was taken while it was in the syscall; a ProcStart
                // before this event says which P the M holds now.)
                on = (0, 0);
            }
            0x0a => on_p = Some(args[1]),                 // ProcStart: this M acquires P
            0x0b => on_p = None,                          // ProcStop
            0x0c if args[3] == m => on_p = None,          // ProcSteal from this M itself
            0x0d if args[2] == 1 => on_p = Some(args[1]), // ProcStatus: running on this M
            0x19 | 0x30 => {
                // GoStatus / GoStatusStack: a resync, a transition only the first time we see the goroutine.
                let (g, gm, st) = (args[1], args[2], status(args[3]));
                let stack = if ev == 0x30 { args[4] } else { 0 };
                let gen = gs.gen;
                let known_before = prior.peek(g).is_some_and(|a| a.first_gen.is_some_and(|f| (f as usize) < gen));
                let a = gs.get(g);
                let first = !known_before && !a.status_counted;
                a.status_counted = true;
                // Go's parser reports every status event as a transition: from
                // Undetermined when the goroutine was not known from an earlier
                // generation, else from the same state (no time moves).
                if LOG {
                    if first && st == Waiting {
                        enter(gs, g, 0, unknown);
                    }
                } else if first {
                    let reason = (st == Waiting).then_some(unknown);
                    let here = if st == Running { ran_on(thread, on_p) } else { None };
                    let a = transition(gs, g, ts, Undetermined, st, reason, stack, here);
                    if let Some(r) = reason {
                        a.blocks.enter(r);
                        mask.add(g);
                    }
                } else {
                    a.first_gen.get_or_insert(u32::try_from(gen).unwrap_or(u32::MAX));
                    status_again(a, ts, st, stack);
                    if let Some(r) = ran_on(thread, on_p).filter(|_| st == Running) {
                        a.ran(ts, r);
                    }
                }
                if st == Running || (st == Syscall && gm == m) {
                    on = (g, 0);
                }
            }
            0x2d | 0x2e => {
                // GoSwitch / GoSwitchDestroy: the current goroutine yields (or ends) to g.
                if LOG {
                    if ev == 0x2d {
                        enter(gs, cur, cur_seq, coroutine);
                    }
                    exit(gs, args[1], args[2], ts);
                } else {
                    if ev == 0x2e {
                        transition(gs, cur, ts, Running, NotExist, None, 0, None);
                    } else {
                        transition(gs, cur, ts, Running, Waiting, Some(coroutine), 0, None).blocks.enter(coroutine);
                    }
                    transition(gs, args[1], ts, Waiting, Running, None, 0, ran_on(thread, on_p)).blocks.exit(ts);
                    mask.add(cur);
                    mask.add(args[1]);
                }
                on = (args[1], args[2]);
            }
            _ => {}
        }
    }
    m_g.set(m, on.0, on.1);
    m_g.set_p(m, on_p);
    (*min_ts, *max_ts) = (lo, hi);
    Ok(n)
}

/// Where a goroutine starting to run on this M runs.
#[inline]
fn ran_on(thread: Option<u64>, p: Option<u64>) -> Option<RanOn> {
    thread.map(|thread| RanOn { thread, p })
}

/// A status event for a goroutine already known: one more transition, from
/// its state to the same (no time moves).
fn status_again(a: &mut GAcc, ts: u64, st: GoState, stack: u64) {
    a.status_counted = true;
    a.count_transition();
    if ts >= a.last.0 {
        a.last = (ts, st);
    }
    if stack != 0 && a.pending_stack.is_none_or(|(t, _)| ts >= t) {
        a.pending_stack = Some((ts, stack));
    }
}
