//! The generation format of Go 1.22+ (`go 1.22`, `go 1.23` from 1.23/1.24,
//! `go 1.25`, `go 1.26` from 1.26/1.27).

use super::{header_version, TraceError};
use rustc_hash::FxHashMap;
use std::collections::HashMap;

/// A goroutine state in the trace's terms.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GoState {
    /// Not known yet (before its first event).
    #[default]
    Undetermined,
    /// Runnable.
    Runnable,
    /// Running.
    Running,
    /// In a syscall.
    Syscall,
    /// Blocked.
    Waiting,
    /// Exited.
    NotExist,
}

const STATES: [GoState; 6] =
    [GoState::Undetermined, GoState::Runnable, GoState::Running, GoState::Syscall, GoState::Waiting, GoState::NotExist];

pub(super) fn state_index(s: GoState) -> usize {
    STATES.iter().position(|x| *x == s).unwrap_or(0)
}

/// A stack frame of the trace.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TraceFrame {
    /// Function.
    pub function: String,
    /// File.
    pub file: String,
    /// Line.
    pub line: u64,
    /// PC (a return address − 1 in the trace's encoding).
    pub pc: u64,
}

/// What the trace says about one goroutine.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TraceGoroutine {
    /// Goroutine id.
    pub id: u64,
    /// The function it started in (from its creation event), if created in the trace.
    pub start_function: Option<String>,
    /// The goroutine running the `go` statement, and its stack (null when it
    /// existed before the trace began).
    pub created_by: Option<CreatedBy>,
    /// Its last state.
    pub state_at_end: GoState,
    /// Stack of its last event that had one.
    pub last_stack: Vec<TraceFrame>,
    /// Nanoseconds spent running.
    pub running_ns: u64,
    /// Nanoseconds runnable.
    pub runnable_ns: u64,
    /// Nanoseconds blocked, total.
    pub blocked_ns: u64,
    /// Blocked time by reason.
    pub blocked_by_reason: HashMap<String, u64>,
    /// Nanoseconds in syscalls.
    pub syscall_ns: u64,
    /// State transitions.
    pub transitions: u64,
    /// OS thread id of the M it last ran on.
    pub last_thread: Option<u64>,
}

/// The creator of a goroutine.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CreatedBy {
    /// Parent goroutine id (0 when created outside any goroutine).
    pub goroutine: u64,
    /// Creation stack.
    pub stack: Vec<TraceFrame>,
}

/// The summary of a trace.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TraceSummary {
    /// The header's version, e.g. `go1.26`.
    pub trace_version: String,
    /// Events as Go's parser presents them (`go tool trace -d=parsed` prints one
    /// `M=…` line each): timed events, CPU samples, and a Sync event per
    /// generation plus a final one.
    pub events: u64,
    /// Timed events decoded from M batches.
    pub wire_events: u64,
    /// CPU samples.
    pub cpu_samples: u64,
    /// Generations read.
    pub generations: u64,
    /// First generation number in the file (not 1 for flight-recorder output).
    pub first_generation: u64,
    /// Nanoseconds between the first and the last event.
    pub duration_ns: u64,
    /// Goroutines, by id.
    pub goroutines: Vec<TraceGoroutine>,
    /// What could not be read (a truncated last generation, …).
    pub warnings: Vec<String>,
    /// Thread ids that wrote events: OS thread ids (`m.procid`) in the 1.22+
    /// formats, the runtime's M ids (`m.id`) in Go 1.21's (see `thread_ids`).
    pub threads: Vec<u64>,
    /// `os` or `runtime-m`: what `threads` (and `last_thread`) hold.
    pub thread_ids: &'static str,
}

pub(super) struct Cursor<'a> {
    pub(super) b: &'a [u8],
    pub(super) pos: usize,
    pub(super) base: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn err(&self, what: impl Into<String>) -> TraceError {
        TraceError::Malformed { offset: self.base + self.pos, what: what.into() }
    }
    pub(super) fn eof(&self) -> bool {
        self.pos >= self.b.len()
    }
    pub(super) fn byte(&mut self) -> Result<u8, TraceError> {
        let v = *self.b.get(self.pos).ok_or_else(|| self.err("unexpected end"))?;
        self.pos += 1;
        Ok(v)
    }
    #[inline]
    pub(super) fn uvarint(&mut self) -> Result<u64, TraceError> {
        if let Some(&c) = self.b.get(self.pos) {
            if c < 0x80 {
                self.pos += 1;
                return Ok(c as u64);
            }
        }
        self.uvarint_slow()
    }

    fn uvarint_slow(&mut self) -> Result<u64, TraceError> {
        let mut x = 0u64;
        for i in 0..10 {
            let c = self.byte()?;
            if i == 9 && c > 1 {
                return Err(self.err("varint overflows 64 bits"));
            }
            x |= ((c & 0x7f) as u64) << (7 * i);
            if c & 0x80 == 0 {
                return Ok(x);
            }
        }
        Err(self.err("varint longer than 10 bytes"))
    }
    pub(super) fn bytes(&mut self, n: u64) -> Result<&'a [u8], TraceError> {
        let n = usize::try_from(n).map_err(|_| self.err("length too large"))?;
        let end =
            self.pos.checked_add(n).filter(|&e| e <= self.b.len()).ok_or_else(|| self.err("data runs past the end"))?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }
}

/// Number of arguments of each event type of `minor`'s format; `None` for types
/// the format does not have.
fn arg_count(minor: u32, ev: u8) -> Option<usize> {
    let n = match ev {
        0x09 => 3,                                     // ProcsChange dt procs stack
        0x0a => 3,                                     // ProcStart dt p p_seq
        0x0b => 1,                                     // ProcStop
        0x0c => 4,                                     // ProcSteal dt p p_seq m
        0x0d => 3,                                     // ProcStatus dt p status
        0x0e => 4,                                     // GoCreate dt new_g new_stack stack
        0x0f => 2,                                     // GoCreateSyscall dt new_g
        0x10 => 3,                                     // GoStart dt g g_seq
        0x11 | 0x12 => 1,                              // GoDestroy, GoDestroySyscall
        0x13 | 0x14 => 3,                              // GoStop, GoBlock dt reason stack
        0x15 => 4,                                     // GoUnblock dt g g_seq stack
        0x16 => 3,                                     // GoSyscallBegin dt p_seq stack
        0x17 | 0x18 => 1,                              // GoSyscallEnd, GoSyscallEndBlocked
        0x19 => 4,                                     // GoStatus dt g m status
        0x1a => 3,                                     // STWBegin dt kind stack
        0x1b => 1,                                     // STWEnd
        0x1c => 2,                                     // GCActive dt seq
        0x1d => 3,                                     // GCBegin dt seq stack
        0x1e => 2,                                     // GCEnd dt seq
        0x1f => 2,                                     // GCSweepActive dt p
        0x20 => 2,                                     // GCSweepBegin dt stack
        0x21 => 3,                                     // GCSweepEnd dt swept reclaimed
        0x22 => 2,                                     // GCMarkAssistActive dt g
        0x23 => 2,                                     // GCMarkAssistBegin dt stack
        0x24 => 1,                                     // GCMarkAssistEnd
        0x25 | 0x26 => 2,                              // HeapAlloc, HeapGoal
        0x27 => 2,                                     // GoLabel dt label
        0x28 => 5,                                     // UserTaskBegin dt task parent name stack
        0x29 => 3,                                     // UserTaskEnd dt task stack
        0x2a | 0x2b => 4,                              // UserRegionBegin/End dt task name stack
        0x2c => 5,                                     // UserLog dt task key value stack
        0x2d | 0x2e if minor >= 23 => 3,               // GoSwitch, GoSwitchDestroy dt g g_seq
        0x2f if minor >= 23 => 4,                      // GoCreateBlocked
        0x30 if minor >= 23 => 5,                      // GoStatusStack dt g m status stack
        0x80 | 0x81 if minor >= 23 => 4,               // Span, SpanAlloc dt id npages kindclass
        0x82 | 0x85 | 0x88 if minor >= 23 => 2,        // SpanFree, HeapObjectFree, GoroutineStackFree dt id
        0x83 | 0x84 | 0x86 | 0x87 if minor >= 23 => 3, // HeapObject(Alloc), GoroutineStack(Alloc) dt id x
        _ => return None,
    };
    Some(n)
}

/// String and stack tables (a generation's, or a whole v1 trace's).
#[derive(Default)]
pub(super) struct Tables<'a> {
    pub(super) cpu_samples: u64,
    pub(super) strings: HashMap<u64, &'a [u8]>,
    pub(super) stacks: HashMap<u64, Vec<(u64, u64, u64, u64)>>,
    pub(super) freq: Option<u64>,
}

impl Tables<'_> {
    pub(super) fn string(&self, id: u64) -> String {
        self.strings.get(&id).map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default()
    }
    pub(super) fn stack(&self, id: u64) -> Vec<TraceFrame> {
        self.stacks
            .get(&id)
            .map(|fs| {
                fs.iter()
                    .map(|&(pc, func, file, line)| TraceFrame {
                        function: self.string(func),
                        file: self.string(file),
                        line,
                        pc,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A batch: where its data is in the file.
struct Batch<'a> {
    gen: u64,
    m: u64,
    ts: u64,
    data: &'a [u8],
    offset: usize,
    experimental: bool,
}

/// Per-goroutine accumulation.
#[derive(Default)]
pub(super) struct GAcc {
    pub(super) start_function: Option<String>,
    pub(super) created_by: Option<CreatedBy>,
    /// Σ exits − Σ entries per state, in trace ticks (i128 to hold both signs).
    acc: [i128; 6],
    /// Entries per state (to close open intervals at the end).
    open: [i64; 6],
    /// Blocked time by interned reason id.
    blocked_reason: Vec<(u32, i128)>,
    last: (u64, GoState),
    /// Last stack, resolved at the end of its generation: (ts, frames).
    pub(super) last_stack: (u64, Vec<TraceFrame>),
    /// Newest stack of the current generation, not yet resolved: (ts, stack id).
    pub(super) pending_stack: Option<(u64, u64)>,
    transitions: u64,
    last_thread: Option<u64>,
    blocked_since_reason: Option<u32>,
    /// Generation (index in the file) in which it was first seen.
    first_gen: Option<usize>,
    /// Its status event already counted as a transition.
    pub(super) status_counted: bool,
    /// v1: stack id of the start function, resolved at the end.
    pub(super) pending_start: Option<u64>,
    /// v1: stack id of the creation, resolved at the end.
    pub(super) pending_creation_stack: Option<u64>,
}

const NO_THREAD: u64 = u64::MAX;

/// Goroutine accumulators: dense by id (ids are small and never reused),
/// with a map for outliers.
#[derive(Default)]
pub(super) struct GTable {
    dense: Vec<Option<GAcc>>,
    sparse: FxHashMap<u64, GAcc>,
}

const DENSE_IDS: u64 = 1 << 22;

impl GTable {
    #[inline]
    pub(super) fn get(&mut self, g: u64) -> &mut GAcc {
        if g < DENSE_IDS {
            let i = g as usize;
            if i >= self.dense.len() {
                self.dense.resize_with((i + 1).next_power_of_two(), || None);
            }
            self.dense[i].get_or_insert_with(GAcc::default)
        } else {
            self.sparse.entry(g).or_default()
        }
    }

    pub(super) fn values_mut(&mut self) -> impl Iterator<Item = &mut GAcc> {
        self.dense.iter_mut().flatten().chain(self.sparse.values_mut())
    }

    pub(super) fn into_iter(self) -> impl Iterator<Item = (u64, GAcc)> {
        self.dense.into_iter().enumerate().filter_map(|(i, a)| a.map(|a| (i as u64, a))).chain(self.sparse)
    }
}

/// The goroutine each M is running (few Ms: a vector beats a map).
#[derive(Default)]
struct MBindings(Vec<(u64, u64)>);

impl MBindings {
    #[inline]
    fn get(&self, m: u64) -> u64 {
        self.0.iter().find(|(k, _)| *k == m).map_or(0, |(_, g)| *g)
    }
    #[inline]
    fn set(&mut self, m: u64, g: u64) {
        match self.0.iter_mut().find(|(k, _)| *k == m) {
            Some(e) => e.1 = g,
            None => self.0.push((m, g)),
        }
    }
    #[inline]
    fn clear(&mut self, m: u64) {
        self.set(m, 0);
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
}

impl Decoder {
    /// Decodes one complete generation.
    fn generation(
        &mut self,
        gen: &[Batch<'_>],
        release: &mut dyn FnMut(std::ops::Range<usize>),
    ) -> Result<(), TraceError> {
        let gi = self.generations;
        self.generations += 1;
        if self.first_generation.is_none() {
            self.first_generation = gen.first().map(|b| b.gen);
        }
        let mut t = Tables::default();
        for batch in gen.iter().filter(|b| !b.experimental) {
            read_tables(batch, &mut t)?;
        }
        if let Some(f) = t.freq {
            self.freq = f;
        }
        self.cpu_samples += t.cpu_samples;
        let mut reason_ids = FxHashMap::default();
        for batch in gen.iter().filter(|b| !b.experimental && is_event_batch(b)) {
            if batch.m != NO_THREAD && !self.threads.contains(&batch.m) {
                self.threads.push(batch.m);
            }
            self.wire_events += events(
                self.minor,
                gi,
                batch,
                &t,
                &mut self.gs,
                &mut self.m_g,
                &mut self.reasons,
                &mut reason_ids,
                &mut self.min_ts,
                &mut self.max_ts,
            )?;
        }
        if let (Some(first), Some(last)) = (gen.first(), gen.last()) {
            release(first.offset.saturating_sub(64)..last.offset + last.data.len());
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
        Ok(())
    }
}

/// Reads a whole trace.
pub fn read(b: &[u8]) -> Result<TraceSummary, TraceError> {
    read_releasing(b, &mut |_| {})
}

/// Reads a whole trace, calling `release` with each generation's byte range
/// once it is decoded (the caller can drop those pages of its memory map).
pub fn read_releasing(b: &[u8], release: &mut dyn FnMut(std::ops::Range<usize>)) -> Result<TraceSummary, TraceError> {
    let minor = header_version(b)?;
    if minor == 21 {
        return super::v1::read(b);
    }
    if !matches!(minor, 22 | 23 | 25 | 26) {
        return Err(TraceError::Unsupported(minor));
    }
    let mut c = Cursor { b: &b[16..], pos: 0, base: 16 };
    let mut d = Decoder {
        minor,
        gs: GTable::default(),
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
                    let offset = c.base + c.pos;
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
                    d.generation(&std::mem::take(&mut cur), release)?;
                }
                cur.push(batch);
                ended_cleanly = minor < 26;
            }
            Ok(None) => {
                d.generation(&std::mem::take(&mut cur), release)?;
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
        } else {
            d.generation(&cur, release)?;
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
    let mut goroutines: Vec<TraceGoroutine> = gs
        .into_iter()
        .filter(|(id, _)| *id != 0)
        .map(|(id, mut a)| {
            // Close intervals still open at the end of the trace.
            for (i, n) in a.open.iter().enumerate() {
                a.acc[i] += *n as i128 * max_ts as i128;
            }
            if let Some(r) = a.blocked_since_reason.take() {
                add_reason(&mut a.blocked_reason, r, max_ts as i128);
            }
            TraceGoroutine {
                id,
                start_function: a.start_function,
                created_by: a.created_by,
                state_at_end: a.last.1,
                last_stack: a.last_stack.1,
                running_ns: to_ns(a.acc[state_index(GoState::Running)]),
                runnable_ns: to_ns(a.acc[state_index(GoState::Runnable)]),
                blocked_ns: to_ns(a.acc[state_index(GoState::Waiting)]),
                syscall_ns: to_ns(a.acc[state_index(GoState::Syscall)]),
                blocked_by_reason: a
                    .blocked_reason
                    .into_iter()
                    .filter(|(_, v)| *v > 0)
                    .map(|(k, v)| (reasons.names.get(k as usize).cloned().unwrap_or_default(), to_ns(v)))
                    .collect(),
                transitions: a.transitions,
                last_thread: a.last_thread,
            }
        })
        .collect();
    goroutines.sort_by_key(|g| g.id);
    TraceSummary {
        trace_version,
        events: wire_events + cpu_samples + if generations == 0 { 0 } else { generations + 1 },
        wire_events,
        cpu_samples,
        generations,
        first_generation,
        duration_ns: if max_ts >= min_ts { to_ns((max_ts - min_ts) as i128) } else { 0 },
        goroutines,
        warnings,
        threads,
        thread_ids: "os",
    }
}

fn is_event_batch(b: &Batch<'_>) -> bool {
    !matches!(b.data.first(), Some(0x02 | 0x04 | 0x06 | 0x08 | 0x32) | None)
}

fn read_tables<'a>(batch: &Batch<'a>, t: &mut Tables<'a>) -> Result<(), TraceError> {
    let mut c = Cursor { b: batch.data, pos: 0, base: batch.offset };
    match batch.data.first() {
        Some(0x04) => {
            c.byte()?;
            while !c.eof() {
                if c.byte()? != 0x05 {
                    return Err(c.err("expected a string in the strings batch"));
                }
                let id = c.uvarint()?;
                let len = c.uvarint()?;
                if len > 1 << 16 {
                    return Err(c.err("string too long"));
                }
                let s = c.bytes(len)?;
                t.strings.insert(id, s);
            }
        }
        Some(0x02) => {
            c.byte()?;
            while !c.eof() {
                if c.byte()? != 0x03 {
                    return Err(c.err("expected a stack in the stacks batch"));
                }
                let id = c.uvarint()?;
                let n = c.uvarint()?;
                if n > 1024 {
                    return Err(c.err("stack too deep"));
                }
                let mut frames = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    frames.push((c.uvarint()?, c.uvarint()?, c.uvarint()?, c.uvarint()?));
                }
                t.stacks.insert(id, frames);
            }
        }
        Some(0x08) => {
            c.byte()?;
            t.freq = Some(c.uvarint()?);
        }
        Some(0x06) => {
            c.byte()?;
            while !c.eof() {
                if c.byte()? != 0x07 {
                    return Err(c.err("expected a CPU sample"));
                }
                for _ in 0..5 {
                    c.uvarint()?;
                }
                t.cpu_samples += 1;
            }
        }
        Some(0x32) => {
            c.byte()?;
            while !c.eof() {
                match c.byte()? {
                    0x08 => t.freq = Some(c.uvarint()?),
                    0x33 => {
                        for _ in 0..4 {
                            c.uvarint()?;
                        }
                    }
                    x => return Err(c.err(format!("unexpected event {x:#x} in a sync batch"))),
                }
            }
        }
        _ => {}
    }
    Ok(())
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

/// Records a transition of `g` at `ts` from `from` to `to`; `stack` is a
/// stack id of the current generation (0: none).
#[allow(clippy::too_many_arguments)]
pub(super) fn transition(
    gs: &mut GTable,
    g: u64,
    ts: u64,
    from: GoState,
    to: GoState,
    reason: Option<u32>,
    stack: u64,
    thread: Option<u64>,
) {
    let a = gs.get(g);
    a.transitions += 1;
    if from != GoState::Undetermined {
        a.acc[state_index(from)] += ts as i128;
        a.open[state_index(from)] -= 1;
    }
    if from == GoState::Waiting {
        if let Some(r) = a.blocked_since_reason.take() {
            add_reason(&mut a.blocked_reason, r, ts as i128);
        }
    }
    if to != GoState::NotExist {
        a.acc[state_index(to)] -= ts as i128;
        a.open[state_index(to)] += 1;
    }
    if to == GoState::Waiting {
        let r = reason.unwrap_or(0);
        add_reason(&mut a.blocked_reason, r, -(ts as i128));
        a.blocked_since_reason = Some(r);
    }
    if ts >= a.last.0 {
        a.last = (ts, to);
    }
    if stack != 0 && a.pending_stack.is_none_or(|(t, _)| ts >= t) {
        a.pending_stack = Some((ts, stack));
    }
    if thread.is_some() {
        a.last_thread = thread;
    }
}

pub(super) fn add_reason(v: &mut Vec<(u32, i128)>, r: u32, d: i128) {
    match v.iter_mut().find(|(k, _)| *k == r) {
        Some((_, x)) => *x += d,
        None => v.push((r, d)),
    }
}

/// Interned block reasons (strings are per generation; reasons repeat).
#[derive(Default)]
pub(super) struct Reasons {
    names: Vec<String>,
    ids: HashMap<Vec<u8>, u32>,
}

impl Reasons {
    pub(super) fn intern(&mut self, b: &[u8]) -> u32 {
        if let Some(&i) = self.ids.get(b) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(String::from_utf8_lossy(b).into_owned());
        self.ids.insert(b.to_vec(), i);
        i
    }
}

#[allow(clippy::too_many_arguments)]
fn events(
    minor: u32,
    gen: usize,
    batch: &Batch<'_>,
    t: &Tables<'_>,
    gs: &mut GTable,
    m_g: &mut MBindings,
    reasons: &mut Reasons,
    reason_ids: &mut FxHashMap<u64, u32>,
    min_ts: &mut u64,
    max_ts: &mut u64,
) -> Result<u64, TraceError> {
    let mut c = Cursor { b: batch.data, pos: 0, base: batch.offset };
    let mut ts = batch.ts;
    let mut n = 0u64;
    let m = batch.m;
    let thread = (m != NO_THREAD).then_some(m);
    let mut args = [0u64; 8];
    while !c.eof() {
        let ev = c.byte()?;
        let k = arg_count(minor, ev)
            .ok_or_else(|| c.err(format!("unknown event type {ev:#x} for trace version go1.{minor}")))?;
        for a in args.iter_mut().take(k) {
            *a = c.uvarint()?;
        }
        ts = ts.wrapping_add(args[0]);
        *min_ts = (*min_ts).min(ts);
        *max_ts = (*max_ts).max(ts);
        n += 1;
        let cur = m_g.get(m);
        // Remember the generation in which each goroutine the event names first appears.
        if matches!(ev, 0x0e | 0x0f | 0x10 | 0x15 | 0x19 | 0x2d | 0x2e | 0x2f | 0x30) && args[1] != 0 {
            gs.get(args[1]).first_gen.get_or_insert(gen);
        }
        if cur != 0 {
            gs.get(cur).first_gen.get_or_insert(gen);
        }
        use GoState::*;
        match ev {
            0x0e | 0x2f => {
                // GoCreate / GoCreateBlocked
                let new_g = args[1];
                let start = t.stack(args[2]);
                let to = if ev == 0x2f { Waiting } else { Runnable };
                // From NotExist: no interval to close (accounted as from Undetermined).
                transition(gs, new_g, ts, Undetermined, to, None, 0, None);
                let a = gs.get(new_g);
                a.start_function = start.first().map(|f| f.function.clone());
                a.created_by = Some(CreatedBy { goroutine: cur, stack: t.stack(args[3]) });
            }
            0x0f => {
                // GoCreateSyscall: a cgo callback's goroutine appears in a syscall on this M.
                transition(gs, args[1], ts, Undetermined, Syscall, None, 0, thread);
                m_g.set(m, args[1]);
            }
            0x10 => {
                transition(gs, args[1], ts, Runnable, Running, None, 0, thread);
                m_g.set(m, args[1]);
            }
            0x11 | 0x12 => {
                let from = if ev == 0x12 { Syscall } else { Running };
                transition(gs, cur, ts, from, NotExist, None, 0, None);
                m_g.clear(m);
            }
            0x13 => {
                transition(gs, cur, ts, Running, Runnable, None, args[2], None);
                m_g.clear(m);
            }
            0x14 => {
                let r = *reason_ids
                    .entry(args[1])
                    .or_insert_with(|| reasons.intern(t.strings.get(&args[1]).copied().unwrap_or(b"")));
                transition(gs, cur, ts, Running, Waiting, Some(r), args[2], None);
                m_g.clear(m);
            }
            0x15 => transition(gs, args[1], ts, Waiting, Runnable, None, 0, None),
            0x16 => transition(gs, cur, ts, Running, Syscall, None, args[2], None),
            0x17 => transition(gs, cur, ts, Syscall, Running, None, 0, None),
            0x18 => {
                transition(gs, cur, ts, Syscall, Runnable, None, 0, None);
                m_g.clear(m);
            }
            0x19 | 0x30 => {
                // GoStatus / GoStatusStack: a resync, a transition only the first time we see the goroutine.
                let (g, gm, st) = (args[1], args[2], status(args[3]));
                let stack = if ev == 0x30 { args[4] } else { 0 };
                let a = gs.get(g);
                // Go's parser reports every status event as a transition: from
                // Undetermined when the goroutine was not known from an earlier
                // generation, else from the same state (no time moves).
                if !a.status_counted && a.first_gen.is_none_or(|f| f == gen) {
                    a.status_counted = true;
                    transition(gs, g, ts, Undetermined, st, None, stack, None);
                } else {
                    a.status_counted = true;
                    a.transitions += 1;
                    if ts >= a.last.0 {
                        a.last = (ts, st);
                    }
                    if stack != 0 && a.pending_stack.is_none_or(|(t, _)| ts >= t) {
                        a.pending_stack = Some((ts, stack));
                    }
                }
                if st == Running || (st == Syscall && gm == m) {
                    m_g.set(m, g);
                }
            }
            0x2d | 0x2e => {
                // GoSwitch / GoSwitchDestroy: the current goroutine yields (or ends) to g.
                let to = if ev == 0x2e { NotExist } else { Waiting };
                let r = reasons.intern(b"coroutine");
                transition(gs, cur, ts, Running, to, Some(r), 0, None);
                transition(gs, args[1], ts, Waiting, Running, None, 0, thread);
                m_g.set(m, args[1]);
            }
            _ => {}
        }
    }
    Ok(n)
}
