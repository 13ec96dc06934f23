//! The human-readable report of `gotopsy analyze`: what died and how, the
//! crashing goroutine in full, then every other goroutine grouped by identical
//! stacks (as panicparse groups them), largest group first.

use super::traceback::{write_goroutine, Style};
use super::Report;
use crate::runtime::goroutines::{Goroutine, Goroutines};
use std::collections::HashMap;
use std::io::{self, Write};

/// Writes the text report.
pub fn write(
    w: &mut dyn Write,
    r: &Report<'_>,
    gs: &Goroutines<'_>,
    style: Style,
    leaked_status: Option<u32>,
) -> io::Result<()> {
    let t = &r.target;
    writeln!(w, "gotopsy {} — core {}", r.tool_version, t.core)?;
    writeln!(
        w,
        "program  {} ({}{}{}), pid {}",
        t.executable,
        t.go_version,
        t.goexperiment.as_deref().map(|e| format!(", GOEXPERIMENT={e}")).unwrap_or_default(),
        if t.pie { ", PIE" } else { "" },
        t.pid.map(|p| p.to_string()).unwrap_or_else(|| "?".into())
    )?;
    let c = r.crash;
    write!(w, "crash    {}", c.kind)?;
    if let Some(m) = &c.message {
        write!(w, ": {m}")?;
    }
    if let Some(g) = c.goroutine {
        write!(w, " (goroutine {g})")?;
    }
    if let Some(s) = &c.signal {
        write!(w, "; core written on {}", s.name)?;
    }
    writeln!(w)?;
    if let Some(f) = &c.fault {
        writeln!(w, "fault    {} code={:#x} addr={} pc={}", f.signal.name, f.code, f.addr, f.pc)?;
    }
    writeln!(w, "goroutines {}, threads {}", gs.list.len(), t.threads)?;
    let findings = &r.maps.findings;
    if !findings.is_empty() {
        writeln!(w, "\n== findings ==")?;
        for f in findings {
            writeln!(w, "{} [{}] {}: {}", f.id, serde_plain(&f.severity), f.kind, f.summary)?;
            for g in &f.goroutines {
                write!(w, "    goroutine {} — {}", g.id, g.role)?;
                if let Some(fr) = &g.frame {
                    write!(w, " in {fr}")?;
                }
                if let Some(why) = &g.reason {
                    write!(w, " ({why})")?;
                }
                writeln!(w)?;
            }
            for e in &f.evidence {
                writeln!(w, "    evidence: {e}")?;
            }
        }
        // The stacks of the goroutines the findings name, other than the crashing one.
        let named: Vec<u64> = findings.iter().flat_map(|f| f.goroutines.iter().map(|g| g.id)).collect();
        for g in gs.list.iter().filter(|g| named.contains(&g.id) && Some(g.id) != c.goroutine) {
            writeln!(w, "\n-- goroutine {} named in findings --", g.id)?;
            write_goroutine(w, g, style, Some(g.status_raw) == leaked_status)?;
        }
    }
    let leaked = |g: &Goroutine<'_>| Some(g.status_raw) == leaked_status;

    if let Some(g) = c.goroutine.and_then(|id| gs.list.iter().find(|g| g.id == id)) {
        writeln!(w, "\n== crashing goroutine ==")?;
        write_goroutine(w, g, style, leaked(g))?;
    }

    // Group the rest by status and stack.
    let mut groups: Vec<(String, Vec<&Goroutine<'_>>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for g in gs.list.iter().filter(|g| Some(g.id) != c.goroutine) {
        let key = format!(
            "{}|{}",
            g.status,
            g.frames.iter().map(|f| format!("{}:{}:{}", f.function, f.file, f.line)).collect::<Vec<_>>().join(";")
        );
        match index.get(&key) {
            Some(&i) => groups[i].1.push(g),
            None => {
                index.insert(key.clone(), groups.len());
                groups.push((key, vec![g]));
            }
        }
    }
    groups.sort_by_key(|g| std::cmp::Reverse(g.1.len()));
    writeln!(
        w,
        "\n== other goroutines: {} in {} groups of identical stacks ==",
        gs.list.len() - usize::from(c.goroutine.is_some()),
        groups.len()
    )?;
    for (_, members) in &groups {
        let first = members[0];
        writeln!(w)?;
        if members.len() > 1 {
            let ids: Vec<String> = members.iter().take(20).map(|g| g.id.to_string()).collect();
            let more = if members.len() > 20 { format!(" and {} more", members.len() - 20) } else { String::new() };
            writeln!(w, "{} goroutines like this one: {}{}", members.len(), ids.join(", "), more)?;
        }
        write_goroutine(w, first, style, leaked(first))?;
        for n in &first.notes {
            writeln!(w, "\t(note: {n})")?;
        }
    }
    if !r.warnings.is_empty() {
        writeln!(w, "\n== warnings ==")?;
        for x in &r.warnings {
            writeln!(w, "- {x}")?;
        }
    }
    Ok(())
}

fn serde_plain<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
}
