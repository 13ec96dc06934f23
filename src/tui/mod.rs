//! `gotopsy tui`: the analysis in the terminal. The analysis runs on a
//! worker thread while the screen shows its progress; the UI draws from the
//! owned [`Analysis`](crate::model::Analysis) only. The terminal is restored
//! on quit, on a panic (ratatui's hook), and on SIGTERM/SIGHUP.

pub mod app;
pub mod timeline;
pub mod ui;

use crate::model::{analyze, Analysis, AnalyzeOptions, Phase, Progress};
use crate::runtime::decode::Inspector;
use crate::runtime::{OpenOptions, Process};
use app::{Action, App};
use crossterm::event::{self, Event, KeyEventKind};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

/// What the UI shows.
pub enum Source {
    /// A core, analyzed on a worker thread.
    Core {
        /// The core.
        core: PathBuf,
        /// How to open it.
        open: OpenOptions,
        /// What to analyze.
        analyze: AnalyzeOptions,
    },
    /// A saved report (no core: views that need memory say so).
    Report(Box<Analysis>),
}

/// Options of the UI itself.
#[derive(Clone, Debug)]
pub struct TuiOptions {
    /// Mouse scrolling on.
    pub mouse: bool,
    /// Where `w` saves the analysis.
    pub save_to: PathBuf,
    /// Checkouts the build's source paths are looked up in.
    pub source_roots: Vec<PathBuf>,
}

enum Msg {
    Phase(&'static str),
    /// The analysis, and the process the memory view reads (none when only the core could be read).
    Done(Result<(Box<Analysis>, Option<Arc<Inspector>>), String>),
    /// One goroutine's trace history, read again for the trace view.
    TraceDetail(u64, Result<Option<Box<crate::trace::TraceGoroutine>>, String>),
}

struct ChannelProgress(std::sync::Mutex<mpsc::Sender<Msg>>);

impl Progress for ChannelProgress {
    fn phase(&self, phase: Phase) {
        let text = phase.describe();
        if let Ok(tx) = self.0.lock() {
            let _ = tx.send(Msg::Phase(text));
        }
    }
}

/// Runs the UI until the user quits. `Err` carries a one-line reason the
/// analysis failed (printed after the terminal is restored).
pub fn run(source: Source, o: &TuiOptions) -> Result<(), String> {
    let (tx, rx) = mpsc::channel();
    let mut app = App::default();
    app.source_roots = o.source_roots.clone();
    match source {
        Source::Report(a) => {
            app.from_report = true;
            app.set_analysis(Arc::new(*a));
        }
        Source::Core { core, open, analyze: opts } => {
            app.trace_source = opts.trace.clone();
            let tx = tx.clone();
            std::thread::spawn(move || {
                let progress = ChannelProgress(std::sync::Mutex::new(tx.clone()));
                let show_values = opts.show_values;
                let result = match Process::open(&core, &open) {
                    Ok(p) => analyze(&p, &opts, &progress).map(|a| (Box::new(a), Some(Arc::new(p)))),
                    // No executable to be had: what the core alone says, with its warning.
                    Err(crate::Error::NoExecutable { core: path, reason }) => crate::corefile::CoreFile::open(&path)
                        .map(|c| crate::model::core_only(&c, &format!("no executable given (--exe) and {reason}")))
                        .map(|a| (Box::new(a), None)),
                    Err(e) => Err(e),
                }
                .map(|(a, p)| (a, p.map(|p| Arc::new(Inspector::new(p, show_values)))))
                .map_err(|e| e.to_string());
                let _ = tx.send(Msg::Done(result));
            });
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
        let _ = signal_hook::flag::register(sig, Arc::clone(&stop));
    }
    let mut terminal = ratatui::try_init().map_err(|e| format!("cannot take the terminal: {e}"))?;
    if o.mouse {
        let _ = crossterm::execute!(io::stdout(), crossterm::event::EnableMouseCapture);
    }
    let result = event_loop(&mut terminal, &mut app, (&tx, &rx), &stop, o);
    if o.mouse {
        let _ = crossterm::execute!(io::stdout(), crossterm::event::DisableMouseCapture);
    }
    ratatui::restore();
    result
}

/// With `GOTOPSY_TUI_STATS=FILE`, the UI writes its timings there on exit
/// (for `benches/tui.sh`): when the overview was up, the slowest frame, the
/// slowest key.
#[derive(Default)]
struct Stats {
    start: Option<std::time::Instant>,
    ready_s: f64,
    max_draw_ms: f64,
    max_key_ms: f64,
    frames: u64,
}

impl Stats {
    fn write(&self) {
        let Some(path) = std::env::var_os("GOTOPSY_TUI_STATS") else { return };
        let text = format!(
            "ready_s {:.3}\nmax_draw_ms {:.2}\nmax_key_ms {:.2}\nframes {}\n",
            self.ready_s, self.max_draw_ms, self.max_key_ms, self.frames
        );
        let _ = std::fs::write(path, text);
    }
}

type Channel<'a> = (&'a mpsc::Sender<Msg>, &'a mpsc::Receiver<Msg>);

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    channel: Channel<'_>,
    stop: &AtomicBool,
    o: &TuiOptions,
) -> Result<(), String> {
    let mut stats = Stats { start: Some(std::time::Instant::now()), ..Default::default() };
    let r = event_loop_timed(terminal, app, channel, stop, o, &mut stats);
    stats.write();
    r
}

/// How many goroutines' histories read again are kept.
const MAX_TRACE_DETAILS: usize = 32;

/// Reads goroutine `id`'s trace history again on a worker thread, when the
/// trace view needs it.
fn read_trace_detail(app: &mut App, tx: &mpsc::Sender<Msg>) {
    let (Some(id), Some(source), Some(insp)) = (app.wants_trace_detail(), &app.trace_source, &app.inspector) else {
        return;
    };
    app.trace_pending = Some(id);
    let (p, source, tx) = (Arc::clone(insp.process()), source.clone(), tx.clone());
    std::thread::spawn(move || {
        let _ = tx.send(Msg::TraceDetail(id, crate::model::trace_goroutine(&p, &source, id).map(|g| g.map(Box::new))));
    });
}

fn event_loop_timed(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    (tx, rx): Channel<'_>,
    stop: &AtomicBool,
    o: &TuiOptions,
    stats: &mut Stats,
) -> Result<(), String> {
    let ms = |t: std::time::Instant| t.elapsed().as_secs_f64() * 1e3;
    loop {
        while let Ok(m) = rx.try_recv() {
            match m {
                Msg::TraceDetail(id, r) => {
                    app.trace_pending = None;
                    // Histories read again stay bounded (each up to 2^20 transitions).
                    if app.trace_detail.len() >= MAX_TRACE_DETAILS {
                        app.trace_detail.clear();
                    }
                    app.trace_detail.insert(id, r.map(|g| g.map(|g| *g)));
                }
                Msg::Phase(p) => app.progress = p.into(),
                Msg::Done(Ok((a, inspector))) => {
                    app.inspector = inspector;
                    app.set_analysis(Arc::new(*a));
                    stats.ready_s = stats.start.map_or(0.0, |s| s.elapsed().as_secs_f64());
                }
                Msg::Done(Err(e)) => return Err(e),
            }
        }
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        read_trace_detail(app, tx);
        let t = std::time::Instant::now();
        terminal.draw(|f| ui::draw(f, app)).map_err(|e| format!("drawing: {e}"))?;
        if app.analysis.is_some() {
            stats.max_draw_ms = stats.max_draw_ms.max(ms(t));
            stats.frames = stats.frames.saturating_add(1);
        }
        if !event::poll(Duration::from_millis(100)).map_err(|e| format!("reading the terminal: {e}"))? {
            continue;
        }
        let action = match event::read().map_err(|e| format!("reading the terminal: {e}"))? {
            Event::Key(k) if k.kind != KeyEventKind::Release => {
                let t = std::time::Instant::now();
                let a = app.key(k);
                stats.max_key_ms = stats.max_key_ms.max(ms(t));
                a
            }
            Event::Mouse(m) => {
                app.mouse(m);
                Action::None
            }
            _ => Action::None,
        };
        match action {
            Action::None => {}
            Action::Quit => return Ok(()),
            Action::Save => app.status = Some(save(app, &o.save_to)),
            Action::Edit(path, line) => {
                app.status = Some(edit(terminal, &path, line, o.mouse));
            }
            Action::Copy(text) => {
                let mut out = io::stdout();
                let _ = write!(out, "\x1b]52;c;{}\x07", base64(text.as_bytes()));
                let _ = out.flush();
            }
        }
    }
}

/// Gives the terminal to `$EDITOR` (`vi` when unset) at `path:line`, then takes it back.
fn edit(terminal: &mut ratatui::DefaultTerminal, path: &Path, line: i32, mouse: bool) -> String {
    let editor = std::env::var("EDITOR").ok().filter(|e| !e.trim().is_empty()).unwrap_or_else(|| "vi".into());
    let mut words = editor.split_whitespace();
    let Some(program) = words.next() else { return "EDITOR is empty".into() };
    if mouse {
        let _ = crossterm::execute!(io::stdout(), crossterm::event::DisableMouseCapture);
    }
    ratatui::restore();
    let status = std::process::Command::new(program).args(words).arg(format!("+{line}")).arg(path).status();
    if let Ok(t) = ratatui::try_init() {
        *terminal = t;
    }
    if mouse {
        let _ = crossterm::execute!(io::stdout(), crossterm::event::EnableMouseCapture);
    }
    let _ = terminal.clear();
    match status {
        Ok(s) if s.success() => format!("back from {program}"),
        Ok(s) => format!("{program} exited with {s}"),
        Err(e) => format!("cannot run {program}: {e}"),
    }
}

fn save(app: &App, to: &Path) -> String {
    let Some(a) = &app.analysis else { return "the analysis is still running".into() };
    let written = std::fs::File::create(to).and_then(|f| {
        let mut w = io::BufWriter::new(f);
        a.write_json(&mut w)?;
        w.flush()
    });
    match written {
        Ok(()) => format!("saved to {} (open it again with gotopsy tui --report {})", to.display(), to.display()),
        Err(e) => format!("{}: cannot save: {e}", to.display()),
    }
}

/// Standard base64, for OSC 52.
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "the index is masked to 6 bits, the 64-entry alphabet; shifts are of i < 4 sextets and i < 3 bytes"
)]
fn base64(b: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(b.len().div_ceil(3).saturating_mul(4));
    for c in b.chunks(3) {
        let n = c.iter().enumerate().fold(0u32, |n, (i, &x)| n | (u32::from(x) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= c.len() {
                out.push(char::from(T[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(super::base64(b""), "");
        assert_eq!(super::base64(b"f"), "Zg==");
        assert_eq!(super::base64(b"fo"), "Zm8=");
        assert_eq!(super::base64(b"foo"), "Zm9v");
        assert_eq!(super::base64(b"goroutine 1"), "Z29yb3V0aW5lIDE=");
    }
}
