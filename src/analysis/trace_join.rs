//! Joins an execution trace with a core of the same process: each goroutine
//! of the core gets its trace history (same goroutine id), and map findings
//! get the last trace facts of the goroutines they name. Goroutine ids are
//! never reused in a process, so they join exactly — when the trace and the
//! core come from the same process, which is checked (goroutine ids and thread
//! ids must line up).

use super::Finding;
use crate::runtime::goroutines::Goroutines;
use crate::runtime::Process;
use crate::trace::{TraceGoroutine, TraceSummary};
use std::collections::{BTreeMap, HashMap};

/// The result of a join.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct TraceJoin {
    /// The trace's header version.
    pub trace_version: String,
    /// Core goroutines that appear in the trace.
    pub matched_goroutines: usize,
    /// Core threads (LWP ids) that wrote trace batches.
    pub matched_threads: usize,
    /// Nanoseconds between the trace's first and last event (the span its
    /// goroutines' timelines cover).
    #[serde(default)]
    pub duration_ns: u64,
    /// Trace history by goroutine id, for the core's goroutines.
    pub goroutines: BTreeMap<u64, TraceGoroutine>,
    /// Doubts about the pairing.
    pub warnings: Vec<String>,
}

/// Joins `t` with the goroutines of a core and annotates `findings`.
pub fn join(p: &Process, gs: &Goroutines, t: &TraceSummary, findings: &mut [Finding]) -> TraceJoin {
    let by_id: HashMap<u64, &TraceGoroutine> = t.goroutines.iter().map(|g| (g.id, g)).collect();
    let mut out = TraceJoin {
        trace_version: t.trace_version.clone(),
        matched_goroutines: 0,
        matched_threads: 0,
        duration_ns: t.duration_ns,
        goroutines: BTreeMap::new(),
        warnings: Vec::new(),
    };
    for g in &gs.list {
        if let Some(tg) = by_id.get(&g.id) {
            out.matched_goroutines = out.matched_goroutines.saturating_add(1);
            out.goroutines.insert(g.id, (*tg).clone());
        }
    }
    // 1.22+ traces name OS threads (the core's LWP ids); 1.21 traces name runtime Ms.
    out.matched_threads = if t.thread_ids == "runtime-m" {
        gs.ms.iter().filter(|m| t.threads.contains(&(m.id as u64))).count()
    } else {
        p.core.threads.iter().filter(|th| t.threads.contains(&(th.lwp as u64))).count()
    };
    let max_core = gs.list.iter().map(|g| g.id).max().unwrap_or(0);
    let max_trace = t.goroutines.iter().map(|g| g.id).max().unwrap_or(0);
    if out.matched_threads == 0 && !t.threads.is_empty() {
        out.warnings.push(
            "none of the core's threads wrote to the trace: the trace probably comes from another process".into(),
        );
    }
    if max_trace > max_core && max_core > 0 {
        out.warnings.push(format!(
            "the trace has goroutine {max_trace} but the core's highest goroutine id is {max_core}: the trace is not from this process (ids are never reused)"
        ));
    }
    for f in findings.iter_mut() {
        for r in &f.goroutines {
            if let Some(tg) = by_id.get(&r.id) {
                let top = tg
                    .last_stack
                    .first()
                    .map(|fr| format!(" at {} ({}:{})", fr.function, fr.file, fr.line))
                    .unwrap_or_default();
                f.evidence.push(format!(
                    "trace: goroutine {} was last {:?}{top}; ran {:.3} ms, blocked {:.3} ms, {} transitions",
                    r.id,
                    tg.state_at_end,
                    tg.running_ns as f64 / 1e6,
                    tg.blocked_ns as f64 / 1e6,
                    tg.transitions
                ));
                if !tg.last_events.is_empty() {
                    let events: Vec<String> = tg
                        .last_events
                        .iter()
                        .map(|e| {
                            let why = e.reason.as_deref().filter(|r| !r.is_empty()).map(|r| format!(" ({r})"));
                            format!(
                                "{:.3} ms {:?}→{:?}{}",
                                e.time_ns as f64 / 1e6,
                                e.from,
                                e.to,
                                why.unwrap_or_default()
                            )
                        })
                        .collect();
                    f.evidence.push(format!("trace: goroutine {}'s last events: {}", r.id, events.join(", ")));
                }
            }
        }
    }
    out
}
