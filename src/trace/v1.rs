//! The legacy format of Go 1.21 (`go 1.21 trace`): one flat stream of per-P
//! batches, strings inline, the stack table and the clock frequency at the
//! very end. Goroutine transitions follow Go's own conversion of this format
//! (internal/trace's v1 converter): goroutines found at trace start become
//! status events until the first `Gomaxprocs`, a syscall that did not block is
//! a begin and an end, block events carry the converter's reason strings.

use super::account::{summarize, transition, Counts, GTable, RanOn, Reasons};
use super::model::{GoState, TraceSummary};
use super::wire::{Cursor, Tables};
use super::TraceError;
use rustc_hash::FxHashMap;
use std::collections::HashMap;

const EV_BATCH: u8 = 1;
const EV_FREQUENCY: u8 = 2;
const EV_STACK: u8 = 3;
const EV_STRING: u8 = 37;
const EV_TIMER_GOROUTINE: u8 = 35;
const EV_USER_LOG: u8 = 48;
const EV_CPU_SAMPLE: u8 = 49;
const EV_COUNT: u8 = 50;

/// Event types whose last argument is a stack id (Go's `EventDescriptions[...].Stack`).
fn has_stack(t: u8) -> bool {
    matches!(t, 4 | 7 | 11 | 13 | 16..=28 | 39 | 42 | 43 | 45..=49)
}

/// Per-P state.
#[derive(Default)]
struct PState {
    cur: u64,
    /// The M running this P (from its ProcStart).
    m: Option<u64>,
    /// A syscall of the current goroutine whose outcome (blocked or not) is not known yet.
    pending_syscall: Option<(u64, u64, u64)>, // (g, ts, stack)
}

/// A decoded event: type, P of its batch, absolute timestamp (for timed events).
struct Raw {
    typ: u8,
    p: u64,
    ts: u64,
}

/// Walks the raw event stream: batches set the P and base time, strings go
/// into `strings`, every other event comes out with its arguments in `args`.
struct RawEvents<'a> {
    c: Cursor<'a>,
    p: u64,
    ts: u64,
}

impl<'a> RawEvents<'a> {
    fn new(b: &'a [u8]) -> Self {
        // The caller checked the 16-byte header; a shorter input reads as empty.
        RawEvents { c: Cursor { b: b.get(16..).unwrap_or_default(), pos: 0, base: 16 }, p: u64::MAX, ts: 0 }
    }

    /// The next non-string, non-batch event; `None` at the end.
    fn next(&mut self, args: &mut Vec<u64>, strings: &mut HashMap<u64, &'a [u8]>) -> Result<Option<Raw>, TraceError> {
        let c = &mut self.c;
        while !c.eof() {
            let byte = c.byte()?;
            let (typ, narg) = (byte & 0x3f, (byte >> 6).saturating_add(1));
            if typ == 0 || typ >= EV_COUNT {
                return Err(c.err(format!("unknown event type {typ}")));
            }
            match typ {
                EV_STRING => {
                    let id = c.uvarint()?;
                    let len = c.uvarint()?;
                    if len > 1_000_000 {
                        return Err(c.err("string too long"));
                    }
                    strings.insert(id, c.bytes(len)?);
                    continue;
                }
                EV_BATCH => {
                    self.p = c.uvarint()?;
                    self.ts = c.uvarint()?;
                    continue;
                }
                _ => {}
            }
            args.clear();
            if narg <= 3 {
                for _ in 0..narg {
                    args.push(c.uvarint()?);
                }
            } else {
                let len = c.uvarint()?;
                if len > 1 << 20 {
                    return Err(c.err("argument block too long"));
                }
                let end = c.pos.saturating_add(len as usize);
                while c.pos < end {
                    args.push(c.uvarint()?);
                }
            }
            if typ == EV_USER_LOG {
                let len = c.uvarint()?;
                c.bytes(len)?;
            }
            if !matches!(typ, EV_FREQUENCY | EV_STACK | EV_TIMER_GOROUTINE) {
                self.ts = self.ts.wrapping_add(args.first().copied().unwrap_or(0));
            }
            return Ok(Some(Raw { typ, p: self.p, ts: self.ts }));
        }
        Ok(None)
    }
}

/// Time of the first `Gomaxprocs` event: the end of the trace-start snapshot.
/// Batches are in flush order, not time order, so this needs its own pass.
fn first_gomaxprocs(b: &[u8]) -> u64 {
    let mut r = RawEvents::new(b);
    let (mut args, mut strings) = (Vec::new(), HashMap::new());
    let mut first = u64::MAX;
    while let Ok(Some(ev)) = r.next(&mut args, &mut strings) {
        if ev.typ == 4 {
            first = first.min(ev.ts);
        }
    }
    first
}

/// Settles a syscall once it is known whether it blocked: Go's converter makes
/// a blocked one a begin, the others a begin and an end. Returns the events made.
fn resolve_syscall(gs: &mut GTable, (g, ts, stack): (u64, u64, u64), blocked: bool) -> u64 {
    transition(gs, g, ts, GoState::Running, GoState::Syscall, None, stack, None);
    if blocked {
        return 1;
    }
    // Go's converter ends it 1 ns later, finer than a tick: the time moves
    // from Running to Syscall after conversion.
    let a = transition(gs, g, ts, GoState::Syscall, GoState::Running, None, 0, None);
    a.quick_syscalls = a.quick_syscalls.saturating_add(1);
    2
}

/// Reads a whole Go 1.21 trace.
pub fn read(b: &[u8], watch: Option<std::sync::Arc<super::account::Watch>>) -> Result<TraceSummary, TraceError> {
    let snapshot_end = first_gomaxprocs(b);
    let mut raw = RawEvents::new(b);
    let mut t = Tables::default();
    let mut gs = GTable::default();
    gs.watch = watch;
    let mut reasons = Reasons::default();
    let mut ps: FxHashMap<u64, PState> = FxHashMap::default();
    let (mut min_ts, mut max_ts) = (u64::MAX, 0u64);
    let mut events = 0u64;
    let mut cpu_samples = 0u64;
    let mut flushed = false;
    let mut created_pre_init: Vec<u64> = Vec::new();
    let mut threads: Vec<u64> = Vec::new();
    let mut warnings = Vec::new();
    let mut args: Vec<u64> = Vec::with_capacity(8);
    loop {
        let res: Result<bool, TraceError> = (|| {
            let Some(Raw { typ, p, ts }) = raw.next(&mut args, &mut t.strings)? else { return Ok(false) };
            match typ {
                EV_FREQUENCY => {
                    t.freq = args.first().copied();
                    return Ok(true);
                }
                EV_STACK => {
                    // [id, n, {pc, func, file, line}×n]
                    if let (Some(&id), Some(&n)) = (args.first(), args.get(1)) {
                        let frames = args
                            .get(2..)
                            .unwrap_or_default()
                            .chunks_exact(4)
                            .take(n as usize)
                            .filter_map(|f| match *f {
                                [pc, func, file, line] => Some((pc, func, file, line)),
                                _ => None,
                            })
                            .collect();
                        t.stacks.insert(id, frames);
                    }
                    return Ok(true);
                }
                EV_TIMER_GOROUTINE => return Ok(true),
                _ => {}
            }
            // CPU samples are not state changes: Go's parser places the trace's
            // end at its last event, not at a later sample.
            if typ != EV_CPU_SAMPLE {
                min_ts = min_ts.min(ts);
                max_ts = max_ts.max(ts);
            }
            let a = |i: usize| args.get(i).copied().unwrap_or(0);
            let stk = if has_stack(typ) { args.last().copied().unwrap_or(0) } else { 0 };
            let st = ps.entry(p).or_default();
            // A syscall is resolved by the goroutine's next event on this P.
            if let Some(pending) = st.pending_syscall.take() {
                events = events.saturating_add(resolve_syscall(&mut gs, pending, typ == 30 && st.cur == pending.0));
            }
            let cur = st.cur;
            use GoState::*;
            let pre_init = ts < snapshot_end;
            let mut block = |gs: &mut GTable, r: &str, ts: u64| {
                let id = reasons.intern(r.as_bytes());
                transition(gs, cur, ts, Running, Waiting, Some(id), stk, None);
            };
            events = events.saturating_add(1);
            match typ {
                5 => {
                    if !threads.contains(&a(1)) {
                        threads.push(a(1));
                    }
                    ps.entry(p).or_default().m = Some(a(1));
                }
                4 if ts == snapshot_end && !flushed => {
                    // The first Gomaxprocs ends the trace-start snapshot: goroutines created
                    // then with no other status are runnable.
                    flushed = true;
                    events = events.saturating_sub(1);
                    for g in created_pre_init.drain(..) {
                        let acc = gs.get(g);
                        if !acc.status_counted {
                            acc.status_counted = true;
                            transition(&mut gs, g, ts, Undetermined, Runnable, None, 0, None);
                            events = events.saturating_add(1);
                        }
                    }
                }
                13 => {
                    let (g, start) = (a(1), a(2));
                    if pre_init {
                        created_pre_init.push(g);
                        gs.get(g).pending_start = start;
                        events = events.saturating_sub(1);
                    } else {
                        transition(&mut gs, g, ts, Undetermined, Runnable, None, 0, None);
                        let acc = gs.get(g);
                        acc.pending_start = start;
                        acc.created_by = Some(super::model::CreatedBy {
                            goroutine: (cur != 0).then_some(cur),
                            stack: Default::default(),
                        });
                        acc.pending_creation_stack = stk;
                    }
                }
                14 | 38 | 41 => {
                    let g = a(1);
                    let here = ps.get(&p).and_then(|s| s.m).map(|thread| RanOn { thread, p: Some(p) });
                    if pre_init {
                        let acc = gs.get(g);
                        acc.status_counted = true;
                        transition(&mut gs, g, ts, Undetermined, Running, None, 0, here);
                        created_pre_init.retain(|x| *x != g);
                    } else {
                        transition(&mut gs, g, ts, Runnable, Running, None, 0, here);
                    }
                    if typ == 41 {
                        events = events.saturating_add(1); // the label event the converter adds
                    }
                    ps.entry(p).or_default().cur = g;
                }
                15 => {
                    transition(&mut gs, cur, ts, Running, NotExist, None, 0, None);
                    ps.entry(p).or_default().cur = 0;
                }
                16 => {
                    block(&mut gs, "forever", ts);
                    ps.entry(p).or_default().cur = 0;
                }
                17 | 18 => {
                    let r = reasons.intern(if typ == 17 { b"runtime.Gosched" } else { b"preempted" });
                    transition(&mut gs, cur, ts, Running, Runnable, Some(r), stk, None);
                    ps.entry(p).or_default().cur = 0;
                }
                19 | 20 | 22..=27 | 42 => {
                    let r = match typ {
                        19 => "sleep",
                        22 => "chan send",
                        23 => "chan receive",
                        24 => "select",
                        25 => "sync",
                        26 => "sync.(*Cond).Wait",
                        27 => "network",
                        42 => "GC mark assist wait for work",
                        _ => "",
                    };
                    block(&mut gs, r, ts);
                    ps.entry(p).or_default().cur = 0;
                }
                21 | 39 => {
                    transition(&mut gs, a(1), ts, Waiting, Runnable, None, 0, None);
                }
                28 => {
                    events = events.saturating_sub(1); // counted when resolved
                    ps.entry(p).or_default().pending_syscall = Some((cur, ts, stk));
                }
                29 | 40 => {
                    transition(&mut gs, a(1), ts, Syscall, Runnable, None, 0, None);
                }
                30 => {
                    events = events.saturating_sub(1); // GoSysBlock: folded into the syscall
                    ps.entry(p).or_default().cur = 0;
                }
                31 | 32 => {
                    let g = a(1);
                    let acc = gs.get(g);
                    acc.status_counted = true;
                    // Blocked since before the trace: Go gives no reason.
                    let reason = (typ == 31).then(|| reasons.intern(b""));
                    transition(
                        &mut gs,
                        g,
                        ts,
                        Undetermined,
                        if typ == 31 { Waiting } else { Syscall },
                        reason,
                        0,
                        None,
                    );
                    created_pre_init.retain(|x| *x != g);
                }
                36 => events = events.saturating_sub(1), // FutileWakeup: dropped by Go's parser
                EV_CPU_SAMPLE => cpu_samples = cpu_samples.saturating_add(1),
                _ => {}
            }
            Ok(true)
        })();
        match res {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                warnings.push(format!("{e}; the rest of the trace is lost"));
                break;
            }
        }
    }
    // A syscall with no later event of its goroutine did not block (as Go's converter decides).
    for st in ps.values_mut() {
        if let Some(pending) = st.pending_syscall.take() {
            events = events.saturating_add(resolve_syscall(&mut gs, pending, false));
        }
    }
    if t.freq.is_none() {
        warnings.push("no clock frequency and no stack table: a Go 1.21 trace writes them last, so this one was cut short; times are in ticks as 0 and stacks are missing".into());
    }
    // Resolve stacks and start functions now that the tables are known.
    let stack = |id: u64| t.stack(id);
    for acc in gs.values_mut() {
        if let Some((t, id)) = acc.pending_stack.take() {
            let frames = stack(id);
            if !frames.is_empty() {
                acc.last_stack = (t, frames);
            }
        }
        let (start, creation) =
            (std::mem::take(&mut acc.pending_start), std::mem::take(&mut acc.pending_creation_stack));
        if start != 0 {
            acc.start_function = t.first_function(start);
        }
        if let (true, Some(cb)) = (creation != 0, acc.created_by.as_mut()) {
            cb.stack = stack(creation);
        }
    }
    let wire_events = events.saturating_sub(cpu_samples);
    let mut summary = summarize(
        "go1.21".into(),
        Counts {
            wire_events,
            cpu_samples,
            generations: 1,
            first_generation: 1,
            min_ts,
            max_ts,
            freq: t.freq.unwrap_or(0),
        },
        gs,
        &reasons,
        warnings,
        threads,
    );
    summary.thread_ids = "runtime-m";
    Ok(summary)
}
