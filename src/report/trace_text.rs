//! The text view of a trace: a summary, then goroutines grouped by where they
//! last stood (state and top frame).

use crate::trace::{GoState, TraceSummary};
use std::collections::BTreeMap;
use std::io::{self, Write};

/// Writes the summary.
pub fn write(w: &mut dyn Write, t: &TraceSummary) -> io::Result<()> {
    writeln!(
        w,
        "trace {}: {} events in {} generations (first {}), {:.3} s, {} goroutines",
        t.trace_version,
        t.events,
        t.generations,
        t.first_generation,
        t.duration_ns as f64 / 1e9,
        t.goroutines.len()
    )?;
    for x in &t.warnings {
        writeln!(w, "warning: {x}")?;
    }
    let mut groups: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
    for g in &t.goroutines {
        let state =
            serde_json::to_value(g.state_at_end).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
        let top = g
            .last_stack
            .first()
            .map(|f| format!("{} ({}:{})", f.function, f.file, f.line))
            .unwrap_or_else(|| "(no stack)".into());
        groups.entry((state, top)).or_default().push(g.id);
    }
    for ((state, top), ids) in &groups {
        writeln!(w, "\n{} goroutine(s) {state} at {top}", ids.len())?;
        let shown: Vec<String> = ids.iter().take(30).map(|i| i.to_string()).collect();
        writeln!(w, "  ids: {}{}", shown.join(", "), if ids.len() > 30 { " …" } else { "" })?;
    }
    let busiest = t
        .goroutines
        .iter()
        .filter(|g| g.state_at_end != GoState::NotExist || g.running_ns > 0)
        .max_by_key(|g| g.running_ns);
    if let Some(g) = busiest {
        writeln!(
            w,
            "\nbusiest: goroutine {} ran {:.3} ms ({})",
            g.id,
            g.running_ns as f64 / 1e6,
            g.start_function.as_deref().unwrap_or("?")
        )?;
    }
    Ok(())
}

/// Writes the trace summary as JSON (`docs/trace.schema.json`): one shape
/// whether the trace came from a file or was recovered from a core.
pub fn write_json(w: &mut dyn Write, t: &TraceSummary) -> io::Result<()> {
    #[derive(serde::Serialize)]
    struct Doc<'a> {
        schema_version: &'static str,
        trace_version: &'a str,
        events: u64,
        generations: u64,
        first_generation: u64,
        duration_ns: u64,
        thread_ids: &'a str,
        goroutines: &'a [crate::trace::TraceGoroutine],
        warnings: &'a [String],
    }
    let doc = Doc {
        schema_version: super::SCHEMA_VERSION,
        trace_version: &t.trace_version,
        events: t.events,
        generations: t.generations,
        first_generation: t.first_generation,
        duration_ns: t.duration_ns,
        thread_ids: t.thread_ids,
        goroutines: &t.goroutines,
        warnings: &t.warnings,
    };
    serde_json::to_writer(&mut *w, &doc)?;
    writeln!(w)
}
