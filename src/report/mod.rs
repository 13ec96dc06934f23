//! Reports: the JSON report (versioned, schema in `docs/report.schema.json`),
//! the text report, and the runtime-format traceback.

pub mod text;
pub mod trace_text;
pub mod traceback;

use crate::addr::Addr;
use crate::analysis::maps::MapAnalysis;
use crate::corefile::Compression;
use crate::runtime::crash::Crash;
use crate::runtime::goroutines::{CreatedBy, Goroutine, Goroutines, UnwindSource};
use crate::runtime::symbolize::Frame;
use crate::runtime::Process;
use rayon::prelude::*;
use serde::Serialize;
use std::io::{self, Write};

/// Version of the JSON report's schema. Bump the major on incompatible changes.
pub const SCHEMA_VERSION: &str = "1.1.0";

/// The analyzed program.
#[derive(Serialize, Debug)]
pub struct Target {
    /// Go version, e.g. `go1.27.3`.
    pub go_version: String,
    /// `GOEXPERIMENT` setting, if any.
    pub goexperiment: Option<String>,
    /// Main package path.
    pub main_package: Option<String>,
    /// Executable path as given.
    pub executable: String,
    /// Core path as given.
    pub core: String,
    /// How the core was stored.
    pub core_compression: Compression,
    /// PIE executable.
    pub pie: bool,
    /// Load bias.
    pub load_bias: Addr,
    /// Go build ID.
    pub go_build_id: Option<String>,
    /// GNU build ID (Go 1.24+).
    pub gnu_build_id: Option<String>,
    /// Process id at death.
    pub pid: Option<u32>,
    /// Command line at death (at most 80 bytes, as the kernel keeps it).
    pub command: Option<String>,
    /// Number of threads in the core.
    pub threads: usize,
}

/// A goroutine in the JSON report (borrowed, built as it is written).
#[derive(Serialize, Debug)]
pub struct GoroutineOut<'a> {
    /// Goroutine id.
    pub id: u64,
    /// Status without suffixes (`chan receive`, `running`, `select (no cases)`).
    pub status: &'a str,
    /// Wait reason for waiting goroutines.
    pub wait_reason: Option<&'a str>,
    /// Estimated minutes waited (against `clock_ns`).
    pub wait_minutes: Option<i64>,
    /// Locked to its OS thread.
    pub locked_to_thread: bool,
    /// Where it was created.
    pub created_by: Option<&'a CreatedBy<'a>>,
    /// Address of the `g`.
    pub address: Addr,
    /// The `_Gscan` bit.
    pub scan: bool,
    /// M id, if on an M.
    pub m: Option<i64>,
    /// OS thread id, for running (or syscall) goroutines.
    pub thread: Option<u64>,
    /// Where unwinding started.
    pub unwound_from: UnwindSource,
    /// Why the stack is incomplete, if it is.
    pub stack_error: Option<&'a str>,
    /// Remarks.
    pub notes: &'a [String],
    /// All frames, innermost first, never elided.
    pub frames: &'a [Frame<'a>],
}

impl<'a> GoroutineOut<'a> {
    /// The JSON view of a goroutine.
    pub fn from(g: &'a Goroutine<'a>) -> Self {
        GoroutineOut {
            id: g.id,
            status: &g.status,
            wait_reason: g.wait_reason.as_deref(),
            wait_minutes: g.wait_minutes,
            locked_to_thread: g.locked_to_thread,
            created_by: g.created_by.as_ref(),
            address: g.address,
            scan: g.scan,
            m: g.m.as_ref().map(|m| m.id),
            thread: g.thread,
            unwound_from: g.unwound_from,
            stack_error: g.stack_error.as_deref(),
            notes: &g.notes,
            frames: &g.frames,
        }
    }
}

/// All goroutines, serialized one by one as they are written (no copy of the list).
#[derive(Debug)]
pub struct GoroutinesOut<'a>(pub &'a [Goroutine<'a>]);

impl Serialize for GoroutinesOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(GoroutineOut::from))
    }
}

/// The report of `gotopsy analyze`.
#[derive(Serialize, Debug)]
pub struct Report<'a> {
    /// Schema version of this document.
    pub schema_version: &'static str,
    /// gotopsy's version.
    pub tool_version: &'static str,
    /// The program.
    pub target: Target,
    /// How it died.
    pub crash: &'a Crash,
    /// The latest runtime clock reading found (nanotime), the reference for `wait_minutes`.
    pub clock_ns: i64,
    /// Goroutines in the runtime's `allgs` order.
    pub goroutines: GoroutinesOut<'a>,
    /// Maps, iterators and findings.
    #[serde(flatten)]
    pub maps: &'a MapAnalysis,
    /// The execution trace joined with the core (`--trace`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<&'a crate::analysis::trace_join::TraceJoin<'a>>,
    /// Problems that did not stop the analysis.
    pub warnings: Vec<String>,
}

/// Describes the target.
pub fn target(p: &Process) -> Target {
    let bi = p.exe.build_info.as_ref();
    Target {
        go_version: p.go_version.clone(),
        goexperiment: bi.and_then(|b| b.goexperiment.clone()),
        main_package: bi.and_then(|b| b.path.clone()),
        executable: p.exe.path.display().to_string(),
        core: p.core.path.display().to_string(),
        core_compression: p.core.compression,
        pie: p.exe.is_pie,
        load_bias: Addr(p.bias),
        go_build_id: p.exe.go_build_id.clone(),
        gnu_build_id: p.exe.gnu_build_id.clone(),
        pid: p.core.process.as_ref().map(|i| i.pid),
        command: p.core.process.as_ref().map(|i| i.psargs.clone()),
        threads: p.core.threads.len(),
    }
}

/// Assembles the report.
pub fn build<'a>(p: &Process, gs: &'a Goroutines<'a>, crash: &'a Crash, maps: &'a MapAnalysis) -> Report<'a> {
    let mut warnings = p.warnings.clone();
    warnings.extend(gs.warnings.iter().cloned());
    warnings.extend(maps.warnings.iter().cloned());
    Report {
        schema_version: SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION"),
        target: target(p),
        crash,
        clock_ns: gs.clock_ns,
        goroutines: GoroutinesOut(&gs.list),
        maps,
        trace: None,
        warnings,
    }
}

/// Goroutines serialized per parallel task.
const JSON_CHUNK: usize = 1024;
/// Chunks serialized before they are written (bounds the buffered output).
const JSON_WINDOW: usize = 16;

/// Writes the report as compact JSON. Goroutines are serialized in parallel,
/// a bounded window of chunks at a time, and written in order.
pub fn write_json(w: &mut dyn Write, r: &Report<'_>) -> io::Result<()> {
    fn field(w: &mut dyn Write, first: bool, name: &str, v: &impl Serialize) -> io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        serde_json::to_writer(&mut *w, name)?;
        w.write_all(b":")?;
        serde_json::to_writer(&mut *w, v)?;
        Ok(())
    }
    w.write_all(b"{")?;
    field(w, true, "schema_version", &r.schema_version)?;
    field(w, false, "tool_version", &r.tool_version)?;
    field(w, false, "target", &r.target)?;
    field(w, false, "crash", r.crash)?;
    field(w, false, "clock_ns", &r.clock_ns)?;
    w.write_all(b",\"goroutines\":[")?;
    write_items(w, r.goroutines.0, write_goroutine_json)?;
    w.write_all(b"]")?;
    array(w, "maps", &r.maps.maps)?;
    array(w, "iterators", &r.maps.iterators)?;
    field(w, false, "findings", &r.maps.findings)?;
    field(w, false, "dead_iterator_slots", &r.maps.dead_iterator_slots)?;
    if let Some(t) = r.trace {
        field(w, false, "trace", t)?;
    }
    field(w, false, "warnings", &r.warnings)?;
    w.write_all(b"}\n")
}

/// Writes `,"name":[…]` with serde, the items serialized in parallel.
fn array<T: Serialize + Sync>(w: &mut dyn Write, name: &str, items: &[T]) -> io::Result<()> {
    w.write_all(b",")?;
    serde_json::to_writer(&mut *w, name)?;
    w.write_all(b":[")?;
    write_items(w, items, |b, item| Ok(serde_json::to_writer(b, item)?))?;
    w.write_all(b"]")
}

/// Writes the items comma-separated: chunks are serialized in parallel, a
/// bounded window at a time, and written in order.
fn write_items<T: Sync>(
    w: &mut dyn Write,
    items: &[T],
    one: impl Fn(&mut Vec<u8>, &T) -> io::Result<()> + Sync,
) -> io::Result<()> {
    let mut first = true;
    for window in items.chunks(JSON_CHUNK * JSON_WINDOW) {
        let bufs: Vec<io::Result<Vec<u8>>> = window
            .par_chunks(JSON_CHUNK)
            .map(|chunk| {
                let mut b = Vec::with_capacity(chunk.len() * 512);
                for (i, item) in chunk.iter().enumerate() {
                    if i > 0 {
                        b.push(b',');
                    }
                    one(&mut b, item)?;
                }
                Ok(b)
            })
            .collect();
        for b in bufs {
            let b = b?;
            if b.is_empty() {
                continue;
            }
            if !first {
                w.write_all(b",")?;
            }
            first = false;
            w.write_all(&b)?;
        }
    }
    Ok(())
}

/// Writes one goroutine: its fields through serde, its frames by hand (they
/// are nearly all of the output, and their keys never need escaping).
fn write_goroutine_json(b: &mut Vec<u8>, g: &Goroutine<'_>) -> io::Result<()> {
    let mut head = GoroutineOut::from(g);
    head.frames = &[];
    serde_json::to_writer(&mut *b, &head)?;
    // Replace `"frames":[]}` with the real frames.
    let tail = b"\"frames\":[]}";
    if b.ends_with(tail) {
        b.truncate(b.len() - tail.len());
    } else {
        return Err(io::Error::other("unexpected goroutine JSON shape"));
    }
    b.extend_from_slice(b"\"frames\":[");
    for (i, f) in g.frames.iter().enumerate() {
        if i > 0 {
            b.push(b',');
        }
        write_frame_json(b, f);
    }
    b.extend_from_slice(b"]}");
    Ok(())
}

/// Appends a JSON string, escaping only where needed.
fn json_str(b: &mut Vec<u8>, s: &str) {
    if s.bytes().all(|c| c >= 0x20 && c != b'"' && c != b'\\') {
        b.push(b'"');
        b.extend_from_slice(s.as_bytes());
        b.push(b'"');
    } else {
        // Rare: let serde_json escape it (writing to a Vec cannot fail).
        let _ = serde_json::to_writer(&mut *b, s);
    }
}

fn json_addr(b: &mut Vec<u8>, a: Addr) {
    let mut buf = [0u8; 18];
    b.push(b'"');
    b.extend_from_slice(a.to_hex_bytes(&mut buf));
    b.push(b'"');
}

/// The frame shape of `Frame`'s `Serialize` impl, written directly.
fn write_frame_json(b: &mut Vec<u8>, f: &Frame<'_>) {
    b.extend_from_slice(b"{\"function\":");
    json_str(b, f.function);
    let pn = f.print_name();
    if pn != f.function {
        b.extend_from_slice(b",\"print_name\":");
        json_str(b, &pn);
    }
    b.extend_from_slice(b",\"file\":");
    json_str(b, f.file);
    b.extend_from_slice(b",\"line\":");
    let mut line = itoa_buf(f.line);
    b.extend_from_slice(line.as_slice());
    b.extend_from_slice(b",\"pc\":");
    json_addr(b, f.pc);
    b.extend_from_slice(b",\"sp\":");
    json_addr(b, f.sp);
    b.extend_from_slice(b",\"fp\":");
    json_addr(b, f.fp);
    b.extend_from_slice(if f.inlined { b",\"inlined\":true,\"args\":" } else { b",\"inlined\":false,\"args\":" });
    json_str(b, &f.args);
    if f.system_stack {
        b.extend_from_slice(b",\"system_stack\":true");
    }
    b.push(b'}');
}

/// Decimal digits of `v` without allocating.
struct Digits {
    buf: [u8; 12],
    start: usize,
}

impl Digits {
    fn as_slice(&mut self) -> &[u8] {
        &self.buf[self.start..]
    }
}

fn itoa_buf(v: i32) -> Digits {
    let mut buf = [0u8; 12];
    let mut i = buf.len();
    let neg = v < 0;
    let mut u = v.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    if neg {
        i -= 1;
        buf[i] = b'-';
    }
    Digits { buf, start: i }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[test]
    fn fast_frame_writer_equals_serde() {
        for (function, file, args) in [
            ("main.main", "crashzoo/main.go", "0x1, {0x2, 0x3}"),
            ("runtime.gopanic", "runtime/panic.go", "..."),
            ("main.F[go.shape.int]", "we\"ird\\path\n.go", ""),
        ] {
            let f = Frame {
                function,
                file,
                line: 42,
                pc: Addr(0x401000),
                sp: Addr(0xc000010000),
                fp: Addr(0xc000010040),
                entry: Addr(0x400ff0),
                inlined: args == "...",
                args: args.to_string(),
                system_stack: function == "runtime.gopanic",
            };
            let mut fast = Vec::new();
            write_frame_json(&mut fast, &f);
            let slow = serde_json::to_vec(&f).unwrap();
            assert_eq!(String::from_utf8_lossy(&fast), String::from_utf8_lossy(&slow));
            let _: Cow<'_, str> = f.print_name();
        }
    }
}
