//! The other writer of a `concurrent map writes` crash when it is not inside
//! a map function: the runtime caught one writer inside `mapassign`; if no
//! other goroutine is inside a write to the map now, a goroutine standing on
//! the very statement of the user's code that wrote the map in the caught
//! writer (same function, file and line of its user frame) is the likely
//! other side — it was about to write again, or had just written.
//!
//! `likely-writer` differs from `possible-writer`: a possible writer *is*
//! inside a map write whose map could not be confirmed to be this one; a
//! likely writer is inside no map write at all, and is named only by where
//! it stands in the user's code.

use super::{Finding, FindingKind, GoroutineRole, Role};
use crate::runtime::goroutines::Goroutine;
use crate::runtime::symbolize::print_name;
use crate::runtime::user_code::user_frame_index;

/// Adds `likely-writer` roles to `concurrent-map-writes` findings that name
/// no second writer, and says so in their summary.
pub fn name_likely_writers(gs: &[Goroutine], findings: &mut [Finding], minor: Option<u32>) {
    for f in findings.iter_mut().filter(|f| f.kind == FindingKind::ConcurrentMapWrites) {
        let Some(caught) = f.goroutines.first().filter(|r| r.role == Role::Writer).map(|r| r.id) else { continue };
        if f.goroutines.iter().skip(1).any(|r| matches!(r.role, Role::Writer | Role::PossibleWriter)) {
            continue;
        }
        let Some(g) = gs.iter().find(|g| g.id == caught) else { continue };
        let Some(site) = user_frame_index(&g.frames, minor).and_then(|i| g.frames.get(i)) else { continue };
        let mut found = Vec::new();
        for other in gs.iter().filter(|o| o.id != caught && !o.frames.is_empty()) {
            let Some(i) = user_frame_index(&other.frames, minor) else { continue };
            let Some(fr) = other.frames.get(i) else { continue };
            if fr.function != site.function || fr.file != site.file || fr.line != site.line {
                continue;
            }
            let doing = match other.frames.first() {
                Some(_) if i == 0 => "running that statement's own code (computing its key or value)".to_string(),
                Some(inner) => format!("in {} called from that statement", print_name(&inner.function)),
                None => continue,
            };
            let reason = format!(
                "goroutine {} is on {}:{}, the statement that wrote the map in goroutine {caught}, {doing}; it is inside no map write now",
                other.id, site.file, site.line
            );
            found.push(GoroutineRole::new(other.id, Role::LikelyWriter, Some(fr.function.to_string()), Some(reason)));
        }
        if found.is_empty() {
            continue;
        }
        let ids: Vec<String> = found.iter().map(|r| r.id.to_string()).collect();
        f.summary = format!(
            "{}; goroutine {} stood on the same statement ({}:{}) and {} likely the other writer",
            f.summary.trim_end_matches("; no other writer is on a stack now"),
            ids.join(", "),
            site.file,
            site.line,
            if ids.len() == 1 { "is" } else { "are" }
        );
        f.goroutines.extend(found);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::Addr;
    use crate::runtime::goroutines::UnwindSource;
    use crate::runtime::symbolize::{Frame, FrameSite};

    fn frame(function: &str, line: i32) -> Frame {
        let site = FrameSite {
            function: function.into(),
            file: if function.starts_with("main.") { "app/main.go".into() } else { "runtime/x.go".into() },
            line,
            pc: Addr(0x1000),
            entry: Addr(0x1000),
            inlined: false,
            system_stack: false,
            start_line: 0,
        };
        Frame { site: site.into(), sp: Addr(0), fp: Addr(0), args: "".into() }
    }

    fn g(id: u64, frames: Vec<Frame>) -> Goroutine {
        Goroutine {
            id,
            address: Addr(0),
            status_raw: 2,
            status: "running".into(),
            scan: false,
            wait_reason: None,
            wait_since_ns: 0,
            wait_minutes: None,
            locked_to_thread: false,
            created_by: None,
            frames: frames.into(),
            unwound_from: UnwindSource::Sched,
            stack_error: None,
            stack: (Addr(0), Addr(0)),
            extra: None,
        }
    }

    fn finding(roles: Vec<GoroutineRole>) -> Finding {
        Finding {
            id: "F1".into(),
            kind: FindingKind::ConcurrentMapWrites,
            severity: super::super::Severity::Critical,
            summary: "goroutine 6 detected a concurrent write to map; no other writer is on a stack now".into(),
            map: None,
            goroutines: roles,
            evidence: Vec::new(),
            map_names: Vec::new(),
        }
    }

    #[test]
    fn a_goroutine_on_the_caught_writers_statement_is_the_likely_writer() {
        let gs = vec![
            g(6, vec![frame("runtime.fatal", 1), frame("runtime.mapassign_fast64", 2), frame("main.put", 64)]),
            g(7, vec![frame("main.put", 64), frame("main.loop", 70)]),
            g(8, vec![frame("runtime.morestack", 1), frame("main.put", 64)]),
            g(9, vec![frame("main.put", 65)]),
            g(10, vec![frame("runtime.gopark", 1), frame("main.other", 64)]),
        ];
        let mut fs = vec![finding(vec![GoroutineRole::new(6, Role::Writer, None, None)])];
        name_likely_writers(&gs, &mut fs, Some(27));
        let likely: Vec<u64> = fs[0].goroutines.iter().filter(|r| r.role == Role::LikelyWriter).map(|r| r.id).collect();
        assert_eq!(likely, [7, 8]);
        assert!(
            fs[0].summary.contains("goroutine 7, 8 stood on the same statement (app/main.go:64)"),
            "{}",
            fs[0].summary
        );
        assert!(fs[0].goroutines[1].reason.as_deref().unwrap().contains("computing its key"));
        assert!(fs[0].goroutines[2].reason.as_deref().unwrap().contains("in runtime.morestack"));

        // A second writer inside a map write: no guessing.
        let mut fs = vec![finding(vec![
            GoroutineRole::new(6, Role::Writer, None, None),
            GoroutineRole::new(9, Role::PossibleWriter, None, None),
        ])];
        name_likely_writers(&gs, &mut fs, Some(27));
        assert_eq!(fs[0].goroutines.len(), 2);
    }
}
