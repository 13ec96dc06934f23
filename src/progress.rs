//! Progress on stderr: an indicatif spinner naming the analysis phase, shown
//! only on a terminal and only once the work has taken more than a second;
//! with `GOTOPSY_TIMING` set, each phase's time instead.

use gotopsy::model::{Phase, Progress};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Work shorter than this shows no progress line.
const QUIET_FOR: Duration = Duration::from_secs(1);

struct State {
    phase: String,
    bar: Option<ProgressBar>,
    done: bool,
    timing: Option<Instant>,
}

/// The progress line's text while cores are decompressed.
fn decompressing((done, to): (u64, Option<u64>)) -> String {
    let gib = |b: u64| b as f64 / f64::from(1u32 << 30);
    match to {
        Some(to) if to > 0 => format!(
            "decompressing the core: {:.1} of {:.1} GiB ({:.0}%)",
            gib(done),
            gib(to),
            100.0 * done as f64 / to as f64
        ),
        _ => format!("decompressing the core: {:.1} GiB", gib(done)),
    }
}

/// The command line's [`Progress`].
pub struct CliProgress(Arc<Mutex<State>>);

impl CliProgress {
    /// Starts the clock; the spinner appears after [`QUIET_FOR`] if work goes on.
    pub fn start() -> CliProgress {
        let timing = std::env::var_os("GOTOPSY_TIMING").map(|_| Instant::now());
        let state = Arc::new(Mutex::new(State { phase: "opening the core".into(), bar: None, done: false, timing }));
        if std::io::stderr().is_terminal() && timing.is_none() {
            let s = Arc::clone(&state);
            std::thread::spawn(move || {
                std::thread::sleep(QUIET_FOR);
                let Ok(mut st) = s.lock() else { return };
                if st.done {
                    return;
                }
                let bar = ProgressBar::new_spinner();
                if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
                    bar.set_style(style);
                }
                bar.set_message(st.phase.clone());
                bar.enable_steady_tick(Duration::from_millis(120));
                st.bar = Some(bar);
                drop(st);
                // While a compressed core is decompressed, say how far it is.
                loop {
                    std::thread::sleep(Duration::from_millis(250));
                    let Ok(st) = s.lock() else { return };
                    let Some(bar) = st.bar.as_ref().filter(|_| !st.done) else { return };
                    match gotopsy::corefile::decompression_progress() {
                        Some(p) => bar.set_message(decompressing(p)),
                        None => bar.set_message(st.phase.clone()),
                    }
                }
            });
        }
        CliProgress(state)
    }

    /// With `GOTOPSY_TIMING`: prints how long the step since the last mark took.
    pub fn mark(&self, what: &str) {
        if let Ok(mut st) = self.0.lock() {
            if let Some(t) = st.timing {
                let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
                let kb = |key: &str| {
                    status
                        .lines()
                        .find(|l| l.starts_with(key))
                        .and_then(|l| l.split_whitespace().nth(1))
                        .unwrap_or("?")
                        .to_string()
                };
                eprintln!(
                    "timing: {what}: {:.3} s (anonymous RSS {} KB, file RSS {} KB)",
                    t.elapsed().as_secs_f64(),
                    kb("RssAnon:"),
                    kb("RssFile:")
                );
                st.timing = Some(Instant::now());
            }
        }
    }

    /// The work is done: the spinner goes away before the report is written.
    pub fn finish(&self, what: &str) {
        self.mark(what);
        if let Ok(mut st) = self.0.lock() {
            st.done = true;
            if let Some(bar) = st.bar.take() {
                bar.finish_and_clear();
            }
        }
    }
}

impl Progress for CliProgress {
    fn phase(&self, phase: Phase) {
        self.mark(&format!("until {phase:?}"));
        let text = phase.describe();
        if let Ok(mut st) = self.0.lock() {
            st.phase = text.into();
            if let Some(bar) = &st.bar {
                bar.set_message(text);
            }
        }
    }
}

/// `scan`'s progress: a bar of inputs on stderr when it is a terminal, and,
/// for NDJSON, each record's line sent to the writer as its input finishes.
pub struct ScanBar {
    bar: ProgressBar,
    lines: Mutex<Option<std::sync::mpsc::Sender<String>>>,
}

impl ScanBar {
    /// A bar (hidden off a terminal or with `GOTOPSY_TIMING`), sending NDJSON input lines to `lines` when given.
    pub fn new(lines: Option<std::sync::mpsc::Sender<String>>) -> ScanBar {
        let shown = std::io::stderr().is_terminal() && std::env::var_os("GOTOPSY_TIMING").is_none();
        let bar = if shown { ProgressBar::new(0) } else { ProgressBar::hidden() };
        if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} inputs ({elapsed}, {eta} left)") {
            bar.set_style(style);
        }
        ScanBar { bar, lines: Mutex::new(lines) }
    }

    /// The scan is done: the bar goes, the NDJSON stream is closed.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
        if let Ok(mut l) = self.lines.lock() {
            l.take();
        }
    }
}

impl gotopsy::scan::ScanObserver for ScanBar {
    fn inputs(&self, count: usize) {
        self.bar.set_length(count as u64);
        // Shown from now on, ticking even while a long core is read.
        self.bar.enable_steady_tick(Duration::from_millis(200));
    }

    fn record(&self, r: &gotopsy::scan::Record) {
        if let Ok(l) = self.lines.lock() {
            if let (Some(tx), Ok(line)) = (l.as_ref(), crate::input_line(r)) {
                let _ = tx.send(line);
            }
        }
    }

    fn input_done(&self) {
        self.bar.inc(1);
    }
}
