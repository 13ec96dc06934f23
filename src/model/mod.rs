//! The owned analysis: everything `analyze` concluded about one core, owning
//! its data (no borrow of the core or the executable, names interned), `Send`,
//! and exactly the report JSON of `analyze --format json` both ways
//! ([`Analysis::write_json`], [`Analysis::from_json`]). Every surface — the
//! text and JSON renderers, `report`, the TUI, the scan — draws from it.

mod build;
mod core_only;
pub mod filter;
pub mod goroutine;
pub mod group;

mod json;
pub mod secrets;

pub use build::{analyze, trace_goroutine, AnalyzeOptions, NoProgress, Phase, Progress, TraceSource};
pub use core_only::{core_only, CoreAlone, CoreMapping, CoreThread};
pub use filter::GoroutineFilter;
pub use goroutine::{CreatedBy, Frame, FrameRef, Frames, Goroutine, Stack};
pub use group::StackGroup;
pub use json::{ReportError, MAX_REPORT_BYTES};

use crate::addr::Addr;
use crate::analysis::trace_join::TraceJoin;
use crate::analysis::Finding;
use crate::corefile::Compression;
use crate::runtime::crash::Crash;
use crate::runtime::maps::iterators::MapIterator;
use crate::runtime::maps::MapHeader;
use crate::runtime::Process;

/// Version of the JSON report's schema. The major changes on incompatible
/// changes; fields are added in minors.
pub const SCHEMA_VERSION: &str = "1.5.0";

/// The analyzed program.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Target {
    /// Go version, e.g. `go1.27.3`.
    pub go_version: String,
    /// `GOARCH` of the core and executable: `amd64`, `arm64` (absent in reports of schema before 1.3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goarch: Option<String>,
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
    /// Command line at death (at most 80 bytes, as the kernel keeps it), the
    /// values of secret-looking arguments masked (see [`secrets`]).
    pub command: Option<String>,
    /// Number of threads in the core.
    pub threads: usize,
}

impl Target {
    /// Describes the program of a process.
    pub fn of(p: &Process) -> Target {
        let bi = p.exe.build_info.as_ref();
        Target {
            go_version: p.go_version.clone(),
            goarch: Some(p.arch.goarch().to_string()),
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
            command: p.core.process.as_ref().map(|i| secrets::mask_command(&i.psargs)),
            threads: p.core.threads.len(),
        }
    }

    /// The Go minor version (`27` for `go1.27.3`), when the version says.
    pub fn go_minor(&self) -> Option<u32> {
        crate::exe::buildinfo::parse_major_minor(&self.go_version).map(|(_, m)| m)
    }
}

/// Whether the map analysis ran.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MapsAnalysis {
    /// Maps and iterators were analyzed.
    #[default]
    Done,
    /// `--no-maps`.
    Skipped,
    /// It could not run (a warning says why).
    Unavailable,
}

/// Everything gotopsy concluded about one core.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Analysis {
    /// Schema version of the document it was read from or will be written as.
    pub schema_version: String,
    /// The gotopsy version that analyzed the core.
    pub tool_version: String,
    /// The program.
    pub target: Target,
    /// How it died.
    pub crash: Crash,
    /// The latest runtime clock reading found (nanotime), the reference for `wait_minutes`.
    pub clock_ns: i64,
    /// Goroutines in the runtime's `allgs` order.
    pub goroutines: Vec<Goroutine>,
    /// Whether the map analysis ran.
    #[serde(default)]
    pub maps_analysis: MapsAnalysis,
    /// Map headers the analysis read, by address (boxed: the table they were read into hands them over without a copy).
    pub maps: Vec<Box<MapHeader>>,
    /// Live (or possibly live) map iterators.
    pub iterators: Vec<MapIterator>,
    /// Conclusions, most severe first within each kind.
    pub findings: Vec<Finding>,
    /// Iterator stack slots that were dead at their frame's pc.
    pub dead_iterator_slots: usize,
    /// The execution trace joined with the core (`--trace`).
    #[serde(default)]
    pub trace: Option<TraceJoin>,
    /// Problems that did not stop the analysis, typed (in JSON: `warnings[]`
    /// their texts, `warning_kinds[]` their kinds, in the same order).
    pub warnings: Vec<crate::warning::Warning>,
    /// The Ms inside the runtime's signal handler for a signal from outside
    /// (a SIGQUIT dump, an external kill under `GOTRACEBACK=crash`): each
    /// one's block of the runtime's printout.
    #[serde(default)]
    pub signal_handlers: Vec<crate::runtime::signal_dump::HandledSignal>,
    /// What the core alone says (threads and their registers, mappings),
    /// given only when no executable could be used ([`core_only`]).
    #[serde(default)]
    pub core_alone: Option<CoreAlone>,
}

impl Analysis {
    /// The goroutine with id `id`.
    pub fn goroutine(&self, id: u64) -> Option<&Goroutine> {
        self.goroutines.iter().find(|g| g.id == id)
    }

    /// The crash's signature (`gosig/1`, `docs/signatures.md`): the same for
    /// this core's crash log, and across Go versions and rebuilds.
    pub fn signature(&self) -> crate::analysis::signature::Signature {
        use crate::analysis::signature::{signature, CrashText};
        use crate::runtime::crash::CrashKind;
        let c = &self.crash;
        // The signal the runtime reported: the one from outside when there was one.
        let reported =
            c.received_signal.as_ref().map(|r| r.name.as_str()).or(c.signal.as_ref().map(|s| s.name.as_str()));
        let text = match (c.kind, c.message.as_deref(), reported) {
            (CrashKind::FatalError, Some(m), _) => CrashText::Fatal(m),
            (CrashKind::Panic, Some(m), _) => CrashText::Panic(m),
            (CrashKind::SigquitDump | CrashKind::Snapshot, _, _) => {
                let class = if c.kind == CrashKind::Snapshot { CrashText::Snapshot } else { CrashText::SigquitDump };
                let program =
                    crate::analysis::signature::program_of(self.goroutines.iter().flat_map(|g| g.frames.iter()));
                return crate::analysis::signature::of_program(class, program.as_deref());
            }
            (CrashKind::Signal, _, Some(s)) => CrashText::Signal(s),
            _ => CrashText::Unknown,
        };
        let stack = self.crashing_goroutine().map(|g| g.frames.iter()).into_iter().flatten();
        let sig = signature(text, stack);
        // A map race's other side: the first other goroutine of the finding
        // that names the crashing one, at its user frame.
        let minor = self.target.go_minor();
        let other = c.goroutine.and_then(|crashed| {
            let f = self.findings.iter().find(|f| f.goroutines.iter().any(|r| r.id == crashed))?;
            let g = self.goroutine(f.goroutines.iter().find(|r| r.id != crashed)?.id)?;
            g.frames.get(crate::runtime::user_code::user_frame_index(&g.frames, minor)?)
        });
        match other {
            Some(f) => sig.with_other_side(&f),
            None => sig,
        }
    }

    /// The crashing goroutine, when the crash names one.
    pub fn crashing_goroutine(&self) -> Option<&Goroutine> {
        self.crash.goroutine.and_then(|id| self.goroutine(id))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn analysis_is_send_and_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<super::Analysis>();
    }
}
