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

/// When a log line's prefix says it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stamp {
    /// An RFC 3339 time (CRI, Docker, RFC 3339 prefixes).
    Rfc3339(String),
    /// A syslog/journald short time, without its year (`Dec 01 03:12:44`).
    Syslog(String),
}

impl Stamp {
    /// Seconds since the epoch; `reference` (the file's time) gives a syslog time its year.
    pub fn seconds(&self, reference: Option<i64>) -> Option<i64> {
        match self {
            Stamp::Rfc3339(s) => super::when::of_rfc3339(s),
            Stamp::Syslog(s) => super::when::of_syslog(s, reference?),
        }
    }
}

/// A log line with its prefix taken off: its number, text and time.
type Line = (usize, String, Option<Stamp>);

/// The lines of the log with its per-line prefix taken off.
fn unprefixed(text: &str) -> Vec<Line> {
    let mut out: Vec<Line> = Vec::new();
    let mut partial: Option<Line> = None;
    for (i, raw) in text.lines().enumerate() {
        let n = i.saturating_add(1);
        // Docker json-file: {"log":"…\n","stream":"stderr","time":"…"}
        if raw.starts_with("{\"log\":") {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(raw) {
                if let Some(l) = v.get("log").and_then(|l| l.as_str()) {
                    let t = v.get("time").and_then(|t| t.as_str()).map(|t| Stamp::Rfc3339(t.to_string()));
                    out.push((n, l.trim_end_matches('\n').to_string(), t));
                    continue;
                }
            }
        }
        if let Some(c) = cri().and_then(|r| r.captures(raw)) {
            let rest = raw.get(c.get(0).map_or(0, |m| m.end())..).unwrap_or_default();
            let full = c.get(2).is_some_and(|m| m.as_str() == "F");
            let stamp = raw.split(' ').next().map(|t| Stamp::Rfc3339(t.to_string()));
            let (start, mut acc, t) = partial.take().unwrap_or((n, String::new(), stamp));
            acc.push_str(rest);
            if full {
                out.push((start, acc, t));
            } else {
                partial = Some((start, acc, t));
            }
            continue;
        }
        let found = prefixes().iter().enumerate().find_map(|(k, p)| p.find(raw).map(|m| (k, m.end())));
        let (line, stamp) = match found {
            Some((k, end)) => {
                let prefix = raw.get(..end).unwrap_or_default();
                let stamp = if k == 0 {
                    // `Dec 01 03:12:44 host app[1]: `: the first three fields.
                    let t: Vec<&str> = prefix.split_whitespace().take(3).collect();
                    Some(Stamp::Syslog(t.join(" ")))
                } else {
                    prefix.split(' ').next().map(|t| Stamp::Rfc3339(t.to_string()))
                };
                (raw.get(end..).unwrap_or_default(), stamp)
            }
            None => (raw, None),
        };
        out.push((n, line.to_string(), stamp));
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

/// A crash found in a log: the line its header is on, its text, and the
/// time its header line's prefix gives.
pub type LogCrash = (usize, String, Option<Stamp>);

/// Each crash in the log.
pub fn crashes(text: &str) -> Vec<LogCrash> {
    let lines = unprefixed(text);
    let mut out: Vec<LogCrash> = Vec::new();
    let mut cur: Option<(usize, Vec<&str>, bool, &Option<Stamp>)> = None;
    // A SIGQUIT dump prints each M's block after a `-----` line: one crash.
    let mut after_separator = false;
    for (n, l, stamp) in &lines {
        let separated = after_separator;
        match l.trim() {
            "-----" => after_separator = true,
            "" => {}
            _ => after_separator = false,
        }
        if is_header(l) && separated {
            if let Some((_, body, _, _)) = &mut cur {
                body.push(l);
                continue;
            }
        }
        if is_header(l) {
            // A second header before any goroutine belongs to the same crash
            // (two goroutines threw at once); after goroutines, a new crash.
            match &mut cur {
                Some((_, body, false, _)) => {
                    body.push(l);
                    continue;
                }
                _ => {
                    if let Some((start, body, true, t)) = cur.take() {
                        out.push((start, body.join("\n"), t.clone()));
                    }
                    cur = Some((*n, vec![l], false, stamp));
                    continue;
                }
            }
        }
        if let Some((_, body, seen, _)) = &mut cur {
            if l.starts_with("goroutine ") {
                *seen = true;
            }
            body.push(l);
        }
    }
    if let Some((start, body, true, t)) = cur {
        out.push((start, body.join("\n"), t.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{crashes, Stamp};

    #[test]
    fn a_crash_has_the_time_of_its_header_line() {
        let crash = "panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:5 +0x1d";
        let with = |prefix: &dyn Fn(&str) -> String| crash.lines().map(|l| prefix(l) + "\n").collect::<String>();
        let journal = with(&|l| format!("Dec 01 03:12:44 host app[123]: {l}"));
        assert_eq!(crashes(&journal)[0].2, Some(Stamp::Syslog("Dec 01 03:12:44".into())));
        let rfc = with(&|l| format!("2026-12-01T03:12:44.5Z {l}"));
        assert_eq!(crashes(&rfc)[0].2, Some(Stamp::Rfc3339("2026-12-01T03:12:44.5Z".into())));
        let cri = with(&|l| format!("2026-12-01T03:12:44.1Z stderr F {l}"));
        assert_eq!(crashes(&cri)[0].2, Some(Stamp::Rfc3339("2026-12-01T03:12:44.1Z".into())));
        let docker = crash
            .lines()
            .map(|l| {
                format!(
                    "{}\n",
                    serde_json::json!({"log": format!("{l}\n"), "stream": "stderr", "time": "2026-12-01T03:12:44Z"})
                )
            })
            .collect::<String>();
        assert_eq!(crashes(&docker)[0].2, Some(Stamp::Rfc3339("2026-12-01T03:12:44Z".into())));
        assert_eq!(crashes(crash)[0].2, None, "no prefix, no time");
        assert_eq!(Stamp::Rfc3339("2026-12-01T03:12:44.1Z".into()).seconds(None), Some(1_796_094_764));
    }

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
