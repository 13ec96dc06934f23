//! The `gotopsy` command line: parses arguments, runs the library's one
//! analysis ([`gotopsy::analyze`]) and chooses a renderer.

mod progress;

use anyhow::{Context, Result};
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use gotopsy::analysis::Severity;
use gotopsy::model::{Analysis, AnalyzeOptions, GoroutineFilter, TraceSource};
use gotopsy::report::{self, text::TextOptions, traceback};
use gotopsy::runtime::{OpenOptions, Process};
use progress::CliProgress;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;

/// `0.1.0 (commit 1234abcd)`.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("GOTOPSY_COMMIT"), ")");

/// Exit status when a `--fail-on` gate tripped (the report is written first).
const EXIT_GATE: i32 = 3;

/// Post-mortem forensics of Go programs: goroutines, stacks, maps and crashes from core dumps.
///
/// Exit status: 0 done, 1 error, 2 usage, 3 a --fail-on gate tripped.
#[derive(Parser)]
#[command(name = "gotopsy", version = VERSION, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Most bytes one compressed input may decompress to (K, M, G, T suffixes);
    /// default: the temporary directory's free space less 1 GiB.
    #[arg(long, global = true, value_name = "SIZE", value_parser = parse_size)]
    max_decompressed: Option<u64>,
}

/// A size: bytes, or with a K, M, G or T suffix (powers of 1024).
fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let (num, mul) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let shift = match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                _ => return Err(format!("{s:?}: the size's unit is K, M, G or T")),
            };
            (&t[..i], 1u64 << shift)
        }
        _ => (t, 1),
    };
    let n: u64 = num.parse().map_err(|_| format!("{s:?} is not a size (e.g. 500M, 64G)"))?;
    n.checked_mul(mul).filter(|&v| v > 0).ok_or_else(|| format!("{s:?}: give a size above 0 that fits 64 bits"))
}

#[derive(Copy, Clone, ValueEnum, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

#[derive(Copy, Clone, ValueEnum, PartialEq, Eq)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Copy, Clone, ValueEnum, PartialEq, Eq)]
enum FailOn {
    /// A critical finding.
    Critical,
    /// A finding of severity warning or worse.
    Warning,
}

#[derive(Copy, Clone, ValueEnum, PartialEq, Eq)]
enum ScanFormat {
    Table,
    Text,
    Json,
    Ndjson,
}

#[derive(Copy, Clone, ValueEnum, PartialEq, Eq)]
enum ScanGate {
    Critical,
    Warning,
    New,
    Any,
}

#[derive(clap::Args)]
struct CoreArgs {
    /// The core dump (plain, zstd or gzip).
    core: PathBuf,
    /// The executable that wrote it (default: the path recorded in the core).
    #[arg(long)]
    exe: Option<PathBuf>,
    /// Analyze even if the core and the executable do not match.
    #[arg(long)]
    force: bool,
    /// Symbols and DWARF for a stripped executable: its unstripped build or its
    /// `.debug` file, of the same build ID.
    #[arg(long, value_name = "FILE")]
    symbols: Option<PathBuf>,
    /// Act as if the executable had no DWARF (tests the built-in layouts).
    #[arg(long, hide = true)]
    no_dwarf: bool,
}

/// Which goroutines are listed (the findings are never filtered).
#[derive(clap::Args, Clone, Default)]
struct ListArgs {
    /// List only the goroutine with this id (repeatable).
    #[arg(long = "id", value_name = "N")]
    ids: Vec<u64>,
    /// List only goroutines whose state contains this text (`running`, `chan receive`, …).
    #[arg(long, value_name = "STATE")]
    state: Option<String>,
    /// List only goroutines with a frame whose function matches this regular expression.
    #[arg(long = "match", value_name = "REGEX")]
    pattern: Option<regex::Regex>,
    /// Show the crashing goroutine's signal-handler and system-stack frames too.
    #[arg(long)]
    all_frames: bool,
}

impl ListArgs {
    fn filter(&self) -> GoroutineFilter {
        GoroutineFilter { ids: self.ids.clone(), state: self.state.clone(), function: self.pattern.clone() }
    }
}

/// How the report is shown.
#[derive(clap::Args)]
struct ShowArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    #[command(flatten)]
    list: ListArgs,
    /// Colour the text report.
    #[arg(long, value_enum, default_value = "auto")]
    color: Color,
    /// Exit with status 3 when a finding of this severity or worse exists (the report is written first).
    #[arg(long, value_enum)]
    fail_on: Option<FailOn>,
}

#[derive(Subcommand)]
enum Command {
    /// The report: how the process died, both sides of a map race, every goroutine.
    Analyze {
        #[command(flatten)]
        core: CoreArgs,
        #[command(flatten)]
        show: ShowArgs,
        /// Include dead goroutines.
        #[arg(long)]
        all: bool,
        /// Skip the map and iterator analysis.
        #[arg(long)]
        no_maps: bool,
        /// An execution trace of the same process, joined by goroutine id.
        #[arg(long)]
        trace: Option<PathBuf>,
        /// Join the trace the core still holds (a flight recorder's, Go 1.25+; the
        /// runtime's unflushed trace.Start buffers, Go 1.22+).
        #[arg(long, conflicts_with = "trace")]
        trace_from_core: bool,
        /// Show map keys and values (off by default: cores hold secrets).
        #[arg(long)]
        show_values: bool,
    },
    /// Render a saved `analyze --format json` report without the core.
    Report {
        /// The saved report.
        file: PathBuf,
        #[command(flatten)]
        show: ShowArgs,
    },
    /// Every goroutine, in the runtime's own traceback format (crashing goroutine first).
    Goroutines {
        #[command(flatten)]
        core: CoreArgs,
        #[command(flatten)]
        list: ListArgs,
        /// Include dead goroutines.
        #[arg(long)]
        all: bool,
        /// Output format (json: `{"schema_version", "goroutines": [...]}`).
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Read a Go execution trace (Go 1.21's format and 1.22–1.27's): goroutines, states, stacks.
    Trace {
        /// The trace file (plain, zstd or gzip); with --from-core, the core.
        file: PathBuf,
        /// Recover the trace the core still holds: a flight recorder's generations
        /// (Go 1.25+) and the runtime's unflushed buffers (trace.Start or a flight recorder, Go 1.22+).
        #[arg(long)]
        from_core: bool,
        /// With --from-core: the executable.
        #[arg(long)]
        exe: Option<PathBuf>,
        /// With --from-core: write the recovered trace here (Go's tools read it).
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
        /// With --from-core: the trace file the process wrote (trace.Start); the
        /// output is that file completed with the generation in progress.
        #[arg(long, requires = "from_core")]
        join: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// What addresses are: heap object (allocated or free), stack, data, unmapped.
    Inspect {
        #[command(flatten)]
        core: CoreArgs,
        /// Addresses, hex (`0xc000012345`) or decimal.
        #[arg(required = true, value_parser = parse_addr)]
        addresses: Vec<u64>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Open a core (or a saved report) in the terminal UI.
    Tui {
        /// The core dump (plain or compressed); or --report FILE.
        #[arg(required_unless_present = "report")]
        core: Option<PathBuf>,
        /// A saved `analyze --format json` report instead of a core.
        #[arg(long, conflicts_with = "core")]
        report: Option<PathBuf>,
        /// The executable that wrote the core (default: the path recorded in it).
        #[arg(long)]
        exe: Option<PathBuf>,
        /// Open even if the core and the executable do not match.
        #[arg(long)]
        force: bool,
        /// Symbols and DWARF for a stripped executable (its unstripped build or `.debug` file).
        #[arg(long, value_name = "FILE")]
        symbols: Option<PathBuf>,
        /// Include dead goroutines.
        #[arg(long)]
        all: bool,
        /// Skip the map and iterator analysis.
        #[arg(long)]
        no_maps: bool,
        /// Read map keys and values (off by default: cores hold secrets).
        #[arg(long)]
        show_values: bool,
        /// An execution trace of the same process.
        #[arg(long)]
        trace: Option<PathBuf>,
        /// Join the trace the core still holds.
        #[arg(long, conflicts_with = "trace")]
        trace_from_core: bool,
        /// No mouse capture (lets the terminal select text).
        #[arg(long)]
        no_mouse: bool,
        /// A checkout to find the build's source files in (repeatable).
        #[arg(long = "source-root", value_name = "DIR")]
        source_roots: Vec<PathBuf>,
    },
    /// Triage many crash dumps and crash logs: one record per crash, clustered by signature.
    Scan {
        /// Files and folders (walked, following symlinks).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The executable of every core.
        #[arg(long, conflicts_with = "exe_dirs")]
        exe: Option<PathBuf>,
        /// A folder of candidate executables, matched to each core by build (repeatable).
        #[arg(long = "exe-dir", value_name = "DIR")]
        exe_dirs: Vec<PathBuf>,
        /// Inputs analyzed at once (default: the number of cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: ScanFormat,
        /// Write the output here instead of standard output.
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
        /// An earlier scan's JSON or NDJSON: clusters not in it are new.
        #[arg(long)]
        baseline: Option<PathBuf>,
        /// Exit with status 3 when: a finding of that severity (critical, warning),
        /// a cluster not in the baseline (new), or any crash (any) exists.
        #[arg(long, value_enum)]
        fail_on: Option<ScanGate>,
        /// Leave out inputs written before this: RFC 3339 (2026-12-01T00:00:00Z) or a
        /// duration back from now (24h, 30m, 7d). A systemd-coredump name's time, else the mtime.
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Scan only shard I of N of the sorted inputs (0 <= I < N); `auto/N` takes I from
        /// JOB_COMPLETION_INDEX (Kubernetes Indexed Job), `auto` both from Slurm's job array.
        #[arg(long, value_name = "I/N", conflicts_with = "merge")]
        shard: Option<String>,
        /// The PATHs are the JSON or NDJSON outputs of a scan's shards: merge them into
        /// what a single scan gives.
        #[arg(long)]
        merge: bool,
        /// Longest one core's analysis may take (seconds; 0: no limit); a core that
        /// takes longer gets a record saying so.
        #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
        timeout: f64,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff).
    Man,
}

fn parse_addr(s: &str) -> std::result::Result<u64, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|e| format!("{s:?} is not an address: {e}"))
}

fn open(args: &CoreArgs) -> gotopsy::Result<Process> {
    Process::open(
        &args.core,
        &OpenOptions {
            exe: args.exe.clone(),
            force: args.force,
            ignore_dwarf: args.no_dwarf,
            symbols: args.symbols.clone(),
        },
    )
}

/// The analysis the flags ask for.
fn analyze_options(
    all: bool,
    no_maps: bool,
    show_values: bool,
    trace: Option<PathBuf>,
    trace_from_core: bool,
) -> AnalyzeOptions {
    AnalyzeOptions {
        include_dead: all,
        no_maps,
        show_values,
        trace: match (trace, trace_from_core) {
            (Some(f), _) => Some(TraceSource::File(f)),
            (None, true) => Some(TraceSource::FromCore),
            (None, false) => None,
        },
    }
}

/// Prints the report of `a` as `show` asks; true when a `--fail-on` gate tripped.
fn render(out: &mut dyn Write, a: &Analysis, show: &ShowArgs) -> Result<bool> {
    match show.format {
        Format::Json => a.write_json(out).context("writing JSON")?,
        Format::Text => {
            let color = match show.color {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => {
                    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                }
            };
            let o = TextOptions { filter: show.list.filter(), all_frames: show.list.all_frames, color };
            report::text::write_with(out, a, &o)?
        }
    }
    let worst = a.findings.iter().map(|f| f.severity).max();
    Ok(match show.fail_on {
        None => false,
        Some(FailOn::Critical) => worst >= Some(Severity::Critical),
        Some(FailOn::Warning) => worst >= Some(Severity::Warning),
    })
}

fn run(cli: Cli) -> Result<i32> {
    if let Some(n) = cli.max_decompressed {
        gotopsy::corefile::set_max_decompressed(n);
    }
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match cli.command {
        Command::Analyze { core, show, all, no_maps, trace, trace_from_core, show_values } => {
            let progress = CliProgress::start();
            let opts = analyze_options(all, no_maps, show_values, trace, trace_from_core);
            let a = match open(&core) {
                Ok(p) => {
                    progress.mark("open");
                    gotopsy::analyze(&p, &opts, &progress)?
                }
                // No executable to be had: what the core alone says, with a warning saying what to pass.
                Err(gotopsy::Error::NoExecutable { core: path, reason }) => {
                    let c = gotopsy::corefile::CoreFile::open(&path)?;
                    gotopsy::model::core_only(&c, &format!("no executable given (--exe) and {reason}"))
                }
                Err(e) => return Err(e.into()),
            };
            progress.finish("analysis");
            for w in a.warnings.iter().filter(|w| w.kind.matters()) {
                eprintln!("gotopsy: warning: {w}");
            }
            let tripped = render(&mut out, &a, &show)?;
            out.flush()?;
            progress.mark("output");
            // Everything is written: skip freeing a million frames and unmapping the core.
            std::process::exit(if tripped { EXIT_GATE } else { 0 });
        }
        Command::Report { file, show } => {
            let bytes = read_report(&file)?;
            let a = Analysis::from_json(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            if render(&mut out, &a, &show)? {
                out.flush()?;
                return Ok(EXIT_GATE);
            }
        }
        Command::Goroutines { core, list, all, format } => {
            let progress = CliProgress::start();
            let p = open(&core)?;
            let opts = AnalyzeOptions { include_dead: all, no_maps: true, ..Default::default() };
            let a = gotopsy::analyze(&p, &opts, &progress)?;
            progress.finish("analysis");
            match format {
                Format::Text => traceback::write_dump(&mut out, &a, &list.filter(), list.all_frames)?,
                Format::Json => a.write_goroutines_json(&mut out, &list.filter())?,
            }
            out.flush()?;
            std::process::exit(0);
        }
        Command::Tui {
            core,
            report,
            exe,
            force,
            symbols,
            all,
            no_maps,
            show_values,
            trace,
            trace_from_core,
            no_mouse,
            source_roots,
        } => {
            // A saved report is read before the terminal is taken: a bad one is one line.
            let (source, stem) = match (report, core) {
                (Some(file), _) => {
                    let bytes = read_report(&file)?;
                    let a = Analysis::from_json(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                    (gotopsy::tui::Source::Report(Box::new(a)), file)
                }
                (None, Some(core)) => {
                    if core != std::path::Path::new("-") && !core.exists() {
                        anyhow::bail!("{}: no such file; give the core dump's path", core.display());
                    }
                    let analyze = analyze_options(all, no_maps, show_values, trace, trace_from_core);
                    let open = OpenOptions { exe, force, ignore_dwarf: false, symbols };
                    (gotopsy::tui::Source::Core { core: core.clone(), open, analyze }, core)
                }
                (None, None) => anyhow::bail!("give a core dump, or --report FILE.json"),
            };
            let name = stem.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "core".into());
            let save_to = PathBuf::from(format!("gotopsy-{}.json", name.trim_end_matches(".json")));
            let o = gotopsy::tui::TuiOptions { mouse: !no_mouse, save_to, source_roots };
            gotopsy::tui::run(source, &o).map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        Command::Scan {
            paths,
            exe,
            exe_dirs,
            jobs,
            format,
            output,
            baseline,
            fail_on,
            since,
            shard,
            merge,
            timeout,
        } => {
            let baseline = match &baseline {
                Some(f) => Some(read_baseline(f)?),
                None => None,
            };
            let r = if merge {
                let parts = paths.iter().map(|f| read_scan_output(f)).collect::<Result<Vec<_>>>()?;
                gotopsy::scan::merge(parts, baseline.as_deref())
            } else {
                let since = match &since {
                    Some(s) => Some(
                        gotopsy::scan::when::parse_since(s, std::time::SystemTime::now())
                            .map_err(anyhow::Error::msg)?,
                    ),
                    None => None,
                };
                let shard = match &shard {
                    Some(s) => Some(parse_shard(s, &|k| std::env::var(k).ok()).map_err(anyhow::Error::msg)?),
                    None => None,
                };
                anyhow::ensure!(
                    timeout.is_finite() && timeout >= 0.0,
                    "--timeout {timeout}: give seconds, 0 for no limit"
                );
                let timeout = (timeout > 0.0).then(|| std::time::Duration::from_secs_f64(timeout));
                let o = gotopsy::scan::ScanOptions { exe, exe_dirs, baseline, since, shard, timeout };
                let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs.unwrap_or(0)).build()?;
                if format == ScanFormat::Ndjson {
                    // NDJSON as it goes: the header, each input's line as it
                    // finishes, the clusters at the end.
                    let mut sink = scan_sink(&output, &mut out)?;
                    let header = serde_json::json!({"record": "header", "schema_version": gotopsy::model::SCHEMA_VERSION,
                        "shard": o.shard.map(|(i, n)| format!("{i}/{n}")),
                        "arguments": {"paths": paths, "exe": o.exe, "exe_dirs": o.exe_dirs, "since": since}});
                    writeln!(sink, "{header}")?;
                    sink.flush()?;
                    let (tx, rx) = std::sync::mpsc::channel::<String>();
                    let r = std::thread::scope(|scope| -> Result<gotopsy::scan::ScanResult> {
                        let worker = scope.spawn(|| {
                            let bar = progress::ScanBar::new(Some(tx));
                            let r = pool.install(|| gotopsy::scan::scan_observed(&paths, &o, &bar));
                            bar.finish();
                            r
                        });
                        for line in rx {
                            writeln!(sink, "{line}")?;
                            sink.flush()?;
                        }
                        worker.join().map_err(|_| anyhow::anyhow!("the scan's worker thread panicked"))
                    })?;
                    writeln!(sink, "{}", clusters_line(&r))?;
                    sink.flush()?;
                    drop(sink);
                    return gate(&r, fail_on, &mut out);
                }
                let bar = progress::ScanBar::new(None);
                let r = pool.install(|| gotopsy::scan::scan_observed(&paths, &o, &bar));
                bar.finish();
                r
            };
            let mut sink = scan_sink(&output, &mut out)?;
            write_scan(&mut sink, &r, format)?;
            sink.flush()?;
            drop(sink);
            return gate(&r, fail_on, &mut out);
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "gotopsy", &mut out);
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command()).render(&mut out)?;
        }
        Command::Trace { file, from_core: true, exe, output, format, join } => {
            let p = Process::open(&file, &OpenOptions { exe, ..Default::default() })?;
            let mut rec =
                gotopsy::runtime::flight::recover(&p).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            if let Some(j) = &join {
                let (map, _) = gotopsy::corefile::map_file(j)?;
                rec.bytes = gotopsy::runtime::flight::complete_file(&map, &rec)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", j.display()))?;
                rec.warnings = gotopsy::runtime::flight::warnings_after_join(&rec);
            }
            if let Some(o) = &output {
                std::fs::write(o, &rec.bytes).with_context(|| format!("{}: cannot write", o.display()))?;
            }
            let t = gotopsy::trace::read(&rec.bytes)
                .map_err(|e| anyhow::anyhow!("{}: recovered trace: {e}", file.display()))?;
            let in_progress = match rec.in_progress {
                Some(ip) => format!(
                    "; generation {} was in progress: {} batches from the flight recorder, {} from the runtime's unflushed buffers",
                    ip.gen, rec.active_batches, ip.from_runtime
                ),
                None => String::new(),
            };
            eprintln!(
                "recovered {} bytes: generations {:?}{in_progress}{}",
                rec.bytes.len(),
                rec.generations,
                output.as_ref().map(|o| format!(", written to {}", o.display())).unwrap_or_default()
            );
            for w in &rec.warnings {
                eprintln!("warning: {w}");
            }
            match format {
                Format::Json => gotopsy::report::trace_text::write_json(&mut out, &t)?,
                Format::Text => gotopsy::report::trace_text::write(&mut out, &t)?,
            }
        }
        Command::Trace { file, format, .. } => {
            let (map, _) = gotopsy::corefile::map_file(&file)?;
            // Drop each generation's pages once decoded: resident memory stays
            // at a generation or two, whatever the trace's size.
            let mut release = |r: std::ops::Range<usize>| {
                let page = 4096;
                let start = r.start / page * page;
                let len = r.end.saturating_sub(start) / page * page;
                if len > 0 {
                    // SAFETY: a private read-only file mapping: the pages read back unchanged.
                    let _ = unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, len) };
                }
            };
            let t = gotopsy::trace::read_releasing(&map, &mut release)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            match format {
                Format::Json => gotopsy::report::trace_text::write_json(&mut out, &t)?,
                Format::Text => gotopsy::report::trace_text::write(&mut out, &t)?,
            }
        }
        Command::Inspect { core: args, addresses, format } => {
            let p = open(&args)?;
            let heap = gotopsy::runtime::heap::HeapLayout::new(&p)
                .map_err(|e| anyhow::anyhow!("{}: {e}", args.core.display()))?;
            let gs = gotopsy::runtime::goroutines::read_goroutines(&p, Default::default())?;
            let stacks: Vec<(u64, gotopsy::Addr, gotopsy::Addr)> =
                gs.list.iter().map(|g| (g.id, g.stack.0, g.stack.1)).collect();
            let infos: Vec<_> = addresses
                .iter()
                .map(|&a| {
                    let mut i = heap.inspect(&p, gotopsy::Addr(a));
                    i.name(&p, &stacks);
                    i
                })
                .collect();
            match format {
                Format::Json => {
                    serde_json::to_writer_pretty(&mut out, &serde_json::json!({ "addresses": infos }))?;
                    writeln!(out)?;
                }
                Format::Text => {
                    for i in &infos {
                        let alloc = match i.allocated {
                            Some(true) => " allocated",
                            Some(false) => " free",
                            None => "",
                        };
                        let obj =
                            i.object.as_ref().map(|o| format!(" object {}+{}", o.base, o.size)).unwrap_or_default();
                        let sym = i.symbol.as_ref().map(|s| format!(" {s}")).unwrap_or_default();
                        let g = i.goroutine.map(|g| format!(" (goroutine {g})")).unwrap_or_default();
                        writeln!(out, "{} {}{}{}{sym}{g}: {}", i.address, i.region, alloc, obj, i.reason)?;
                    }
                }
            }
        }
    }
    out.flush()?;
    Ok(0)
}

/// The signatures of an earlier scan's clusters (its JSON, or NDJSON lines).
/// `--shard`: `I/N`; `auto/N` with I from `JOB_COMPLETION_INDEX`; `auto`
/// with I and N from a Slurm job array.
fn parse_shard(s: &str, env: &dyn Fn(&str) -> Option<String>) -> std::result::Result<(usize, usize), String> {
    let num = |v: Option<String>, what: &str| -> std::result::Result<usize, String> {
        let v = v.ok_or_else(|| format!("--shard {s}: {what} is not set"))?;
        v.trim().parse().map_err(|_| format!("--shard {s}: {what} is {v:?}, not a number"))
    };
    let (i, n) = match s.split_once('/') {
        Some(("auto", n)) => (num(env("JOB_COMPLETION_INDEX"), "JOB_COMPLETION_INDEX")?, num(Some(n.into()), "N")?),
        Some((i, n)) => (num(Some(i.into()), "I")?, num(Some(n.into()), "N")?),
        None if s == "auto" => {
            let id = num(env("SLURM_ARRAY_TASK_ID"), "SLURM_ARRAY_TASK_ID")?;
            let min = num(env("SLURM_ARRAY_TASK_MIN"), "SLURM_ARRAY_TASK_MIN")?;
            let count = num(env("SLURM_ARRAY_TASK_COUNT"), "SLURM_ARRAY_TASK_COUNT")?;
            (
                id.checked_sub(min)
                    .ok_or_else(|| format!("--shard auto: task {id} is below the array's minimum {min}"))?,
                count,
            )
        }
        None => return Err(format!("--shard {s}: give I/N (0 <= I < N), auto/N or auto")),
    };
    if n == 0 || i >= n {
        return Err(format!("--shard {s}: shard {i} of {n} does not exist (0 <= I < N)"));
    }
    Ok((i, n))
}

/// A shard's output for `--merge`: a scan's JSON, or its NDJSON (the header's
/// counts, one record per `input` line; clusters are made again).
fn read_scan_output(f: &std::path::Path) -> Result<gotopsy::scan::ScanResult> {
    let meta = std::fs::metadata(f).with_context(|| format!("{}: cannot read the shard's output", f.display()))?;
    anyhow::ensure!(
        meta.len() <= gotopsy::model::MAX_REPORT_BYTES,
        "{}: larger than a scan's output may be",
        f.display()
    );
    let text =
        std::fs::read_to_string(f).with_context(|| format!("{}: cannot read the shard's output", f.display()))?;
    if let Ok(r) = serde_json::from_str::<gotopsy::scan::ScanResult>(&text) {
        return Ok(r);
    }
    let mut r = gotopsy::scan::ScanResult {
        schema_version: gotopsy::model::SCHEMA_VERSION.into(),
        cores: Vec::new(),
        clusters: Vec::new(),
        skipped: 0,
        baseline: false,
        too_old: 0,
        shard: None,
    };
    let mut header = false;
    let last = text.lines().count();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let v: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            // A shard killed mid-write leaves its last line cut: the records before it stand.
            Err(_) if header && n + 1 == last && !text.ends_with('\n') => break,
            Err(e) => {
                return Err(anyhow::anyhow!("{}:{}: neither a scan's JSON nor its NDJSON ({e})", f.display(), n + 1))
            }
        };
        match v.get("record").and_then(|k| k.as_str()) {
            // The counts are on the clusters line (on the header before the
            // NDJSON was streamed).
            Some("clusters") => {
                if let Some(n) = v.get("skipped").and_then(|x| x.as_u64()) {
                    r.skipped = n as usize;
                }
                if let Some(n) = v.get("too_old").and_then(|x| x.as_u64()) {
                    r.too_old = n as usize;
                }
            }
            Some("header") => {
                header = true;
                r.skipped = v.get("skipped").and_then(|x| x.as_u64()).unwrap_or(0) as usize;
                r.too_old = v.get("too_old").and_then(|x| x.as_u64()).unwrap_or(0) as usize;
            }
            Some("input") => r.cores.push(
                serde_json::from_value(v).with_context(|| format!("{}:{}: not a scan record", f.display(), n + 1))?,
            ),
            _ => {}
        }
    }
    anyhow::ensure!(header, "{}: neither a scan's JSON nor its NDJSON (no header line)", f.display());
    Ok(r)
}

fn read_baseline(f: &std::path::Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(f).with_context(|| format!("{}: cannot read the baseline", f.display()))?;
    let docs: Vec<serde_json::Value> = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(v) => vec![v],
        Err(_) => text.lines().filter(|l| !l.trim().is_empty()).filter_map(|l| serde_json::from_str(l).ok()).collect(),
    };
    let sigs: Vec<String> = docs
        .iter()
        .filter_map(|d| d.get("clusters").and_then(|c| c.as_array()))
        .flatten()
        .filter_map(|c| c.get("signature").and_then(|s| s.as_str()).map(String::from))
        .collect();
    if sigs.is_empty() && !docs.iter().any(|d| d.get("clusters").is_some()) {
        anyhow::bail!(
            "{}: not a gotopsy scan (no clusters); give the JSON or NDJSON an earlier scan wrote",
            f.display()
        );
    }
    Ok(sigs)
}

/// Where a scan's output goes: `-o FILE`, else standard output.
fn scan_sink<'a>(output: &Option<PathBuf>, out: &'a mut dyn Write) -> Result<Box<dyn Write + 'a>> {
    Ok(match output {
        Some(f) => Box::new(BufWriter::new(
            std::fs::File::create(f).with_context(|| format!("{}: cannot write", f.display()))?,
        )),
        None => Box::new(out),
    })
}

/// The exit status of a scan whose output is written: [`EXIT_GATE`] when a
/// `--fail-on` gate tripped.
fn gate(r: &gotopsy::scan::ScanResult, fail_on: Option<ScanGate>, out: &mut dyn Write) -> Result<i32> {
    let worst = r.cores.iter().flat_map(|c| c.findings.iter().map(|f| f.severity)).max();
    let tripped = match fail_on {
        None => false,
        Some(ScanGate::Critical) => worst >= Some(Severity::Critical),
        Some(ScanGate::Warning) => worst >= Some(Severity::Warning),
        Some(ScanGate::New) => r.clusters.iter().any(|c| c.new),
        Some(ScanGate::Any) => r.cores.iter().any(|c| c.signature.is_some()),
    };
    out.flush()?;
    Ok(if tripped { EXIT_GATE } else { 0 })
}

/// A record's NDJSON line (`"record": "input"`).
fn input_line(c: &gotopsy::scan::Record) -> Result<String> {
    let mut v = serde_json::to_value(c)?;
    if let Some(o) = v.as_object_mut() {
        o.insert("record".into(), "input".into());
    }
    Ok(v.to_string())
}

/// The NDJSON's last line: the clusters, and the counts known only at the end.
fn clusters_line(r: &gotopsy::scan::ScanResult) -> serde_json::Value {
    serde_json::json!({"record": "clusters", "clusters": r.clusters, "skipped": r.skipped, "too_old": r.too_old})
}

/// Writes a scan's result.
fn write_scan(w: &mut dyn Write, r: &gotopsy::scan::ScanResult, format: ScanFormat) -> Result<()> {
    match format {
        ScanFormat::Json => {
            serde_json::to_writer(&mut *w, r)?;
            writeln!(w)?;
        }
        ScanFormat::Ndjson => {
            let header = serde_json::json!({"record": "header", "schema_version": r.schema_version,
                "skipped": r.skipped, "too_old": r.too_old, "shard": r.shard});
            writeln!(w, "{header}")?;
            for c in &r.cores {
                writeln!(w, "{}", input_line(c)?)?;
            }
            writeln!(w, "{}", clusters_line(r))?;
        }
        ScanFormat::Table | ScanFormat::Text => {
            let total: usize = r.clusters.iter().map(|c| c.count).sum();
            let errors = r.cores.iter().filter(|c| c.error.is_some()).count();
            writeln!(
                w,
                "{} crashes in {} clusters ({} inputs could not be read, {} files skipped)",
                total,
                r.clusters.len(),
                errors,
                r.skipped
            )?;
            // The signature column as wide as the longest, within reason.
            let sig_w = r.clusters.iter().map(|c| c.signature.chars().count()).max().unwrap_or(9).clamp(9, 120);
            let ver_w = r.clusters.iter().map(|c| c.go_versions.join(",").len()).max().unwrap_or(11).max(11);
            // Times to the minute: `2026-12-01 03:12`.
            let minute = |t: &Option<String>| {
                t.as_deref().map_or("-".to_string(), |t| t.replace('T', " ").chars().take(16).collect())
            };
            writeln!(
                w,
                "{:>4} {:>6} {:>5}  {:<sig_w$}  {:<ver_w$}  {:<16}  {:<16}  example",
                "rank", "count", "%", "signature", "go versions", "first seen", "last seen"
            )?;
            for (i, c) in r.clusters.iter().enumerate() {
                let pct = if total > 0 { 100.0 * c.count as f64 / total as f64 } else { 0.0 };
                let new = if c.new && r.baseline { " (new)" } else { "" };
                writeln!(
                    w,
                    "{:>4} {:>6} {:>4.0}%  {:<sig_w$}  {:<ver_w$}  {:<16}  {:<16}  {}{new}",
                    i + 1,
                    c.count,
                    pct,
                    c.signature,
                    c.go_versions.join(","),
                    minute(&c.first_seen),
                    minute(&c.last_seen),
                    c.examples.first().map(String::as_str).unwrap_or("")
                )?;
            }
            for c in r.cores.iter().filter(|c| c.error.is_some()) {
                writeln!(w, "error  {}: {}", c.path, c.error.as_deref().unwrap_or(""))?;
            }
        }
    }
    Ok(())
}

/// Reads a saved report, refusing what cannot be one by its size.
fn read_report(file: &std::path::Path) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(file).with_context(|| format!("{}: cannot read the report", file.display()))?;
    if meta.is_dir() {
        anyhow::bail!(
            "{}: is a directory, not a report; give the JSON file `analyze --format json` wrote",
            file.display()
        );
    }
    if meta.len() > gotopsy::model::MAX_REPORT_BYTES {
        anyhow::bail!("{}: {} bytes is too large for a gotopsy report", file.display(), meta.len());
    }
    std::fs::read(file).with_context(|| format!("{}: cannot read the report", file.display()))
}

/// The error and its causes, each cause only when the message does not already say it.
fn one_line(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in e.chain() {
        let c = cause.to_string();
        if msg.contains(&c) {
            continue;
        }
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&c);
    }
    msg.replace('\n', " ")
}

fn main() {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => std::process::exit(code),
        // A closed pipe (`| head`) is not an error worth a message.
        Err(e) if e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) => {
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("gotopsy: {}", one_line(&e));
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_shard;

    #[test]
    fn shards_from_arguments_and_the_environment() {
        let none = |_: &str| None;
        assert_eq!(parse_shard("0/4", &none), Ok((0, 4)));
        assert_eq!(parse_shard("3/4", &none), Ok((3, 4)));
        assert!(parse_shard("4/4", &none).is_err() && parse_shard("0/0", &none).is_err());
        assert!(parse_shard("auto/4", &none).is_err() && parse_shard("x", &none).is_err());
        let k8s = |k: &str| (k == "JOB_COMPLETION_INDEX").then(|| "2".to_string());
        assert_eq!(parse_shard("auto/8", &k8s), Ok((2, 8)));
        let slurm = |k: &str| match k {
            "SLURM_ARRAY_TASK_ID" => Some("12".to_string()),
            "SLURM_ARRAY_TASK_MIN" => Some("10".to_string()),
            "SLURM_ARRAY_TASK_COUNT" => Some("5".to_string()),
            _ => None,
        };
        assert_eq!(parse_shard("auto", &slurm), Ok((2, 5)));
    }
}
