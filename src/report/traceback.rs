//! Prints goroutines exactly as the runtime's traceback does under
//! `GOTRACEBACK=crash` for the core's Go version, so tools that read Go
//! tracebacks (panicparse and friends) read ours.

use crate::model::{Frame, Goroutine};
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
    if g.leaked {
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
    if let Some(b) = g.bubble {
        s.push_str(&format!(", synctest bubble {b}"));
    }
    s
}

/// Writes the header line.
pub fn write_header(w: &mut dyn Write, g: &Goroutine, style: Style) -> io::Result<()> {
    write!(w, "goroutine {}", g.id)?;
    if style.header_gp {
        write!(w, " gp={:#x}", g.address.0)?;
        match (g.m, g.mp) {
            (Some(m), Some(mp)) => write!(w, " m={m} mp={:#x}", mp.0)?,
            _ => write!(w, " m=nil")?,
        }
    }
    writeln!(w, " [{}]:", status_with_suffixes(g))
}

fn write_frame(w: &mut dyn Write, f: &Frame) -> io::Result<()> {
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
pub fn write_frames(w: &mut dyn Write, frames: &[Frame]) -> io::Result<()> {
    if frames.len() <= INNER_FRAMES + OUTER_FRAMES {
        for f in frames {
            write_frame(w, f)?;
        }
        return Ok(());
    }
    for f in &frames[..INNER_FRAMES] {
        write_frame(w, f)?;
    }
    let elided = frames.len() - INNER_FRAMES - OUTER_FRAMES;
    writeln!(w, "...{elided} frames elided...")?;
    for f in &frames[frames.len() - OUTER_FRAMES..] {
        write_frame(w, f)?;
    }
    Ok(())
}

/// Writes one goroutine: header, frames, `created by`, and a reason line when
/// the stack is incomplete.
pub fn write_goroutine(w: &mut dyn Write, g: &Goroutine, style: Style) -> io::Result<()> {
    write_header(w, g, style)?;
    write_frames(w, &g.frames)?;
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
