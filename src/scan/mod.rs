//! `gotopsy scan`: many crash dumps and crash logs at once, one record per
//! crash, clustered by signature (`gosig/1`). Each core is analyzed with the
//! one analysis and unmapped before the next; a record keeps the findings,
//! not the goroutines. A bad input is a record with an error, never the end
//! of the scan.

mod detect;
pub mod exe_cache;
mod logs;
mod walk;
pub mod when;
pub mod xattrs;

use crate::analysis::signature::{self, Signature};
use crate::analysis::Finding;
use crate::model::{AnalyzeOptions, NoProgress, SCHEMA_VERSION};
use crate::runtime::crash::Crash;
use crate::runtime::user_code::UserFrame;
use crate::runtime::{OpenOptions, Process};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use detect::InputKind;

/// What a scan does.
#[derive(Clone, Debug, Default)]
pub struct ScanOptions {
    /// The executable of every core (`--exe`).
    pub exe: Option<PathBuf>,
    /// Folders holding candidate executables (`--exe-dir`).
    pub exe_dirs: Vec<PathBuf>,
    /// Signatures of an earlier scan (`--baseline`): clusters not among them are new.
    pub baseline: Option<Vec<String>>,
    /// Inputs written before this time (seconds since the epoch) are left out (`--since`).
    pub since: Option<i64>,
    /// This scan's share of the sorted input list: shard `I` of `N` takes the
    /// inputs whose position modulo `N` is `I` (`--shard I/N`).
    pub shard: Option<(usize, usize)>,
    /// Longest one core's analysis may take (`--timeout`; `None`: no limit).
    pub timeout: Option<std::time::Duration>,
}

/// The executable a core was analyzed with.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ExeRecord {
    /// Its path.
    pub path: String,
    /// Its Go build ID.
    pub go_build_id: Option<String>,
    /// Its GNU build ID.
    pub gnu_build_id: Option<String>,
}

/// One crash: a core, or one crash of a log (a log may hold several).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Record {
    /// The input's path, as walked.
    pub path: String,
    /// For logs: the line the crash starts on (1-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// `core` or `log`.
    pub kind: InputKind,
    /// The input's size in bytes.
    pub size: u64,
    /// When it was written (RFC 3339, UTC): a systemd-coredump name's
    /// timestamp, else its `user.coredump.timestamp` attribute, else the
    /// file's modification time.
    #[serde(default)]
    pub time: Option<String>,
    /// For cores: what systemd-coredump recorded in the file's
    /// `user.coredump.*` extended attributes, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coredump: Option<xattrs::Coredump>,
    /// Go version (cores: from the executable; logs: unknown).
    pub go_version: Option<String>,
    /// The executable a core was analyzed with, or null.
    pub executable: Option<ExeRecord>,
    /// Why no executable was used, when none was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executable_error: Option<String>,
    /// How it died (cores: the analysis' crash; logs: what the log printed).
    pub crash: Option<RecordCrash>,
    /// The signature (`gosig/1`).
    pub signature: Option<String>,
    /// Its hash.
    pub signature_hash: Option<String>,
    /// Class and top frame.
    pub signature_top: Option<String>,
    /// The signature's frames with their lines counted from their function's
    /// start, and a map race's other side (cores only; never clustered on).
    pub signature_lines: Option<String>,
    /// The findings of the analysis (cores).
    pub findings: Vec<Finding>,
    /// Goroutines in the core or the log.
    pub goroutines: usize,
    /// Goroutines by state.
    pub states: BTreeMap<String, usize>,
    /// Problems that did not stop the analysis.
    pub warnings: Vec<String>,
    /// Why the input could not be read, when it could not.
    pub error: Option<String>,
    /// For a core no executable matched: what the core alone says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub core_only: Option<CoreOnly>,
}

/// What a core says without its executable.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct CoreOnly {
    /// Threads (`NT_PRSTATUS` notes).
    pub threads: usize,
    /// The signal that stopped the first thread (the one that received it).
    pub signal: Option<String>,
    /// Process id.
    pub pid: Option<u32>,
    /// Command line, secret-looking values masked.
    pub command: Option<String>,
    /// The executable the core records.
    pub recorded_executable: Option<String>,
    /// File-backed mappings (`NT_FILE`).
    pub mappings: usize,
}

impl CoreOnly {
    fn of(c: &crate::corefile::CoreFile) -> CoreOnly {
        CoreOnly {
            threads: c.threads.len(),
            signal: crate::runtime::crash::core_signal(c).map(|s| s.name),
            pid: c.process.as_ref().map(|p| p.pid),
            command: c.process.as_ref().map(|p| crate::model::secrets::mask_command(&p.psargs)),
            recorded_executable: c.recorded_executable(),
            mappings: c.files.len(),
        }
    }
}

/// How a crash died, in a record.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct RecordCrash {
    /// `panic`, `fatal error`, `signal`, `sigquit-dump`, … (see the scan schema).
    pub kind: String,
    /// The panic or fatal error text.
    pub message: Option<String>,
    /// The signal that wrote the core; for a log, the signal header it printed.
    pub signal: Option<String>,
    /// The crashing goroutine.
    pub goroutine: Option<u64>,
    /// Its first frame in the user's code.
    pub user_frame: Option<UserFrame>,
}

/// Crashes that share a signature.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Cluster {
    /// The signature.
    pub signature: String,
    /// Its hash.
    pub signature_hash: String,
    /// Inputs with it.
    pub count: usize,
    /// How many were cores.
    pub cores: usize,
    /// How many were logs.
    pub logs: usize,
    /// Go versions seen.
    pub go_versions: Vec<String>,
    /// Executables seen (Go build IDs).
    pub executables: Vec<String>,
    /// Up to five example paths.
    pub examples: Vec<String>,
    /// The kinds of the findings among its cores.
    pub finding_kinds: Vec<String>,
    /// The earliest and latest `time` of its inputs.
    #[serde(default)]
    pub first_seen: Option<String>,
    #[serde(default)]
    #[allow(missing_docs)]
    pub last_seen: Option<String>,
    /// Not in the baseline (true when no baseline was given).
    pub new: bool,
}

/// A scan's result.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ScanResult {
    /// Schema version of this document.
    pub schema_version: String,
    /// One record per crash (logs too, `kind: "log"`).
    pub cores: Vec<Record>,
    /// Records grouped by signature, largest first.
    pub clusters: Vec<Cluster>,
    /// Files that were neither cores nor crash logs.
    pub skipped: usize,
    /// A baseline was given (clusters' `new` compares with it).
    pub baseline: bool,
    /// Inputs left out as written before `--since`.
    #[serde(default)]
    pub too_old: usize,
    /// `I/N` when this is one shard of a scan (`--shard`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
}

fn crash_of(c: &Crash) -> RecordCrash {
    RecordCrash {
        kind: c.kind.to_string(),
        message: c.message.clone(),
        signal: c.signal.as_ref().map(|s| s.name.clone()),
        goroutine: c.goroutine,
        user_frame: c.user_frame.clone(),
    }
}

fn empty(path: &Path, kind: InputKind, size: u64) -> Record {
    Record {
        path: path.display().to_string(),
        line: None,
        kind,
        size,
        time: None,
        coredump: None,
        go_version: None,
        executable: None,
        executable_error: None,
        crash: None,
        signature: None,
        signature_hash: None,
        signature_top: None,
        signature_lines: None,
        findings: Vec::new(),
        goroutines: 0,
        states: BTreeMap::new(),
        warnings: Vec::new(),
        error: None,
        core_only: None,
    }
}

fn set_signature(r: &mut Record, s: Signature) {
    r.signature = Some(s.signature);
    r.signature_hash = Some(s.signature_hash);
    r.signature_top = Some(s.signature_top);
    r.signature_lines = s.lines;
}

/// What every core of a scan shares: the indexed `--exe-dir` candidates and
/// the parsed executables.
struct Context {
    candidates: Vec<Candidate>,
    cache: exe_cache::ExeCache,
}

/// A candidate executable (or debug file) under an `--exe-dir`, indexed once.
struct Candidate {
    path: PathBuf,
    /// Stated entry point (a non-PIE core's `AT_ENTRY` equals it).
    entry: u64,
    pie: bool,
    /// A debug file: symbols and DWARF for a stripped executable of its build.
    debug_only: bool,
    go_build_id: Option<String>,
    gnu_build_id: Option<String>,
}

/// The Go executables and debug files under the `--exe-dir`s (other files
/// are left out), recognised by content whatever their names — so
/// debuginfod's layouts (`.build-id/xx/rest` and `rest.debug`, the client
/// cache's `<build-id>/executable` and `debuginfo`) are found too.
fn index(dirs: &[PathBuf]) -> Vec<Candidate> {
    walk::walk(dirs)
        .par_iter()
        .filter_map(|p| {
            let e = crate::exe::Executable::open(p).ok()?;
            Some(Candidate {
                path: p.clone(),
                entry: e.entry,
                pie: e.is_pie,
                debug_only: e.is_debug_only(),
                go_build_id: e.go_build_id.clone(),
                gnu_build_id: e.gnu_build_id.clone(),
            })
        })
        .collect()
}

/// A stripped executable gets the symbols of a debug file of its build, when one was indexed.
fn with_debug_file(mut e: crate::exe::Executable, exes: &[Candidate]) -> crate::exe::Executable {
    if e.has_symbols() {
        return e;
    }
    let same = |a: &Option<String>, b: &Option<String>| a.is_some() && a == b;
    let dbg = exes
        .iter()
        .filter(|c| c.debug_only || c.path != e.path)
        .find(|c| same(&c.go_build_id, &e.go_build_id) || same(&c.gnu_build_id, &e.gnu_build_id));
    if let Some(d) = dbg.and_then(|c| crate::exe::Executable::open(&c.path).ok()) {
        // A file of the same build without symbols either changes nothing.
        let _ = e.attach_symbols(d);
    }
    e
}

/// Candidate executables: `--exe`, else the path the core records, else the
/// `--exe-dir` executables whose entry point the core's process entered at
/// (PIE ones always), each checked by build as the core is opened.
/// Why a core could not be analyzed: the error, what was tried, what the core alone says.
type CoreFailure = Box<(String, Option<String>, Option<CoreOnly>)>;

fn open_core(path: &Path, o: &ScanOptions, ctx: &Context) -> Result<Process, CoreFailure> {
    let exes = &ctx.candidates;
    // The core is read (and decompressed) once; each candidate gets a clone of it.
    let core = crate::corefile::CoreFile::open(path).map_err(|e| Box::new((e.to_string(), None, None)))?;
    // Executables are parsed once per scan (the cache), each with its debug file.
    let parsed = |exe: &Path| {
        ctx.cache
            .get(exe, || crate::exe::Executable::open(exe).map(|e| with_debug_file(e, exes)).map_err(|e| e.to_string()))
    };
    if let Some(exe) = &o.exe {
        let e = parsed(exe).map_err(|e| Box::new((e, None, None)))?;
        return Process::from_parts(core, e, &OpenOptions { exe: Some(exe.clone()), ..Default::default() })
            .map_err(|e| Box::new((e.to_string(), None, None)));
    }
    let with = |exe: &Path| -> Result<Process, String> {
        Process::from_parts(core.clone(), parsed(exe)?, &OpenOptions::default()).map_err(|e| e.to_string())
    };
    let mut tried = Vec::new();
    match core.recorded_executable().map(PathBuf::from) {
        Some(rec) if rec.exists() => match with(&rec) {
            Ok(p) => return Ok(p),
            Err(e) => tried.push(format!("the recorded executable {}: {e}", rec.display())),
        },
        Some(rec) => tried.push(format!("the recorded executable {} is not here", rec.display())),
        None => tried.push("the core records no executable".into()),
    }
    let entered = core.auxv(crate::corefile::notes::AT_ENTRY);
    for exe in exes.iter().filter(|c| !c.debug_only && (c.pie || entered.is_none_or(|e| e == c.entry))) {
        if let Ok(p) = with(&exe.path) {
            return Ok(p);
        }
    }
    if !exes.is_empty() {
        tried.push(format!("{} files under --exe-dir: none has this core's build", exes.len()));
    }
    Err(Box::new(("no executable matches".into(), Some(tried.join("; ")), Some(CoreOnly::of(&core)))))
}

/// [`scan_core`] within `--timeout`: the analysis runs on a thread of its
/// own; one that takes longer is left to finish unobserved (every loop over
/// target data is bounded, so it ends) and the core's record says it timed out.
fn scan_core_timed(path: &Path, size: u64, o: &ScanOptions, exes: &std::sync::Arc<Context>) -> Record {
    let Some(limit) = o.timeout else { return scan_core(path, size, o, exes) };
    let (tx, rx) = std::sync::mpsc::channel();
    let (p, opts, list) = (path.to_path_buf(), o.clone(), std::sync::Arc::clone(exes));
    let spawned = std::thread::Builder::new().name("scan-core".into()).spawn(move || {
        // The receiver may be gone (timed out): the record is then dropped.
        let _ = tx.send(scan_core(&p, size, &opts, &list));
    });
    if let Err(e) = spawned {
        let mut r = empty(path, InputKind::Core, size);
        r.error = Some(format!("cannot start the analysis: {e}"));
        return r;
    }
    match rx.recv_timeout(limit) {
        Ok(r) => r,
        Err(_) => {
            let mut r = empty(path, InputKind::Core, size);
            r.error = Some(format!("the analysis took longer than --timeout {}s: left out", limit.as_secs_f64()));
            r
        }
    }
}

fn scan_core(path: &Path, size: u64, o: &ScanOptions, exes: &Context) -> Record {
    let mut r = empty(path, InputKind::Core, size);
    let p = match open_core(path, o, exes) {
        Ok(p) => p,
        Err(failure) => {
            let (e, tried, alone) = *failure;
            r.error = Some(e);
            r.executable_error = tried;
            r.core_only = alone;
            return r;
        }
    };
    let a = match crate::model::analyze(&p, &AnalyzeOptions::default(), &NoProgress) {
        Ok(a) => a,
        Err(e) => {
            r.error = Some(e.to_string());
            return r;
        }
    };
    r.go_version = Some(a.target.go_version.clone());
    r.executable = Some(ExeRecord {
        path: a.target.executable.clone(),
        go_build_id: a.target.go_build_id.clone(),
        gnu_build_id: a.target.gnu_build_id.clone(),
    });
    r.crash = Some(crash_of(&a.crash));
    set_signature(&mut r, a.signature());
    r.goroutines = a.goroutines.len();
    for g in &a.goroutines {
        let n = r.states.entry(g.status.to_string()).or_default();
        *n = n.saturating_add(1);
    }
    r.warnings = a.warnings.iter().map(|w| w.text.clone()).collect();
    r.findings = a.findings;
    r
}

/// The crashes of a log; `file_time` (the file's, as the scan found it)
/// gives a syslog time its year.
fn scan_log(path: &Path, size: u64, file_time: Option<i64>) -> Vec<Record> {
    let (text, cut) = match detect::read_text(path) {
        Ok(t) => t,
        Err(e) => {
            let mut r = empty(path, InputKind::Log, size);
            r.error = Some(e);
            return vec![r];
        }
    };
    logs::crashes(&text)
        .into_iter()
        .map(|(line, crash, stamp)| {
            let mut r = empty(path, InputKind::Log, size);
            r.line = Some(line);
            // When the crash's header line says it was written.
            r.time = stamp.and_then(|s| s.seconds(file_time)).map(when::rfc3339);
            let t = crate::crashlog::parse(&crash);
            set_signature(&mut r, signature::of_crash_log(&t));
            let first = t.goroutines.iter().find(|g| !g.frames.is_empty());
            let kind = match (&t.fatal_error, &t.panic, t.signal.as_deref()) {
                (Some(_), _, _) => "fatal error",
                (None, Some(_), _) => "panic",
                (None, None, Some("SIGQUIT")) => "sigquit-dump",
                (None, None, Some(_)) => "signal",
                (None, None, None) => "unknown",
            };
            r.crash = Some(RecordCrash {
                kind: kind.into(),
                message: t.fatal_error.clone().or(t.panic.clone()),
                signal: t.signal.clone(),
                goroutine: first.map(|g| g.id),
                user_frame: first.and_then(|g| crate::runtime::user_code::user_frame(&g.frames, None)),
            });
            r.goroutines = t.goroutines.len();
            for g in &t.goroutines {
                let n = r.states.entry(g.status()).or_default();
                *n = n.saturating_add(1);
            }
            if cut {
                r.warnings.push(format!(
                    "the log is longer than {} MiB: only its first {} MiB were read, crashes after them are not listed",
                    detect::MAX_LOG_MIB,
                    detect::MAX_LOG_MIB
                ));
            }
            r
        })
        .collect()
}

/// Scans `paths` (files and folders, walked following symlinks).
pub fn scan(paths: &[PathBuf], o: &ScanOptions) -> ScanResult {
    struct Quiet;
    impl ScanObserver for Quiet {}
    scan_observed(paths, o, &Quiet)
}

/// Told as a scan moves on (a progress bar, a stream of records).
pub trait ScanObserver: Sync {
    /// The inputs to read, once the paths are walked and filtered.
    fn inputs(&self, _count: usize) {}
    /// A record, as its input finishes (on the worker that read it, in no set order).
    fn record(&self, _r: &Record) {}
    /// An input is done, its records given.
    fn input_done(&self) {}
}

/// [`scan`], telling `observer` as it goes.
pub fn scan_observed(paths: &[PathBuf], o: &ScanOptions, observer: &dyn ScanObserver) -> ScanResult {
    let mut files = walk::walk(paths);
    if let Some((i, n)) = o.shard {
        files =
            files.into_iter().enumerate().filter(|(k, _)| k.checked_rem(n.max(1)) == Some(i)).map(|(_, f)| f).collect();
    }
    let times: Vec<Option<i64>> = files.iter().map(|f| when::of_file(f)).collect();
    let before = files.len();
    let (files, times): (Vec<PathBuf>, Vec<Option<i64>>) =
        files.into_iter().zip(times).filter(|(_, t)| o.since.is_none_or(|since| t.is_none_or(|t| t >= since))).unzip();
    let too_old = before.saturating_sub(files.len());
    observer.inputs(files.len());
    let exes = std::sync::Arc::new(Context { candidates: index(&o.exe_dirs), cache: Default::default() });
    let per_file: Vec<(Vec<Record>, bool)> = files
        .par_iter()
        .zip(times.par_iter())
        .map(|(f, t)| {
            let (mut records, skipped) = scan_file(f, *t, o, &exes);
            for r in &mut records {
                // A log's crash may have its own time, from its line's prefix.
                if r.time.is_none() {
                    r.time = t.map(when::rfc3339);
                }
                observer.record(r);
            }
            observer.input_done();
            (records, skipped)
        })
        .collect();
    let skipped = per_file.iter().filter(|(_, s)| *s).count();
    let records: Vec<Record> = per_file.into_iter().flat_map(|(r, _)| r).collect();
    let clusters = clusters(&records, o.baseline.as_deref());
    ScanResult {
        schema_version: SCHEMA_VERSION.into(),
        cores: records,
        clusters,
        skipped,
        baseline: o.baseline.is_some(),
        too_old,
        shard: o.shard.map(|(i, n)| format!("{i}/{n}")),
    }
}

/// Merges the results of the shards of one scan (`--merge`) into what a
/// single scan gives: the records in walk order (the inputs' sorted paths,
/// then line), counts added, clusters made again from every record.
pub fn merge(parts: Vec<ScanResult>, baseline: Option<&[String]>) -> ScanResult {
    let mut skipped = 0;
    let mut too_old = 0;
    let mut records = Vec::new();
    for p in parts {
        skipped = p.skipped.saturating_add(skipped);
        too_old = p.too_old.saturating_add(too_old);
        records.extend(p.cores);
    }
    records.sort_by(|a, b| Path::new(&a.path).cmp(Path::new(&b.path)).then(a.line.cmp(&b.line)));
    let clusters = clusters(&records, baseline);
    ScanResult {
        schema_version: SCHEMA_VERSION.into(),
        cores: records,
        clusters,
        skipped,
        baseline: baseline.is_some(),
        too_old,
        shard: None,
    }
}

/// The records of one input file, and whether it was skipped (neither a core nor a crash log).
fn scan_file(f: &Path, time: Option<i64>, o: &ScanOptions, exes: &std::sync::Arc<Context>) -> (Vec<Record>, bool) {
    let size = std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
    match detect::kind(f) {
        Ok(Some(InputKind::Core)) => {
            let mut r = scan_core_timed(f, size, o, exes);
            r.coredump = xattrs::read(f);
            (vec![r], false)
        }
        Ok(Some(InputKind::Log)) => {
            // Text that mentioned goroutines but holds no crash is skipped too.
            let r = scan_log(f, size, time);
            let none = r.is_empty();
            (r, none)
        }
        Ok(None) => (Vec::new(), true),
        Err(e) => {
            let mut r = empty(f, InputKind::Core, size);
            r.error = Some(e);
            (vec![r], false)
        }
    }
}

fn clusters(records: &[Record], baseline: Option<&[String]>) -> Vec<Cluster> {
    let mut by: BTreeMap<&str, Cluster> = BTreeMap::new();
    for r in records {
        let Some(sig) = r.signature.as_deref() else { continue };
        let c = by.entry(sig).or_insert_with(|| Cluster {
            signature: sig.to_string(),
            signature_hash: r.signature_hash.clone().unwrap_or_default(),
            count: 0,
            cores: 0,
            logs: 0,
            go_versions: Vec::new(),
            executables: Vec::new(),
            examples: Vec::new(),
            finding_kinds: Vec::new(),
            first_seen: None,
            last_seen: None,
            new: baseline.is_none_or(|b| !b.iter().any(|s| s == sig)),
        });
        c.count = c.count.saturating_add(1);
        match r.kind {
            InputKind::Core => c.cores = c.cores.saturating_add(1),
            InputKind::Log => c.logs = c.logs.saturating_add(1),
        }
        let add = |v: &mut Vec<String>, s: &str| {
            if !v.iter().any(|x| x == s) {
                v.push(s.to_string());
                v.sort();
            }
        };
        if let Some(v) = &r.go_version {
            add(&mut c.go_versions, v);
        }
        if let Some(id) = r.executable.as_ref().and_then(|e| e.go_build_id.as_deref()) {
            add(&mut c.executables, id);
        }
        for f in &r.findings {
            add(&mut c.finding_kinds, f.kind.as_str());
        }
        if let Some(t) = &r.time {
            if c.first_seen.as_ref().is_none_or(|f| t < f) {
                c.first_seen = Some(t.clone());
            }
            if c.last_seen.as_ref().is_none_or(|l| t > l) {
                c.last_seen = Some(t.clone());
            }
        }
        if c.examples.len() < 5 {
            let ex = match r.line {
                Some(l) => format!("{}:{l}", r.path),
                None => r.path.clone(),
            };
            c.examples.push(ex);
        }
    }
    let mut out: Vec<Cluster> = by.into_values().collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.signature.cmp(&b.signature)));
    out
}
