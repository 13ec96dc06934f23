//! The one analysis entry point: every subcommand, the TUI and the scan call
//! [`analyze`] on an open [`Process`].

use super::goroutine::Goroutine;
use super::{Analysis, MapsAnalysis, Target, SCHEMA_VERSION};
use crate::analysis::{self, maps::MapAnalysis};
use crate::runtime::goroutines::{read_goroutines, read_goroutines_with, ReadOptions};
use crate::runtime::maps::iterators::{IteratorScan, IteratorVisitor};
use crate::runtime::{crash, Process};
use crate::warning::{Warning, WarningKind};
use std::path::PathBuf;

/// Where a trace to join comes from.
#[derive(Clone, Debug)]
pub enum TraceSource {
    /// A trace file of the same process.
    File(PathBuf),
    /// The trace the core still holds (flight recorder, unflushed buffers).
    FromCore,
}

/// What [`analyze`] does.
#[derive(Clone, Debug, Default)]
pub struct AnalyzeOptions {
    /// Keep dead goroutines.
    pub include_dead: bool,
    /// Skip the map and iterator analysis.
    pub no_maps: bool,
    /// Read map entries (cores hold secrets: off by default).
    pub show_values: bool,
    /// Join an execution trace.
    pub trace: Option<TraceSource>,
}

/// Most entries read per map with `show_values`.
const ENTRIES_PER_MAP: usize = 1000;

/// A step of the analysis, for progress reports.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Reading goroutines and unwinding their stacks.
    Goroutines,
    /// Working out how the process died.
    Crash,
    /// Maps and iterators.
    Maps,
    /// Reading and joining the trace.
    Trace,
    /// Assembling the owned model.
    Model,
}

impl Phase {
    /// What the phase does, for a progress line.
    pub fn describe(self) -> &'static str {
        match self {
            Phase::Goroutines => "reading goroutines and their stacks",
            Phase::Crash => "working out how the process died",
            Phase::Maps => "analyzing maps and iterators",
            Phase::Trace => "reading the trace",
            Phase::Model => "assembling the report",
        }
    }
}

/// Told as the analysis moves on (a progress line, a TUI's status bar).
pub trait Progress: Sync {
    /// A phase begins.
    fn phase(&self, _phase: Phase) {}
}

/// No progress reports.
pub struct NoProgress;
impl Progress for NoProgress {}

/// Analyzes an open process: goroutines and stacks, the crash, maps and
/// iterators with their findings, an optional trace. Problems that leave
/// part of the truth standing are warnings in the result; only a process
/// whose goroutines cannot be listed at all is an error.
pub fn analyze(p: &Process, o: &AnalyzeOptions, progress: &dyn Progress) -> crate::Result<Analysis> {
    progress.phase(Phase::Goroutines);
    // The map model is built once: the iterator scan, the map analysis and
    // the entries share it.
    let model = if o.no_maps { None } else { Some(analysis::maps::model(p)) };
    let read = ReadOptions { include_dead: o.include_dead };
    let (mut gs, scan) = match model.as_ref().and_then(|m| m.as_ref().ok()) {
        Some(m) => {
            let (gs, parts) = read_goroutines_with(p, read, &IteratorVisitor { p, model: m })?;
            (gs, Some(IteratorScan::merge(parts)))
        }
        None => (read_goroutines(p, read)?, None),
    };
    progress.phase(Phase::Crash);
    let mut c = crash::detect(p, &gs);
    progress.phase(Phase::Maps);
    let mut m = match &model {
        None => MapAnalysis::default(),
        Some(Err(e)) => MapAnalysis {
            warnings: vec![Warning::new(WarningKind::Maps, format!("maps not analyzed: {e}"))],
            ..Default::default()
        },
        Some(Ok(model)) => {
            let mut m = analysis::maps::analyze_with(p, &gs, &c, model, scan);
            let minor = Some(p.go_major_minor().1);
            analysis::likely_writer::name_likely_writers(&gs.list, &mut m.findings, minor);
            analysis::map_names::attach(p, &gs, &mut m);
            if o.show_values {
                analysis::maps::attach_entries_with(p, &mut m, model, ENTRIES_PER_MAP);
            }
            // The map analysis read stacks and maps again: their pages go
            // back to the page cache before the report is built.
            p.release_core_pages();
            m
        }
    };
    let maps_analysis = match &model {
        None => MapsAnalysis::Skipped,
        Some(Ok(_)) => MapsAnalysis::Done,
        Some(Err(_)) => MapsAnalysis::Unavailable,
    };
    let mut warnings = p.warnings.clone();
    warnings.append(&mut gs.warnings);
    warnings.append(&mut m.warnings);
    let trace = match &o.trace {
        None => None,
        Some(source) => {
            progress.phase(Phase::Trace);
            // The goroutines the map findings name, and the crashing one:
            // their last trace events and timelines are kept.
            let watch: Vec<u64> =
                m.findings.iter().flat_map(|f| f.goroutines.iter().map(|g| g.id)).chain(c.goroutine).collect();
            match read_trace(p, source, &watch, crate::trace::TIMELINE_KEPT) {
                Ok(t) => {
                    let j = analysis::trace_join::join(p, &gs, &t, &mut m.findings);
                    warnings.extend(j.warnings.iter().map(|w| Warning::new(WarningKind::Trace, w.clone())));
                    Some(j)
                }
                Err(e) => {
                    warnings.push(Warning::new(WarningKind::Trace, format!("trace not joined: {e}")));
                    None
                }
            }
        }
    };
    // A signal from outside: each M's block of the runtime's printout.
    let from_outside = c.kind == crate::runtime::crash::CrashKind::SigquitDump
        || (c.kind == crate::runtime::crash::CrashKind::Signal && c.received_signal.is_some());
    let signal_handlers = if from_outside { crate::runtime::signal_dump::handled_signals(p, &gs) } else { Vec::new() };
    progress.phase(Phase::Model);
    let goroutines: Vec<Goroutine> = gs.list;
    let target = Target::of(p);
    let minor = target.go_minor();
    let mut a = Analysis {
        schema_version: SCHEMA_VERSION.into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        target,
        crash: {
            c.user_frame = None;
            c
        },
        clock_ns: gs.clock_ns,
        goroutines,
        maps_analysis,
        maps: m.maps,
        iterators: m.iterators,
        findings: m.findings,
        dead_iterator_slots: m.dead_iterator_slots,
        trace,
        warnings,
        signal_handlers,
        core_alone: None,
    };
    a.crash.user_frame = a.crashing_goroutine().and_then(|g| g.user_frame(minor));
    place_roles(&mut a, minor);
    Ok(a)
}

/// Fills each finding goroutine's `function`, `frame_index` and `user_frame`.
fn place_roles(a: &mut Analysis, minor: Option<u32>) {
    let by_id: rustc_hash::FxHashMap<u64, usize> = a.goroutines.iter().enumerate().map(|(i, g)| (g.id, i)).collect();
    for f in &mut a.findings {
        for r in &mut f.goroutines {
            let Some(g) = by_id.get(&r.id).and_then(|&i| a.goroutines.get(i)) else { continue };
            r.function = r.frame.clone();
            r.frame_index = r.frame.as_deref().and_then(|name| g.frames.iter().position(|fr| &*fr.function == name));
            r.user_frame = g.user_frame(minor);
        }
    }
}

/// Reads the trace again for one goroutine's full history (its last events
/// and timeline, which [`analyze`] keeps only for the goroutines it names):
/// `None` when the goroutine is not in the trace.
pub fn trace_goroutine(
    p: &Process,
    source: &TraceSource,
    goroutine: u64,
) -> Result<Option<crate::trace::TraceGoroutine>, String> {
    let t = read_trace(p, source, &[goroutine], HISTORY_KEPT)?;
    Ok(t.goroutines.into_iter().find(|g| g.id == goroutine))
}

/// How many transitions of one goroutine [`trace_goroutine`] keeps: its
/// whole history but for the busiest (64 MiB at most while reading: up to twice as many are held before the oldest go).
const HISTORY_KEPT: usize = 1 << 20;

fn read_trace(
    p: &Process,
    source: &TraceSource,
    watch: &[u64],
    keep: usize,
) -> Result<crate::trace::TraceSummary, String> {
    match source {
        TraceSource::File(f) => {
            let (map, _) = crate::corefile::map_file(f).map_err(|e| e.to_string())?;
            crate::trace::read_watching_keeping(&map, watch, keep).map_err(|e| format!("{}: {e}", f.display()))
        }
        TraceSource::FromCore => {
            let rec = crate::runtime::flight::recover(p).map_err(|e| format!("{}: {e}", p.core.path.display()))?;
            crate::trace::read_watching_keeping(&rec.bytes, watch, keep)
                .map_err(|e| format!("{}: recovered trace: {e}", p.core.path.display()))
        }
    }
}
