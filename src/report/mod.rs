//! Reports: the JSON report (versioned, schema in `docs/report.schema.json`),
//! the text report, and the runtime-format traceback.

pub mod text;
pub mod traceback;

use crate::addr::Addr;
use crate::corefile::Compression;
use crate::runtime::crash::Crash;
use crate::runtime::goroutines::{CreatedBy, Goroutine, Goroutines, UnwindSource};
use crate::runtime::Process;
use serde::Serialize;

/// Version of the JSON report's schema. Bump the major on incompatible changes.
pub const SCHEMA_VERSION: &str = "1.0.0";

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

/// A frame in the JSON report.
#[derive(Serialize, Debug)]
pub struct FrameOut<'a> {
    /// Symbol name.
    pub function: &'a str,
    /// The runtime's print name (`panic`, `F[...]`).
    pub print_name: String,
    /// File.
    pub file: &'a str,
    /// Line.
    pub line: i32,
    /// Program counter.
    pub pc: Addr,
    /// Stack pointer.
    pub sp: Addr,
    /// Caller's stack pointer.
    pub fp: Addr,
    /// Inlined into the next frame.
    pub inlined: bool,
    /// Argument words as printed by the runtime.
    pub args: &'a str,
    /// On a system stack (g0/gsignal), not the goroutine's own.
    pub system_stack: bool,
}

/// A goroutine in the JSON report.
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
    pub created_by: Option<&'a CreatedBy>,
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
    pub frames: Vec<FrameOut<'a>>,
}

impl<'a> GoroutineOut<'a> {
    /// The JSON view of a goroutine.
    pub fn from(g: &'a Goroutine) -> Self {
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
            frames: g
                .frames
                .iter()
                .map(|f| FrameOut {
                    function: &f.function,
                    print_name: f.print_name(),
                    file: &f.file,
                    line: f.line,
                    pc: f.pc,
                    sp: f.sp,
                    fp: f.fp,
                    inlined: f.inlined,
                    args: &f.args,
                    system_stack: f.system_stack,
                })
                .collect(),
        }
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
    pub goroutines: Vec<GoroutineOut<'a>>,
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
pub fn build<'a>(p: &Process, gs: &'a Goroutines, crash: &'a Crash) -> Report<'a> {
    let mut warnings = p.warnings.clone();
    warnings.extend(gs.warnings.iter().cloned());
    Report {
        schema_version: SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION"),
        target: target(p),
        crash,
        clock_ns: gs.clock_ns,
        goroutines: gs.list.iter().map(GoroutineOut::from).collect(),
        warnings,
    }
}
