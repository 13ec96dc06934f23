//! Crashes in log text: the runtime's crash output, found amid other lines,
//! with a log prefix on every line taken off (journald's
//! `Dec 01 03:12:44 host app[123]: `, RFC 3339 timestamps, Kubernetes CRI's
//! `<time> stderr F ` with `P` parts joined, Docker's json-file lines). A log
//! may hold several crashes (a service that restarts): one each.

use regex::Regex;
use std::sync::OnceLock;

fn prefixes() -> &'static [Regex] {
    static P: OnceLock<Vec<Regex>> = OnceLock::new();
    P.get_or_init(|| {
        [
            // journald / syslog short format.
            r"^[A-Z][a-z]{2} [ 0-9]?\d \d\d:\d\d:\d\d \S+ [^:\s]+(\[\d+\])?: ",
            // RFC 3339 timestamp.
            r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)? ",
        ]
        .iter()
        .filter_map(|p| Regex::new(p).ok())
        .collect()
    })
}

/// Kubernetes CRI: `<time> stdout|stderr F|P <text>`.
fn cri() -> Option<&'static Regex> {
    static R: OnceLock<Option<Regex>> = OnceLock::new();
    R.get_or_init(|| Regex::new(r"^\S+ (stdout|stderr) ([FP]) ").ok()).as_ref()
}

/// The lines of the log with its per-line prefix taken off: (line number, text).
fn unprefixed(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut partial: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        // Docker json-file: {"log":"…\n","stream":"stderr","time":"…"}
        if raw.starts_with("{\"log\":") {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(raw) {
                if let Some(l) = v.get("log").and_then(|l| l.as_str()) {
                    out.push((n, l.trim_end_matches('\n').to_string()));
                    continue;
                }
            }
        }
        if let Some(c) = cri().and_then(|r| r.captures(raw)) {
            let rest = raw.get(c.get(0).map_or(0, |m| m.end())..).unwrap_or_default();
            let full = c.get(2).is_some_and(|m| m.as_str() == "F");
            let (start, mut acc) = partial.take().unwrap_or((n, String::new()));
            acc.push_str(rest);
            if full {
                out.push((start, acc));
            } else {
                partial = Some((start, acc));
            }
            continue;
        }
        let line = prefixes().iter().find_map(|p| p.find(raw).map(|m| &raw[m.end()..])).unwrap_or(raw);
        out.push((n, line.to_string()));
    }
    if let Some(p) = partial {
        out.push(p);
    }
    out
}

fn is_header(l: &str) -> bool {
    l.starts_with("panic: ")
        || l.starts_with("fatal error: ")
        || (l.starts_with("SIG")
            && l.contains(": ")
            && l.split(':').next().is_some_and(|s| s.chars().all(|c| c.is_ascii_uppercase())))
}

/// Each crash in the log: the line its header is on, and its text.
pub fn crashes(text: &str) -> Vec<(usize, String)> {
    let lines = unprefixed(text);
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut cur: Option<(usize, Vec<&str>, bool)> = None;
    for (n, l) in &lines {
        if is_header(l) {
            // A second header before any goroutine belongs to the same crash
            // (two goroutines threw at once); after goroutines, a new crash.
            match &mut cur {
                Some((_, body, false)) => {
                    body.push(l);
                    continue;
                }
                _ => {
                    if let Some((start, body, true)) = cur.take() {
                        out.push((start, body.join("\n")));
                    }
                    cur = Some((*n, vec![l], false));
                    continue;
                }
            }
        }
        if let Some((_, body, seen)) = &mut cur {
            if l.starts_with("goroutine ") {
                *seen = true;
            }
            body.push(l);
        }
    }
    if let Some((start, body, true)) = cur {
        out.push((start, body.join("\n")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::crashes;

    const CRASH: &str = "panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:5 +0x1d\nexit status 2";

    #[test]
    fn crashes_are_found_amid_lines_and_behind_prefixes() {
        let plain = format!("starting\nlistening on :80\n{CRASH}\n");
        let c = crashes(&plain);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].0, 3);
        assert!(c[0].1.starts_with("panic: boom\n") && c[0].1.contains("main.main()"));
        let journald: String = plain.lines().map(|l| format!("Dec 01 03:12:44 host app[123]: {l}\n")).collect();
        assert_eq!(crashes(&journald)[0].1, c[0].1);
        let rfc: String = plain.lines().map(|l| format!("2026-12-01T03:12:44.123Z {l}\n")).collect();
        assert_eq!(crashes(&rfc)[0].1, c[0].1);
        // CRI: `P` parts join the next line.
        let mut cri = String::new();
        for l in plain.lines() {
            if l == "main.main()" {
                cri.push_str("2026-12-01T03:12:44.1Z stderr P main.\n2026-12-01T03:12:44.1Z stderr F main()\n");
            } else {
                cri.push_str(&format!("2026-12-01T03:12:44.1Z stderr F {l}\n"));
            }
        }
        assert_eq!(crashes(&cri)[0].1, c[0].1);
        let docker: String = plain
            .lines()
            .map(|l| format!("{}\n", serde_json::json!({"log": format!("{l}\n"), "stream": "stderr", "time": "t"})))
            .collect();
        assert_eq!(crashes(&docker)[0].1, c[0].1);
    }

    #[test]
    fn a_restarting_service_logs_several_crashes() {
        let two = format!("{CRASH}\nrestarting\nfatal error: concurrent map writes\nfatal error: concurrent map writes\n\ngoroutine 7 [running]:\nmain.f()\n\t/app/f.go:9 +0x1\n");
        let c = crashes(&two);
        assert_eq!(c.len(), 2);
        assert!(c[1].1.starts_with("fatal error: concurrent map writes\nfatal error: concurrent map writes"));
        assert!(crashes("panic: no goroutines here\n").is_empty());
    }
}
