//! The trace reader against Go 1.27's own parser (`go tool trace -d=parsed`)
//! on traces written by every supported Go version.

mod common;
#[path = "common/schema.rs"]
mod schema;

use gotopsy::trace::{self, GoState};
use std::collections::HashMap;
use std::path::PathBuf;

/// What the oracle says about one goroutine.
#[derive(Default, Debug)]
struct OracleG {
    transitions: u64,
    last_to: String,
    /// Functions of the last stack of a transition out of Running (the goroutine's own stack).
    last_own_stack: Vec<String>,
}

struct Oracle {
    events: u64,
    goroutines: HashMap<u64, OracleG>,
}

fn parse_oracle(text: &str) -> Oracle {
    let mut events = 0;
    let mut gs: HashMap<u64, OracleG> = HashMap::new();
    let mut current: Option<(u64, bool)> = None; // goroutine whose stack may follow, and whether it is its own
    let mut in_stack = false;
    for line in text.lines() {
        if line.starts_with("M=") {
            events += 1;
            in_stack = false;
            current = None;
            if let Some(i) = line.find(" GoID=") {
                let rest = &line[i + 6..];
                let mut parts = rest.split_whitespace();
                let id: u64 = parts.next().and_then(|x| x.parse().ok()).unwrap_or(0);
                let tr = parts.next().unwrap_or("");
                let (from, to) = tr.split_once("->").unwrap_or(("", ""));
                let g = gs.entry(id).or_default();
                g.transitions += 1;
                g.last_to = to.to_string();
                // The goroutine's own stack: leaving Running, or a status event (GoStatusStack).
                let own = from == "Running" || from == "Undetermined" || from == to;
                current = Some((id, own));
            }
            continue;
        }
        if line == "Stack=" {
            in_stack = true;
            if let Some((id, true)) = current {
                gs.entry(id).or_default().last_own_stack.clear();
            }
            continue;
        }
        if in_stack {
            if let (Some((id, true)), Some(f)) = (current, line.strip_prefix('\t')) {
                if !f.starts_with('\t') {
                    let name = f.split(" @ ").next().unwrap_or("").to_string();
                    gs.entry(id).or_default().last_own_stack.push(name);
                }
            }
        }
    }
    Oracle { events, goroutines: gs }
}

fn traces() -> Vec<(String, String)> {
    let dir = common::fixtures_dir().join("traces");
    let mut out = Vec::new();
    for v in std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()).filter(|e| e.path().is_dir()) {
        for f in std::fs::read_dir(v.path()).unwrap().filter_map(|e| e.ok()) {
            let name = f.file_name().to_string_lossy().into_owned();
            if let Some(mode) = name.strip_suffix(".trace.zst") {
                out.push((v.file_name().to_string_lossy().into_owned(), mode.to_string()));
            }
        }
    }
    // Traces the crash fixtures wrote with trace.Start, cut short by the crash.
    for (v, sc) in
        [("go1.23.9", "tracemapwrites"), ("go1.27.3", "tracemapwrites"), ("go1.27.3-arm64", "tracemapwrites")]
    {
        out.push((v.to_string(), sc.to_string()));
    }
    out.sort();
    out
}

fn load(v: &str, mode: &str, ext: &str) -> Vec<u8> {
    let name = format!("{mode}.{ext}.zst");
    let mut p: PathBuf = common::fixtures_dir().join("traces").join(v).join(&name);
    if !p.exists() {
        p = common::fixtures_dir().join(v).join(&name);
    }
    zstd::decode_all(std::fs::File::open(p).unwrap()).unwrap()
}

fn state_name(s: GoState) -> &'static str {
    match s {
        GoState::Undetermined => "Undetermined",
        GoState::Runnable => "Runnable",
        GoState::Running => "Running",
        GoState::Syscall => "Syscall",
        GoState::Waiting => "Waiting",
        GoState::NotExist => "NotExist",
    }
}

#[test]
fn every_supported_go_version_has_a_trace() {
    let t = traces();
    for v in common::SUPPORTED_GO {
        assert!(t.iter().any(|(x, _)| x == v), "no trace fixture for {v}");
    }
    assert!(t.iter().any(|(_, m)| m == "flight"), "no flight-recorder fixture");
    assert!(t.iter().any(|(_, m)| m == "cpu"), "no trace with CPU samples");
}

#[test]
fn goroutines_agree_with_gos_parser() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for (v, mode) in traces() {
        let bytes = load(&v, &mode, "trace");
        let oracle = parse_oracle(&String::from_utf8_lossy(&load(&v, &mode, "parsed")));
        let t = match trace::read(&bytes) {
            Ok(t) => t,
            Err(e) => {
                failures.push(format!("{v}/{mode}: {e}"));
                continue;
            }
        };
        if t.events != oracle.events {
            failures.push(format!("{v}/{mode}: events {} vs Go's {}", t.events, oracle.events));
        }
        let mut ours: Vec<u64> = t.goroutines.iter().map(|g| g.id).collect();
        let mut theirs: Vec<u64> = oracle.goroutines.keys().copied().collect();
        ours.sort();
        theirs.sort();
        if ours != theirs {
            failures.push(format!("{v}/{mode}: goroutines {ours:?} vs Go's {theirs:?}"));
        }
        for g in &t.goroutines {
            let Some(o) = oracle.goroutines.get(&g.id) else { continue };
            checked += 1;
            if g.transitions != o.transitions {
                failures.push(format!(
                    "{v}/{mode}: goroutine {} transitions {} vs Go's {}",
                    g.id, g.transitions, o.transitions
                ));
            }
            if state_name(g.state_at_end) != o.last_to {
                failures
                    .push(format!("{v}/{mode}: goroutine {} ends {:?} vs Go's {}", g.id, g.state_at_end, o.last_to));
            }
            let stack: Vec<String> = g.last_stack.iter().map(|f| f.function.clone()).collect();
            if !o.last_own_stack.is_empty() && stack != o.last_own_stack {
                failures.push(format!(
                    "{v}/{mode}: goroutine {} last stack {:?} vs Go's {:?}",
                    g.id, stack, o.last_own_stack
                ));
            }
        }
    }
    assert!(checked > 100, "compared only {checked} goroutines");
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn a_truncated_trace_keeps_its_complete_generations() {
    for (v, minor) in [("go1.27.3", 26), ("go1.25.5", 25)] {
        let full = load(v, "flight", "trace");
        let whole = trace::read(&full).unwrap();
        assert!(whole.generations >= 2, "{v}: the flight recording has several generations");
        assert!(whole.first_generation > 1, "{v}: flight-recorder output does not start at generation 1");
        let cut = trace::read(&full[..full.len() * 3 / 4]).unwrap();
        assert!(!cut.warnings.is_empty(), "{v}: a cut trace says so");
        assert!(
            cut.generations < whole.generations && cut.generations >= 1,
            "{v} (go 1.{minor}): {} of {}",
            cut.generations,
            whole.generations
        );
        assert!(cut.events < whole.events);
    }
}

#[test]
fn garbage_and_cut_traces_never_panic() {
    let full = load("go1.27.3", "cpu", "trace");
    for n in (0..full.len()).step_by(97) {
        let _ = trace::read(&full[..n]);
    }
    let mut x = full.clone();
    let mut seed = 0x9e3779b97f4a7c15u64;
    for _ in 0..300 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let i = 16 + (seed as usize) % (x.len() - 16);
        x[i] = (seed >> 32) as u8;
        let _ = trace::read(&x);
    }
    assert!(matches!(trace::read(b"not a trace at all"), Err(trace::TraceError::NotATrace(_))));
    assert!(matches!(trace::read(b"go 1.99 trace\0\0\0"), Err(trace::TraceError::Unsupported(99))));
}

#[test]
fn cli_trace_json_contract() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("t.trace");
    std::fs::write(&f, load("go1.24.11", "plain", "trace")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gotopsy"))
        .args(["trace", f.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["trace_version"], "go1.23", "Go 1.24 writes the go 1.23 format");
    for k in ["schema_version", "events", "duration_ns", "goroutines"] {
        assert!(v.get(k).is_some(), "{k}");
    }
    let g = &v["goroutines"][0];
    for k in
        ["id", "start_function", "created_by", "state_at_end", "last_stack", "running_ns", "blocked_ns", "transitions"]
    {
        assert!(g.get(k).is_some(), "goroutine field {k}");
    }
    // A goroutine that existed before the trace began has no creation event.
    assert!(v["goroutines"].as_array().unwrap().iter().any(|g| g["created_by"].is_null()));
    assert!(v["goroutines"].as_array().unwrap().iter().any(|g| g["start_function"] == "main.workload.func1"));
}

#[test]
fn a_cut_go121_trace_says_what_it_lost() {
    let full = load("go1.21.13", "plain", "trace");
    let whole = trace::read(&full).unwrap();
    assert!(whole.warnings.is_empty(), "{:?}", whole.warnings);
    assert!(whole.duration_ns > 0);
    let cut = trace::read(&full[..full.len() / 2]).unwrap();
    assert!(cut.warnings.iter().any(|w| w.contains("stack table")), "{:?}", cut.warnings);
    assert!(!cut.goroutines.is_empty(), "what remains is still given");
    assert!(cut.goroutines.iter().all(|g| g.last_stack.is_empty()));
}

/// Time per state and blocked time per reason, walked from Go's parser's
/// output in its own order: each transition closes the interval of the state
/// it leaves; an interval in Waiting belongs to the reason given on entry.
#[derive(Default, Debug)]
struct OracleTimes {
    running: u64,
    runnable: u64,
    blocked: u64,
    syscall: u64,
    by_reason: HashMap<String, u64>,
}

fn oracle_times(text: &str) -> HashMap<u64, OracleTimes> {
    let mut out: HashMap<u64, OracleTimes> = HashMap::new();
    // goroutine -> (state, since, reason)
    let mut open: HashMap<u64, (String, u64, String)> = HashMap::new();
    let mut last_t = 0u64;
    let field = |line: &str, key: &str| -> Option<String> {
        let i = line.find(key)?;
        let rest = &line[i + key.len()..];
        Some(if let Some(q) = rest.strip_prefix('"') {
            q.split('"').next().unwrap_or("").to_string()
        } else {
            rest.split_whitespace().next().unwrap_or("").to_string()
        })
    };
    let add = |out: &mut HashMap<u64, OracleTimes>, g: u64, state: &str, reason: &str, d: u64| {
        let t = out.entry(g).or_default();
        match state {
            "Running" => t.running += d,
            "Runnable" => t.runnable += d,
            "Syscall" => t.syscall += d,
            "Waiting" => {
                t.blocked += d;
                *t.by_reason.entry(reason.to_string()).or_default() += d;
            }
            _ => {}
        }
    };
    for line in text.lines().filter(|l| l.starts_with("M=")) {
        let Some(t) = field(line, " Time=").and_then(|x| x.parse::<u64>().ok()) else { continue };
        last_t = last_t.max(t);
        let (Some(g), Some(tr)) = (
            field(line, " GoID=").and_then(|x| x.parse::<u64>().ok()),
            field(line, " GoID=")
                .and(line.split(" GoID=").nth(1).and_then(|r| r.split_whitespace().nth(1)).map(str::to_string)),
        ) else {
            continue;
        };
        let Some((from, to)) = tr.split_once("->") else { continue };
        if from == to {
            continue;
        }
        if let Some((s, since, r)) = open.remove(&g) {
            add(&mut out, g, &s, &r, t.saturating_sub(since));
        }
        out.entry(g).or_default();
        let _ = from;
        if to != "NotExist" {
            open.insert(g, (to.to_string(), t, field(line, " Reason=").unwrap_or_default()));
        }
    }
    for (g, (s, since, r)) in open {
        add(&mut out, g, &s, &r, last_t.saturating_sub(since));
    }
    out
}

#[test]
fn time_per_state_and_blocked_reasons_agree_with_gos_parser() {
    let mut failures = Vec::new();
    let mut checked = 0;
    // Not the crash programs' traces: Go's reader forces its output times to
    // increase strictly, so events its ordering delays (a burst on one M held
    // back behind another M's) take later times; there, walks of its output
    // differ from the events' own timestamps by up to ~0.2 ms in 250 ms.
    for (v, mode) in traces().into_iter().filter(|(_, m)| !m.starts_with("trace")) {
        let t = trace::read(&load(&v, &mode, "trace")).unwrap();
        let oracle = oracle_times(&String::from_utf8_lossy(&load(&v, &mode, "parsed")));
        for g in &t.goroutines {
            let Some(o) = oracle.get(&g.id) else { continue };
            checked += 1;
            // Go converts each timestamp to ns and rounds; allow 1 ns per transition plus 0.01%.
            let close = |a: u64, b: u64| a.abs_diff(b) <= g.transitions + a.max(b) / 10_000 + 1;
            for (what, ours, theirs) in [
                ("running", g.running_ns, o.running),
                ("runnable", g.runnable_ns, o.runnable),
                ("blocked", g.blocked_ns, o.blocked),
                ("syscall", g.syscall_ns, o.syscall),
            ] {
                if !close(ours, theirs) {
                    failures.push(format!("{v}/{mode}: goroutine {} {what} {ours} ns vs Go's {theirs}", g.id));
                }
            }
            let reasons: std::collections::BTreeSet<&str> =
                g.blocked_by_reason.keys().chain(o.by_reason.keys().map(String::as_str)).collect();
            for r in reasons {
                let ours = g.blocked_by_reason.get(r).copied().unwrap_or(0);
                let theirs = o.by_reason.get(r).copied().unwrap_or(0);
                if !close(ours, theirs) {
                    failures
                        .push(format!("{v}/{mode}: goroutine {} blocked on {r:?} {ours} ns vs Go's {theirs}", g.id));
                }
            }
        }
    }
    assert!(checked > 100, "compared only {checked} goroutines");
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn trace_json_follows_its_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(common::root().join("docs/trace.schema.json")).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (v, mode) in traces() {
        let f = dir.path().join(format!("{v}-{mode}.trace"));
        std::fs::write(&f, load(&v, &mode, "trace")).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gotopsy"))
            .args(["trace", f.to_str().unwrap(), "--format", "json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{v}/{mode}: {}", String::from_utf8_lossy(&out.stderr));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut errs = Vec::new();
        schema::check(&schema, &schema, &doc, "$", &mut errs);
        assert!(errs.is_empty(), "{v}/{mode}:\n{}", errs.join("\n"));
    }
}

/// The thread (`M=`) and P (`P=`) of each goroutine's last transition to Running, as Go's parser orders events.
fn oracle_ran_on(text: &str) -> HashMap<u64, (Option<u64>, Option<u64>)> {
    let mut out = HashMap::new();
    let num = |s: &str| s.parse::<i64>().ok().filter(|v| *v >= 0).map(|v| v as u64);
    for line in text.lines().filter(|l| l.starts_with("M=") && l.contains("->Running")) {
        let mut f = line.split_whitespace();
        let m = f.next().and_then(|x| x.strip_prefix("M=")).and_then(num);
        let p = f.next().and_then(|x| x.strip_prefix("P=")).and_then(num);
        let Some(g) = line.split(" GoID=").nth(1).and_then(|r| r.split_whitespace().next()).and_then(num) else {
            continue;
        };
        out.insert(g, (m, p));
    }
    out
}

#[test]
fn last_thread_and_p_agree_with_gos_parser() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for (v, mode) in traces() {
        let t = trace::read(&load(&v, &mode, "trace")).unwrap();
        let oracle = oracle_ran_on(&String::from_utf8_lossy(&load(&v, &mode, "parsed")));
        for g in &t.goroutines {
            let Some(&(m, p)) = oracle.get(&g.id) else { continue };
            checked += 1;
            if (g.last_thread, g.last_p) != (m, p) {
                failures.push(format!(
                    "{v}/{mode}: goroutine {} last ran on thread {:?} P {:?} vs Go's {m:?} {p:?}",
                    g.id, g.last_thread, g.last_p
                ));
            }
        }
    }
    assert!(checked > 100, "compared only {checked} goroutines");
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

/// Each goroutine's creator is the goroutine of its creation event in Go's
/// parse (`G=` of the `NotExist->` transition); `G=-1` (created outside any
/// goroutine: timers, runtime workers) is a null `created_by.goroutine`, never
/// a goroutine 0.
#[test]
fn creators_agree_with_gos_parser() {
    let mut checked = 0;
    for (v, mode) in traces() {
        let t = trace::read(&load(&v, &mode, "trace")).unwrap();
        let parsed = String::from_utf8_lossy(&load(&v, &mode, "parsed")).into_owned();
        let mut creator: HashMap<u64, Option<u64>> = HashMap::new();
        for line in parsed.lines().filter(|l| l.starts_with("M=") && l.contains(" NotExist->")) {
            let field = |name: &str| line.split_whitespace().find_map(|w| w.strip_prefix(name)).map(str::to_string);
            let (Some(g), Some(id)) = (field("G="), field("GoID=").and_then(|x| x.parse::<u64>().ok())) else {
                continue;
            };
            creator.entry(id).or_insert(g.parse::<u64>().ok());
        }
        for g in &t.goroutines {
            let Some(c) = &g.created_by else { continue };
            assert_ne!(c.goroutine, Some(0), "{v}/{mode}: goroutine {} reads as created by goroutine 0", g.id);
            if let Some(want) = creator.get(&g.id) {
                assert_eq!(c.goroutine, *want, "{v}/{mode}: creator of goroutine {}", g.id);
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "{checked} creators compared");
}

/// Each goroutine's states over time as Go's parser orders its transitions:
/// (ns since the first event, state entered), folded as the reader folds its
/// timeline (a transition at the same nanosecond replaces the one before; a
/// repeat of the state is no change). `v1`: Go converted a Go 1.21 trace,
/// ending each syscall that did not block 1 ns after it began (the reader
/// has both transitions at the same time): such a span folds away.
fn oracle_timelines(text: &str, v1: bool) -> HashMap<u64, Vec<(u64, String)>> {
    let mut out: HashMap<u64, Vec<(u64, String)>> = HashMap::new();
    let mut first: Option<u64> = None;
    for line in text.lines().filter(|l| l.starts_with("M=")) {
        let Some(t) = line.split(" Time=").nth(1).and_then(|r| r.split_whitespace().next()?.parse::<u64>().ok()) else {
            continue;
        };
        let t0 = *first.get_or_insert(t);
        let Some(rest) = line.split(" GoID=").nth(1) else { continue };
        let mut f = rest.split_whitespace();
        let (Some(g), Some(tr)) = (f.next().and_then(|x| x.parse::<u64>().ok()), f.next()) else { continue };
        let Some((_, to)) = tr.split_once("->") else { continue };
        let v = out.entry(g).or_default();
        let at = t - t0;
        match v.last_mut() {
            Some(last) if last.0 == at || (v1 && at - last.0 == 1) => last.1 = to.to_string(),
            Some(last) if last.1 == to => {}
            _ => v.push((at, to.to_string())),
        }
        v.dedup_by(|b, a| a.1 == b.1);
    }
    out
}

#[test]
fn timelines_of_watched_goroutines_agree_with_gos_parser() {
    let mut failures = Vec::new();
    let mut checked = 0;
    // As for the times per state: the tracezoo traces, where Go's output
    // times are the events' own.
    for (v, mode) in traces().into_iter().filter(|(_, m)| !m.starts_with("trace")) {
        let bytes = load(&v, &mode, "trace");
        let ids: Vec<u64> = trace::read(&bytes).unwrap().goroutines.iter().map(|g| g.id).collect();
        let t = trace::read_watching(&bytes, &ids).unwrap();
        let oracle = oracle_timelines(&String::from_utf8_lossy(&load(&v, &mode, "parsed")), v.starts_with("go1.21"));
        // Go's first event and the reader's may differ (Go 1.21's converter
        // starts at its own sync event): one offset for the whole trace.
        let mut offset: Option<i128> = None;
        for g in &t.goroutines {
            let Some(o) = oracle.get(&g.id) else { continue };
            if o.len() >= trace::TIMELINE_KEPT {
                continue;
            }
            checked += 1;
            let ours: Vec<(u64, &str)> = g.timeline.iter().map(|s| (s.start_ns, state_name(s.state))).collect();
            let states = |x: &[(u64, &str)]| x.iter().map(|s| s.1.to_string()).collect::<Vec<_>>();
            let theirs: Vec<(u64, &str)> = o.iter().map(|(t, s)| (*t, s.as_str())).collect();
            if states(&ours) != states(&theirs) {
                failures.push(format!("{v}/{mode}: goroutine {}: states {:?} vs Go's {:?}", g.id, ours, theirs));
                continue;
            }
            // Go rounds each timestamp to ns on its own; the reader converts differences.
            for (a, b) in ours.iter().zip(&theirs) {
                let d = a.0 as i128 - b.0 as i128;
                let o = *offset.get_or_insert(d);
                if d.abs_diff(o) > 1 + a.0.max(b.0) as u128 / 100_000 {
                    failures.push(format!("{v}/{mode}: goroutine {}: {} at {} ns vs Go's {}", g.id, a.1, a.0, b.0));
                    break;
                }
            }
            // The spans' time per state is the summary's.
            let end = t.duration_ns;
            let mut running = 0;
            for (i, s) in g.timeline.iter().enumerate() {
                let next = g.timeline.get(i + 1).map_or(end, |n| n.start_ns);
                if s.state == GoState::Running {
                    running += next.saturating_sub(s.start_ns);
                }
            }
            if running.abs_diff(g.running_ns) > g.transitions + g.running_ns / 10_000 + 1 {
                failures.push(format!(
                    "{v}/{mode}: goroutine {}: timeline runs {running} ns, summary {}",
                    g.id, g.running_ns
                ));
            }
        }
    }
    assert!(checked > 100, "compared only {checked} goroutines");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.iter().take(30).cloned().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn a_timeline_kept_short_is_the_end_of_the_full_one_and_says_it_was_cut() {
    let bytes = load("go1.27.3", "tracemapwrites", "trace");
    let ids: Vec<u64> = trace::read(&bytes).unwrap().goroutines.iter().map(|g| g.id).collect();
    let full = trace::read_watching_keeping(&bytes, &ids, 1 << 20).unwrap();
    let short = trace::read_watching_keeping(&bytes, &ids, 16).unwrap();
    let mut cut = 0;
    for (f, s) in full.goroutines.iter().zip(&short.goroutines) {
        assert_eq!(f.id, s.id);
        assert!(!f.timeline_cut, "goroutine {}: the full history is kept", f.id);
        assert_eq!(f.last_events.len(), s.last_events.len(), "goroutine {}", f.id);
        if s.timeline_cut {
            cut += 1;
            assert!(s.timeline.len() <= 16 && !s.timeline.is_empty(), "goroutine {}", s.id);
            // Its spans are the full timeline's last ones, the first aside (its start is where the kept part begins).
            let tail = &f.timeline[f.timeline.len() - (s.timeline.len() - 1)..];
            assert_eq!(&s.timeline[1..], tail, "goroutine {}", s.id);
        } else {
            assert_eq!(f.timeline, s.timeline, "goroutine {}", s.id);
        }
    }
    assert!(cut > 0, "no goroutine had more than 32 transitions");
}
