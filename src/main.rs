//! The `gotopsy` command line.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use gotopsy::model::{Analysis, AnalyzeOptions, Phase, Progress, TraceSource};
use gotopsy::report::{self, traceback};
use gotopsy::runtime::goroutines::{read_goroutines, ReadOptions};
use gotopsy::runtime::{OpenOptions, Process};
use std::io::{BufWriter, Write};
use std::path::PathBuf;

/// Post-mortem forensics of Go programs: goroutines, stacks and crashes from core dumps.
#[derive(Parser)]
#[command(name = "gotopsy", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Copy, Clone, ValueEnum, PartialEq, Eq)]
enum Format {
    Text,
    Json,
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
    /// Include dead goroutines.
    #[arg(long)]
    all: bool,
    /// Act as if the executable had no DWARF (tests the built-in layouts).
    #[arg(long, hide = true)]
    no_dwarf: bool,
}

#[derive(Subcommand)]
enum Command {
    /// The report: how the process died and every goroutine.
    Analyze {
        #[command(flatten)]
        args: CoreArgs,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Skip the map and iterator analysis.
        #[arg(long)]
        no_maps: bool,
        /// An execution trace of the same process, joined by goroutine id.
        #[arg(long)]
        trace: Option<PathBuf>,
        /// Join the trace a flight recorder (Go 1.25+) still held in the core.
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
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Every goroutine, in the runtime's own traceback format.
    Goroutines {
        #[command(flatten)]
        args: CoreArgs,
    },
    /// Read a Go execution trace (1.22–1.27 formats): goroutines, states, stacks.
    Trace {
        /// The trace file (plain, zstd or gzip); with --from-core, the core.
        file: PathBuf,
        /// Read the trace a flight recorder (Go 1.25+) still held in this core.
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
        args: CoreArgs,
        /// Addresses, hex (`0xc000012345`) or decimal.
        #[arg(required = true, value_parser = parse_addr)]
        addresses: Vec<u64>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
}

fn parse_addr(s: &str) -> std::result::Result<u64, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|e| format!("{s:?} is not an address: {e}"))
}

fn open(args: &CoreArgs) -> Result<Process> {
    Ok(Process::open(
        &args.core,
        &OpenOptions { exe: args.exe.clone(), force: args.force, ignore_dwarf: args.no_dwarf },
    )?)
}

/// With `GOTOPSY_TIMING` set, prints how long each phase took to stderr.
struct Timing(Option<std::time::Instant>);

impl Timing {
    fn start() -> Self {
        Timing(std::env::var_os("GOTOPSY_TIMING").map(|_| std::time::Instant::now()))
    }
    fn mark(&mut self, phase: &str) {
        if let Some(t) = self.0 {
            eprintln!("timing: {phase}: {:.3} s", t.elapsed().as_secs_f64());
            self.0 = Some(std::time::Instant::now());
        }
    }
}

fn analyze_options(
    args: &CoreArgs,
    no_maps: bool,
    show_values: bool,
    trace: Option<PathBuf>,
    trace_from_core: bool,
) -> AnalyzeOptions {
    AnalyzeOptions {
        include_dead: args.all,
        no_maps,
        show_values,
        trace: match (trace, trace_from_core) {
            (Some(f), _) => Some(TraceSource::File(f)),
            (None, true) => Some(TraceSource::FromCore),
            (None, false) => None,
        },
    }
}

/// Prints the report of `a` in `format`.
fn render(out: &mut dyn Write, a: &Analysis, format: Format) -> Result<()> {
    match format {
        Format::Json => a.write_json(out).context("writing JSON")?,
        Format::Text => report::text::write(out, a)?,
    }
    Ok(())
}

/// Shows phases on stderr with `GOTOPSY_TIMING` set.
struct TimingProgress(std::sync::Mutex<Timing>);

impl TimingProgress {
    /// Ends the step that ran since the last mark.
    fn mark(&self, what: &str) {
        if let Ok(mut t) = self.0.lock() {
            t.mark(what);
        }
    }
}

impl Progress for TimingProgress {
    fn phase(&self, phase: Phase) {
        self.mark(&format!("until {phase:?}"));
    }
}

fn run(cli: Cli) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match cli.command {
        Command::Analyze { args, format, no_maps, trace, trace_from_core, show_values } => {
            let progress = TimingProgress(std::sync::Mutex::new(Timing::start()));
            let p = open(&args)?;
            progress.mark("open");
            let opts = analyze_options(&args, no_maps, show_values, trace, trace_from_core);
            let a = gotopsy::analyze(&p, &opts, &progress)?;
            progress.mark("analysis");
            render(&mut out, &a, format)?;
            out.flush()?;
            progress.mark("output");
            // Everything is written: skip freeing a million frames and unmapping the core.
            std::process::exit(0);
        }
        Command::Report { file, format } => {
            let bytes = read_report(&file)?;
            let a = Analysis::from_json(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            render(&mut out, &a, format)?;
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
                Format::Json => {
                    serde_json::to_writer(&mut out, &t)?;
                    writeln!(out)?;
                }
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
                Format::Json => {
                    let doc = serde_json::json!({
                        "schema_version": gotopsy::report::SCHEMA_VERSION,
                        "trace_version": t.trace_version,
                        "events": t.events,
                        "generations": t.generations,
                        "first_generation": t.first_generation,
                        "duration_ns": t.duration_ns,
                        "thread_ids": t.thread_ids,
                        "goroutines": t.goroutines,
                        "warnings": t.warnings,
                    });
                    serde_json::to_writer(&mut out, &doc)?;
                    writeln!(out)?;
                }
                Format::Text => gotopsy::report::trace_text::write(&mut out, &t)?,
            }
        }
        Command::Inspect { args, addresses, format } => {
            let p = open(&args)?;
            let heap = gotopsy::runtime::heap::HeapLayout::new(&p)
                .map_err(|e| anyhow::anyhow!("{}: {e}", args.core.display()))?;
            let infos: Vec<_> = addresses.iter().map(|&a| heap.inspect(&p, gotopsy::Addr(a))).collect();
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
                        writeln!(out, "{} {}{}{}: {}", i.address, i.region, alloc, obj, i.reason)?;
                    }
                }
            }
        }
        Command::Goroutines { args } => {
            let p = open(&args)?;
            let gs = read_goroutines(&p, ReadOptions { include_dead: args.all, iterators: None })?;
            let style = traceback::Style::for_go(p.go_major_minor().1);
            let leaked = p.layout.status.leaked;
            let mut names = gotopsy::intern::Interner::default();
            for (i, g) in gs.list.into_iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                let g = gotopsy::model::Goroutine::from_runtime(g, leaked, &mut names);
                traceback::write_goroutine(&mut out, &g, style)?;
            }
        }
    }
    out.flush()?;
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
    if let Err(e) = run(cli) {
        // A closed pipe (`| head`) is not an error worth a message.
        if e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) {
            std::process::exit(0);
        }
        eprintln!("gotopsy: {}", one_line(&e));
        std::process::exit(1);
    }
}
