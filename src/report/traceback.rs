//! Prints goroutines exactly as the runtime's traceback does under
//! `GOTRACEBACK=crash` for the core's Go version, so tools that read Go
//! tracebacks (panicparse and friends) read ours.

use crate::model::{Analysis, FrameRef, Goroutine, GoroutineFilter};
use crate::runtime::crash::CrashKind;
use crate::runtime::symbolize::print_name;
use std::io::{self, Write};

/// The runtime prints at most this many innermost frames …
pub const INNER_FRAMES: usize = 50;
/// … and this many outermost ones, with `...N frames elided...` between.
pub const OUTER_FRAMES: usize = 50;

/// How the header looks in a Go version.
#[derive(Copy, Clone, Debug)]
pub struct Style {
    /// `gp=… m=… mp=…` in headers (Go 1.22+).
    pub header_gp: bool,
}

impl Style {
    /// The style of Go 1.`minor`.
    pub fn for_go(minor: u32) -> Style {
        Style { header_gp: minor >= 22 }
    }
}

/// The bracketed status with the runtime's suffixes.
pub fn status_with_suffixes(g: &Goroutine) -> String {
    let mut s = g.status.to_string();
    if g.leaked() {
        s.push_str(" (leaked)");
    }
    if g.scan {
        s.push_str(" (scan)");
    }
    if let Some(m) = g.wait_minutes.filter(|&m| m >= 1) {
        s.push_str(&format!(", {m} minutes"));
    }
    if g.locked_to_thread {
        s.push_str(", locked to thread");
    }
    if let Some(b) = g.bubble() {
        s.push_str(&format!(", synctest bubble {b}"));
    }
    s
}

/// Writes the header line.
pub fn write_header(w: &mut dyn Write, g: &Goroutine, style: Style) -> io::Result<()> {
    write!(w, "goroutine {}", g.id)?;
    if style.header_gp {
        write!(w, " gp={:#x}", g.address.0)?;
        match (g.m(), g.mp()) {
            (Some(m), Some(mp)) => write!(w, " m={m} mp={:#x}", mp.0)?,
            _ => write!(w, " m=nil")?,
        }
    }
    writeln!(w, " [{}]:", status_with_suffixes(g))
}

fn write_frame(w: &mut dyn Write, f: FrameRef<'_>) -> io::Result<()> {
    writeln!(w, "{}({})", print_name(&f.function), f.args)?;
    write!(w, "\t{}:{}", f.file, f.line)?;
    if !f.inlined {
        if f.offset() > 0 {
            write!(w, " +{:#x}", f.offset())?;
        }
        write!(w, " fp={:#x} sp={:#x} pc={:#x}", f.fp.0, f.sp.0, f.pc.0)?;
    }
    writeln!(w)
}

/// Writes frames with the runtime's 50 + 50 elision.
pub fn write_frames<'a>(w: &mut dyn Write, frames: impl ExactSizeIterator<Item = FrameRef<'a>>) -> io::Result<()> {
    let n = frames.len();
    let elided = n.saturating_sub(INNER_FRAMES + OUTER_FRAMES);
    for (i, f) in frames.enumerate() {
        if elided > 0 && i == INNER_FRAMES {
            writeln!(w, "...{elided} frames elided...")?;
        }
        if elided == 0 || i < INNER_FRAMES || i >= INNER_FRAMES.saturating_add(elided) {
            write_frame(w, f)?;
        }
    }
    Ok(())
}

/// Where the runtime's own printout of a crashing goroutine starts: after
/// `runtime.fatalthrow` / `runtime.fatalpanic` (the runtime traces from their
/// caller), so the signal handler's and the system stack's frames before them
/// are not printed. 0 for a goroutine that is not in either.
pub fn crash_start(g: &Goroutine) -> usize {
    g.frames
        .iter()
        .position(|f| matches!(&*f.function, "runtime.fatalthrow" | "runtime.fatalpanic"))
        .map_or(0, |i| i.saturating_add(1))
}

/// Writes one goroutine: header, frames, `created by`, and a reason line when
/// the stack is incomplete.
pub fn write_goroutine(w: &mut dyn Write, g: &Goroutine, style: Style) -> io::Result<()> {
    write_goroutine_from(w, g, style, 0)
}

/// [`write_goroutine`] starting at frame `start` (see [`crash_start`]).
pub fn write_goroutine_from(w: &mut dyn Write, g: &Goroutine, style: Style, start: usize) -> io::Result<()> {
    write_header(w, g, style)?;
    write_frames(w, g.frames.iter().skip(start))?;
    if let Some(e) = &g.stack_error {
        writeln!(w, "\t(gotopsy: stack incomplete: {e})")?;
    }
    if let Some(c) = g.created_by.as_ref().filter(|_| g.id != 1) {
        write!(w, "created by {}", print_name(&c.function))?;
        if c.goroutine != 0 {
            write!(w, " in goroutine {}", c.goroutine)?;
        }
        writeln!(w)?;
        write!(w, "\t{}:{}", c.file, c.line)?;
        if c.offset > 0 {
            write!(w, " +{:#x}", c.offset)?;
        }
        writeln!(w)?;
    }
    Ok(())
}

/// The runtime's long name of a signal (`sigtable`), for `SIGSEGV: segmentation violation`.
pub fn signal_description(name: &str) -> Option<&'static str> {
    Some(match name {
        "SIGHUP" => "hangup",
        "SIGINT" => "interrupt",
        "SIGQUIT" => "quit",
        "SIGILL" => "illegal instruction",
        "SIGTRAP" => "trace trap",
        "SIGABRT" => "abort",
        "SIGBUS" => "bus error",
        "SIGFPE" => "floating-point exception",
        "SIGKILL" => "kill",
        "SIGSEGV" => "segmentation violation",
        "SIGPIPE" => "write to broken pipe",
        "SIGTERM" => "termination",
        _ => return None,
    })
}

/// The lines the runtime printed before the goroutines: `fatal error: …`,
/// `panic: …` (with the `[signal …]` line of a fault), or a signal's
/// `SIGSEGV: segmentation violation`; then a blank line.
pub fn write_crash_header(w: &mut dyn Write, a: &Analysis) -> io::Result<()> {
    let c = &a.crash;
    let msg = c.message.as_deref().unwrap_or("(message not in the core)");
    match c.kind {
        CrashKind::FatalError => writeln!(w, "fatal error: {msg}")?,
        CrashKind::Panic => {
            writeln!(w, "panic: {msg}")?;
            if let Some(f) = &c.fault {
                let desc = signal_description(&f.signal.name).unwrap_or("signal");
                writeln!(w, "[signal {}: {desc} code={:#x} addr={} pc={}]", f.signal.name, f.code, f.addr, f.pc)?;
            }
        }
        CrashKind::Signal | CrashKind::SigquitDump => {
            // The runtime names the signal it handled: the received one when it came from outside.
            let name =
                c.received_signal.as_ref().map(|r| r.name.as_str()).or(c.signal.as_ref().map(|s| s.name.as_str()));
            match name {
                Some(n) => writeln!(w, "{n}: {}", signal_description(n).unwrap_or("signal"))?,
                None => return Ok(()),
            }
        }
        // Nothing printed when gcore took the core.
        CrashKind::Snapshot => return Ok(()),
    }
    writeln!(w)
}

/// Every goroutine as the runtime prints a crash: its header, the crashing
/// goroutine first (from where the runtime's printout starts, unless
/// `all_frames`), then the rest in `allgs` order; `filter` restricts which
/// are listed.
pub fn write_dump(w: &mut dyn Write, a: &Analysis, filter: &GoroutineFilter, all_frames: bool) -> io::Result<()> {
    let style = Style::for_go(a.target.go_minor().unwrap_or(0));
    if a.signal_handlers.first().is_some_and(|h| h.from_outside) {
        return write_signal_dump(w, a, filter, style);
    }
    write_crash_header(w, a)?;
    let crashing = a.crashing_goroutine().filter(|g| filter.matches(g));
    let mut first = true;
    if let Some(g) = crashing {
        write_goroutine_from(w, g, style, if all_frames { 0 } else { crash_start(g) })?;
        first = false;
    }
    for g in a.goroutines.iter().filter(|g| Some(g.id) != a.crash.goroutine && filter.matches(g)) {
        if !first {
            writeln!(w)?;
        }
        first = false;
        write_goroutine(w, g, style)?;
    }
    Ok(())
}

/// A dump the runtime printed handling a signal from outside, M by M
/// (`sighandler` under `GOTRACEBACK=crash`): each M's `SIGQUIT: quit` /
/// `PC=… m=… sigcode=…` block with the goroutine it interrupted, the first
/// M's followed by every goroutine, then its registers; `-----` between Ms.
fn write_signal_dump(w: &mut dyn Write, a: &Analysis, filter: &GoroutineFilter, style: Style) -> io::Result<()> {
    // dumpregs pads names to 7 columns on amd64, 8 on arm64.
    let width = if a.target.goarch.as_deref() == Some("arm64") { 8 } else { 7 };
    for (i, h) in a.signal_handlers.iter().enumerate() {
        writeln!(w, "{}: {}", h.signal, signal_description(&h.signal).unwrap_or("signal"))?;
        writeln!(w, "PC={:#x} m={} sigcode={}", h.pc.0, h.m, h.code)?;
        writeln!(w)?;
        write_goroutine(w, &h.goroutine, style)?;
        if i == 0 {
            for g in a.goroutines.iter().filter(|g| filter.matches(g)) {
                writeln!(w)?;
                write_goroutine(w, g, style)?;
            }
            writeln!(w)?;
        }
        for r in &h.registers {
            writeln!(w, "{:<width$}{:#x}", r.name, r.value.0)?;
        }
        if i.saturating_add(1) < a.signal_handlers.len() {
            write!(w, "\n-----\n\n")?;
        }
    }
    Ok(())
}
