//! The damaged-input suite (issue 11, point 6): damaged copies generated at
//! test time from real fixtures of several Go builds — cores cut at ten
//! points, garbage program headers and notes, zeroed and random pages (one,
//! and 30% of them), the wrong executable, no executable, files that are not
//! cores, cut and bit-flipped traces, crash logs cut mid-stack. Each run of
//! the binary must end within 30 s and ≤ 2× its input + 256 MiB of peak RSS
//! (measured with `wait4`), and end in a report (exit 0, JSON) with its
//! reasons or in one line naming the file (exit 1) — never a panic, a signal
//! or another exit status. The same for `scan` over the folder of them, and
//! the TUI's overview shows the warnings of a damaged core.

mod common;

use serde_json::Value;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TIME_LIMIT: Duration = Duration::from_secs(30);
const RSS_SLACK: u64 = 256 << 20;

/// Builds the suite draws from: classic maps (1.21), Swiss maps (1.27), an
/// arm64 kernel core (1.27).
const BUILDS: &[(&str, &str)] =
    &[("go1.21.13", "mapiterwrite"), ("go1.27.3", "fatal"), ("go1.27.3-arm64", "kernel-mapiterwrite")];

/// A deterministic byte stream (xorshift), so a failure can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn fill(&mut self, b: &mut [u8]) {
        for x in b {
            *x = self.next() as u8;
        }
    }
}

/// One run of the binary: how it ended, what it wrote, what it cost.
struct Run {
    code: Option<i32>,
    signal: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
    wall: Duration,
    max_rss: u64,
}

/// Runs gotopsy with `args`, output to files (no pipe to fill), and
/// measures it. The kernel's peak RSS of a process (`ru_maxrss`) includes
/// the image it was forked from until its `exec` — this test process, which
/// holds cores — so gotopsy is started by a fresh, small copy of this test
/// binary ([`measure_helper`]) that waits for it with `wait4` and writes
/// what it cost.
fn run(args: &[OsString], scratch: &Path) -> Run {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = |k: &str| scratch.join(format!("{k}-{n}"));
    let (out_path, err_path, stats_path) = (path("out"), path("err"), path("stats"));
    let joined = args.iter().map(|a| a.to_str().unwrap()).collect::<Vec<_>>().join("\x1f");
    let helper = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "measure_helper", "--nocapture", "--test-threads=1", "-q"])
        .env("GOTOPSY_MEASURE_ARGS", joined)
        .env("GOTOPSY_MEASURE_CWD", scratch)
        .env("GOTOPSY_MEASURE_OUT", &out_path)
        .env("GOTOPSY_MEASURE_ERR", &err_path)
        .env("GOTOPSY_MEASURE_STATS", &stats_path)
        .stdout(Stdio::null())
        .output()
        .unwrap();
    let stats = fs::read_to_string(&stats_path).unwrap_or_else(|e| {
        panic!("the measuring helper wrote no stats ({e}): {}", String::from_utf8_lossy(&helper.stderr))
    });
    let f: Vec<i64> = stats.split_whitespace().map(|x| x.parse().unwrap()).collect();
    assert!(f[4] == 0, "gotopsy {args:?} did not end within {TIME_LIMIT:?}");
    Run {
        code: (f[0] >= 0).then_some(f[0] as i32),
        signal: (f[1] >= 0).then_some(f[1] as i32),
        stdout: fs::read(&out_path).unwrap(),
        stderr: fs::read_to_string(&err_path).unwrap_or_default(),
        wall: Duration::from_millis(f[2] as u64),
        max_rss: f[3] as u64 * 1024,
    }
}

/// Not a test: what [`run`] starts to run gotopsy and measure it (does
/// nothing without its environment). Writes `code signal wall_ms
/// maxrss_kib timed_out` (-1 where none) to `GOTOPSY_MEASURE_STATS`.
#[test]
#[ignore = "a helper the suite runs in a fresh process"]
fn measure_helper() {
    let Ok(args) = std::env::var("GOTOPSY_MEASURE_ARGS") else { return };
    let var = |k: &str| PathBuf::from(std::env::var_os(k).unwrap());
    // Reaped with wait4 below, which std's `wait` cannot do (it gives no rusage).
    #[allow(clippy::zombie_processes)]
    let child = Command::new(env!("CARGO_BIN_EXE_gotopsy"))
        .args(args.split('\x1f'))
        .current_dir(var("GOTOPSY_MEASURE_CWD"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(fs::File::create(var("GOTOPSY_MEASURE_OUT")).unwrap())
        .stderr(fs::File::create(var("GOTOPSY_MEASURE_ERR")).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let start = Instant::now();
    let (mut status, mut ru): (libc::c_int, libc::rusage) = (0, unsafe { std::mem::zeroed() });
    let mut timed_out = 0;
    loop {
        // SAFETY: waits for our own child; status and rusage are plain out-parameters.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut ru) };
        if r == pid {
            break;
        }
        assert!(r == 0, "wait4: {}", std::io::Error::last_os_error());
        if start.elapsed() > TIME_LIMIT {
            timed_out = 1;
            // SAFETY: our own child, then reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let wall = start.elapsed().as_millis();
    let (code, signal) = if libc::WIFEXITED(status) {
        (libc::WEXITSTATUS(status), -1)
    } else {
        (-1, if libc::WIFSIGNALED(status) { libc::WTERMSIG(status) } else { -1 })
    };
    let stats = format!("{code} {signal} {wall} {} {timed_out}\n", ru.ru_maxrss);
    fs::write(var("GOTOPSY_MEASURE_STATS"), stats).unwrap();
}

/// How a run ended, once its bounds and its manners are checked.
enum Ending {
    Report(Value),
    Error(String),
}

/// Checks a run's bounds (time, memory against `input` bytes) and that it
/// ended in a JSON report or one error line naming `named`.
fn judge(what: &str, r: &Run, input: u64, named: &str) -> Ending {
    // The slowest run and the highest RSS over input, for the record (`--nocapture`).
    static WORST: std::sync::Mutex<(Duration, f64)> = std::sync::Mutex::new((Duration::ZERO, 0.0));
    if let Ok(mut w) = WORST.lock() {
        let ratio = r.max_rss as f64 / (2 * input + RSS_SLACK) as f64;
        if r.wall > w.0 || ratio > w.1 {
            *w = (w.0.max(r.wall), w.1.max(ratio));
            eprintln!("bounds so far: slowest {:?}, peak RSS {:.0}% of its bound ({what})", w.0, w.1 * 100.0);
        }
    }
    assert!(r.signal.is_none(), "{what}: killed by signal {:?}\n{}", r.signal, r.stderr);
    assert!(!r.stderr.contains("panicked"), "{what}: {}", r.stderr);
    assert!(r.wall <= TIME_LIMIT, "{what}: took {:?}", r.wall);
    let bound = 2 * input + RSS_SLACK;
    assert!(r.max_rss <= bound, "{what}: peak RSS {} MiB > {} MiB", r.max_rss >> 20, bound >> 20);
    match r.code {
        Some(0) => match serde_json::from_slice::<Value>(&r.stdout) {
            Ok(v) => Ending::Report(v),
            Err(e) => panic!("{what}: exit 0 but not JSON ({e}): {}", String::from_utf8_lossy(&r.stdout)),
        },
        Some(1) => {
            let line = r.stderr.trim_end();
            assert!(!line.is_empty() && !line.contains('\n'), "{what}: not one error line:\n{line}");
            assert!(line.starts_with("gotopsy: "), "{what}: {line}");
            assert!(line.contains(named), "{what}: the error does not name {named}: {line}");
            Ending::Error(line.to_string())
        }
        other => panic!("{what}: exit status {other:?}\n{}", r.stderr),
    }
}

fn report(what: &str, e: Ending) -> Value {
    match e {
        Ending::Report(v) => v,
        Ending::Error(line) => panic!("{what}: no report but an error: {line}"),
    }
}

fn warning_kinds(r: &Value) -> Vec<String> {
    r["warning_kinds"]
        .as_array()
        .map(|a| a.iter().filter_map(|k| k.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes(b[o..o + 2].try_into().unwrap())
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}
fn put_u64(b: &mut [u8], o: usize, v: u64) {
    b[o..o + 8].copy_from_slice(&v.to_le_bytes());
}

/// A program header of an ELF64 little-endian file: its offset in the file,
/// type, file offset, vaddr and file size.
struct Phdr {
    at: usize,
    kind: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
}

fn phdrs(b: &[u8]) -> Vec<Phdr> {
    let (off, size, n) = (u64_at(b, 0x20) as usize, u16_at(b, 0x36) as usize, u16_at(b, 0x38) as usize);
    (0..n)
        .map(|i| {
            let at = off + i * size;
            Phdr {
                at,
                kind: u32::from_le_bytes(b[at..at + 4].try_into().unwrap()),
                offset: u64_at(b, at + 8),
                vaddr: u64_at(b, at + 16),
                filesz: u64_at(b, at + 32),
            }
        })
        .collect()
}

const PT_LOAD: u32 = 1;
const PT_NOTE: u32 = 4;
const PAGE: u64 = 4096;

/// The file offset of process address `a` in the core, if the core holds it.
fn file_offset(b: &[u8], a: u64) -> Option<usize> {
    phdrs(b)
        .into_iter()
        .find(|p| p.kind == PT_LOAD && a >= p.vaddr && a < p.vaddr + p.filesz)
        .map(|p| (p.offset + (a - p.vaddr)) as usize)
}

/// Pages worth hitting: the page holding `runtime.allgs`' array, the
/// crashing thread's stack page, the page of the first map finding's map.
fn key_pages(v: &str, core: &Path, exe: &Path, whole: &Value) -> Vec<(&'static str, u64)> {
    use gotopsy::memory::ReadExt;
    let p = gotopsy::runtime::Process::open(
        core,
        &gotopsy::runtime::OpenOptions { exe: Some(exe.to_path_buf()), ..Default::default() },
    )
    .unwrap();
    let allgs = p.mem().read_ptr(p.global("runtime.allgs").unwrap()).unwrap();
    let c = gotopsy::corefile::CoreFile::open(core).unwrap();
    let crashing = c.threads.iter().find(|t| t.signal != 0).unwrap_or(&c.threads[0]);
    let mut pages = vec![("allgs-array", allgs.0), ("crash-stack", crashing.regs.sp)];
    if let Some(m) = whole["maps"].as_array().and_then(|m| m.first()) {
        let a = m["address"].as_str().map(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap());
        pages.push(("map-header", a.unwrap_or_else(|| m["address"].as_u64().unwrap())));
    }
    assert!(pages.len() == 3, "{v}: the fixture has a map finding");
    pages.into_iter().map(|(n, a)| (n, a & !(PAGE - 1))).collect()
}

/// Writes `bytes` as `dir/name` and returns its path.
fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, bytes).unwrap();
    p
}

/// Damaged copies of one core: (name, bytes, a report is required).
fn damaged_cores(v: &str, core: &Path, exe: &Path, whole: &Value) -> Vec<(String, Vec<u8>, bool)> {
    let b = fs::read(core).unwrap();
    let ph = phdrs(&b);
    let note = ph.iter().find(|p| p.kind == PT_NOTE).expect("a PT_NOTE");
    let headers_end = (note.offset + note.filesz) as usize;
    let mut out = Vec::new();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ b.len() as u64);
    // Cut at ten points. Past the notes a report is due (what the core still holds).
    for per_mille in [2, 50, 150, 300, 450, 600, 700, 800, 900, 950] {
        let at = b.len() * per_mille / 1000;
        out.push((format!("cut-{per_mille}"), b[..at].to_vec(), at >= headers_end));
    }
    // Garbage program headers.
    let (phoff, phn) = (u64_at(&b, 0x20) as usize, u16_at(&b, 0x38) as usize);
    let mut x = b.clone();
    rng.fill(&mut x[phoff..phoff + phn * 56]);
    out.push(("phdrs-random".into(), x, false));
    let mut x = b.clone();
    x[0x38..0x3a].copy_from_slice(&0xffffu16.to_le_bytes());
    out.push(("phnum-huge".into(), x, false));
    let loads: Vec<&Phdr> = ph.iter().filter(|p| p.kind == PT_LOAD && p.filesz > 0).collect();
    let mut x = b.clone();
    put_u64(&mut x, loads[1].at + 32, 1 << 62);
    out.push(("load-filesz-huge".into(), x, false));
    let mut x = b.clone();
    put_u64(&mut x, loads[loads.len() / 2].at + 8, b.len() as u64 + (1 << 30));
    out.push(("load-offset-past-end".into(), x, true));
    let mut x = b.clone();
    put_u64(&mut x, loads[2].at + 16, loads[1].vaddr);
    out.push(("load-overlaps".into(), x, false));
    // Garbage notes.
    let notes = note.offset as usize..headers_end;
    let mut x = b.clone();
    rng.fill(&mut x[notes.clone()]);
    out.push(("notes-random".into(), x, false));
    let mut x = b.clone();
    x[notes.clone()].fill(0);
    out.push(("notes-zeroed".into(), x, false));
    let mut x = b.clone();
    x[notes.start + 4..notes.start + 8].copy_from_slice(&u32::MAX.to_le_bytes()); // first note's descsz
    out.push(("note-descsz-huge".into(), x, false));
    // One page, zeroed or random, where it hurts; and 30% of all pages.
    for (what, page) in key_pages(v, core, exe, whole) {
        let at = file_offset(&b, page).unwrap_or_else(|| panic!("{v}: {what} page {page:#x} is in the core"));
        let end = (at + PAGE as usize).min(b.len());
        let mut x = b.clone();
        x[at..end].fill(0);
        out.push((format!("zeroed-{what}"), x, true));
        let mut x = b.clone();
        rng.fill(&mut x[at..end]);
        out.push((format!("random-{what}"), x, true));
    }
    for random in [false, true] {
        let mut x = b.clone();
        for p in loads.iter() {
            let mut o = p.offset as usize;
            let end = ((p.offset + p.filesz) as usize).min(x.len());
            while o < end {
                let e = (o + PAGE as usize).min(end);
                if rng.next() % 10 < 3 {
                    if random {
                        rng.fill(&mut x[o..e]);
                    } else {
                        x[o..e].fill(0);
                    }
                }
                o = e;
            }
        }
        out.push((format!("{}-30-percent", if random { "random" } else { "zeroed" }), x, true));
    }
    out
}

fn analyze_args(core: &Path, exe: Option<&Path>, extra: &[&str]) -> Vec<OsString> {
    let mut a: Vec<OsString> = vec!["analyze".into(), core.into(), "--format".into(), "json".into()];
    if let Some(e) = exe {
        a.extend(["--exe".into(), e.into()]);
    }
    a.extend(extra.iter().map(OsString::from));
    a
}

fn size(p: &Path) -> u64 {
    fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

#[test]
fn damaged_cores_end_in_a_report_or_one_line() {
    let scratch = tempfile::tempdir().unwrap();
    for &(v, sc) in BUILDS {
        let (core, exe) = (common::core(v, sc), common::exe(v));
        let whole_run = run(&analyze_args(&core, Some(&exe), &[]), scratch.path());
        let whole = report(&format!("{v} {sc}"), judge(&format!("{v} {sc}"), &whole_run, size(&core), ""));
        let dir = scratch.path().join(v);
        fs::create_dir_all(&dir).unwrap();
        let mut reports = 0;
        for (name, bytes, required) in damaged_cores(v, &core, &exe, &whole) {
            let what = format!("{v} {sc} {name}");
            let path = write(&dir, &format!("{name}.core"), &bytes);
            let r = run(&analyze_args(&path, Some(&exe), &[]), scratch.path());
            let mut ending = judge(&what, &r, bytes.len() as u64, &format!("{name}.core"));
            // Damage that hit every page showing which build wrote the core
            // (the build ID note, the module data) is refused as a mismatch
            // could be; with --force the report is due.
            if let Ending::Error(line) = &ending {
                if required && line.contains("--force") {
                    let r = run(&analyze_args(&path, Some(&exe), &["--force"]), scratch.path());
                    ending = judge(&what, &r, bytes.len() as u64, &format!("{name}.core"));
                }
            }
            match ending {
                Ending::Report(rep) => {
                    reports += 1;
                    // Damage is never silent where it changed what was read:
                    // a warning says so, or the findings' evidence says what
                    // could not be read (a stale argument word may point at
                    // anything, so a map header that is not one is no warning).
                    let changed = rep["goroutines"] != whole["goroutines"] || rep["maps"] != whole["maps"];
                    let evidence = |r: &Value| -> Vec<Value> {
                        r["findings"].as_array().unwrap().iter().map(|f| f["evidence"].clone()).collect()
                    };
                    let said = !warning_kinds(&rep).is_empty()
                        || (evidence(&rep) != evidence(&whole) && rep.to_string().contains("not a readable"));
                    if changed || name.starts_with("cut-") || name.ends_with("-percent") {
                        assert!(said, "{what}: a report without a warning");
                    }
                }
                Ending::Error(line) => assert!(!required, "{what}: a report was due, got: {line}"),
            }
        }
        assert!(reports >= 16, "{v}: only {reports} damaged cores gave a report");
    }
}

#[test]
fn the_wrong_or_no_executable() {
    let scratch = tempfile::tempdir().unwrap();
    for (&(v, sc), other) in BUILDS.iter().zip(["go1.22.10", "go1.21.13", "go1.24.11-arm64"]) {
        let core = common::core(v, sc);
        let wrong = common::exe(other);
        let what = format!("{v} {sc} with {other}'s executable");
        let r = run(&analyze_args(&core, Some(&wrong), &[]), scratch.path());
        match judge(&what, &r, size(&core) + size(&wrong), "") {
            Ending::Error(line) => assert!(line.contains("--force"), "{what}: {line}"),
            Ending::Report(_) => panic!("{what}: not refused"),
        }
        let r = run(&analyze_args(&core, Some(&wrong), &["--force"]), scratch.path());
        let rep = report(&what, judge(&what, &r, size(&core) + size(&wrong), ""));
        assert!(warning_kinds(&rep).iter().any(|k| k == "executable-mismatch"), "{what}");
        // No executable: the core was not written where its executable's
        // recorded path exists; what needs none is still given.
        let what = format!("{v} {sc} without its executable");
        let alone = scratch.path().join(format!("{v}-alone.core"));
        fs::copy(&core, &alone).unwrap();
        let r = run(&analyze_args(&alone, None, &[]), scratch.path());
        let rep = report(&what, judge(&what, &r, size(&core), "core"));
        assert!(warning_kinds(&rep).iter().any(|k| k == "no-executable"), "{what}: {:?}", warning_kinds(&rep));
        let alone = &rep["core_alone"];
        let threads = alone["threads"].as_array().unwrap_or_else(|| panic!("{what}: core_alone.threads: {rep}"));
        assert!(!threads.is_empty() && threads.iter().all(|t| t["pc"].is_string() && t["sp"].is_string()), "{what}");
        assert!(!alone["mappings"].as_array().unwrap().is_empty(), "{what}: mappings");
        assert_eq!(rep["crash"]["signal"]["name"], "SIGABRT", "{what}");
        assert!(rep["goroutines"].as_array().unwrap().is_empty(), "{what}");
        // The Go version and build ID, from the executable's pages the core holds.
        let p = gotopsy::runtime::Process::open(
            &core,
            &gotopsy::runtime::OpenOptions { exe: Some(common::exe(v)), ..Default::default() },
        )
        .unwrap();
        assert_eq!(rep["target"]["go_version"], p.go_version.as_str(), "{what}");
        assert_eq!(rep["target"]["go_build_id"].as_str(), p.exe.go_build_id.as_deref(), "{what}");
    }
    // A qemu-user core has no NT_FILE: the Go version is searched for in its segments.
    let alone = scratch.path().join("qemu-alone.core");
    fs::copy(common::core("go1.27.3-arm64", "zoo"), &alone).unwrap();
    let r = run(&analyze_args(&alone, None, &[]), scratch.path());
    let rep = report("qemu core alone", judge("qemu core alone", &r, size(&alone), "core"));
    assert_eq!(rep["target"]["go_version"], "go1.27.3");
    assert!(warning_kinds(&rep).iter().any(|k| k == "no-executable"));
}

#[test]
fn files_that_are_not_cores_are_one_line() {
    let scratch = tempfile::tempdir().unwrap();
    let d = scratch.path();
    let mut rng = Rng(7);
    let mut random = vec![0; 1 << 20];
    rng.fill(&mut random);
    let zst = fs::read(common::core_zst("go1.27.3", "fatal")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &random).unwrap();
    let inputs = [
        write(d, "empty.core", b""),
        write(d, "text.core", b"goroutine 1 [running]:\nmain.main()\n"),
        write(d, "random.core", &random),
        write(d, "elf-header-only.core", &fs::read(common::core("go1.27.3", "fatal")).unwrap()[..64]),
        write(d, "random.core.gz", &gz.finish().unwrap()),
        write(d, "cut.core.zst", &zst[..zst.len() / 3]),
        common::exe("go1.27.3"),
        d.to_path_buf(),
        d.join("does-not-exist.core"),
    ];
    for input in &inputs {
        let what = input.display().to_string();
        let name = input.file_name().unwrap().to_string_lossy().into_owned();
        let r = run(&analyze_args(input, Some(&common::exe("go1.27.3")), &[]), d);
        match judge(&what, &r, size(input).max(size(&common::exe("go1.27.3"))), &name) {
            Ending::Error(_) => {}
            // A cut compressed core is analysed as far as it decompresses.
            Ending::Report(rep) => assert!(name == "cut.core.zst" && !warning_kinds(&rep).is_empty(), "{what}"),
        }
    }
}

/// Trace fixtures: Go 1.21's format and the current one.
fn traces() -> Vec<PathBuf> {
    let dir = common::fixtures_dir().join("traces");
    ["go1.21.13", "go1.27.3"]
        .iter()
        .map(|v| {
            let zst = fs::read_dir(dir.join(v))
                .unwrap()
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .find(|p| p.to_string_lossy().ends_with(".trace.zst"))
                .unwrap_or_else(|| panic!("fixtures/traces/{v} has a trace"));
            let out = common::root().join("target").join("fixture-cache").join(format!("damaged-{v}.trace"));
            fs::create_dir_all(out.parent().unwrap()).unwrap();
            fs::write(&out, zstd::decode_all(fs::File::open(&zst).unwrap()).unwrap()).unwrap();
            out
        })
        .collect()
}

#[test]
fn cut_and_bit_flipped_traces() {
    let scratch = tempfile::tempdir().unwrap();
    for t in traces() {
        let b = fs::read(&t).unwrap();
        let mut rng = Rng(b.len() as u64 | 1);
        let mut damaged: Vec<(String, Vec<u8>)> = Vec::new();
        for per_mille in [1, 50, 150, 300, 450, 600, 700, 800, 900, 990] {
            damaged.push((format!("cut-{per_mille}"), b[..b.len() * per_mille / 1000].to_vec()));
        }
        for flips in [1, 10, 100, 1000] {
            for round in 0..3 {
                let mut x = b.clone();
                for _ in 0..flips {
                    let i = (rng.next() as usize) % x.len();
                    x[i] ^= 1 << (rng.next() % 8);
                }
                damaged.push((format!("flip-{flips}-{round}"), x));
            }
        }
        let stem = t.file_stem().unwrap().to_string_lossy().into_owned();
        for (name, bytes) in damaged {
            let file = format!("{stem}-{name}.trace");
            let path = write(scratch.path(), &file, &bytes);
            let args: Vec<OsString> = vec!["trace".into(), path.into(), "--format".into(), "json".into()];
            let r = run(&args, scratch.path());
            if let Ending::Report(rep) = judge(&file, &r, bytes.len() as u64, &file) {
                assert!(rep.is_object(), "{file}");
            }
        }
    }
}

/// The runtime's printed tracebacks, cut mid-stack, among damaged cores in
/// one folder: `scan` ends within the bounds with one record per input it
/// recognises, and a cut log still gives its crash.
#[test]
fn scan_over_a_folder_of_damaged_inputs() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("inputs");
    fs::create_dir_all(&dir).unwrap();
    let mut total = 0u64;
    let mut logs = Vec::new();
    for &(v, sc) in BUILDS {
        let printed = common::printed(v, sc);
        let lines: Vec<&str> = printed.lines().collect();
        let in_stacks: Vec<usize> =
            lines.iter().enumerate().filter(|(_, l)| l.starts_with('\t')).map(|(i, _)| i).collect();
        for (k, &at) in in_stacks.iter().step_by((in_stacks.len() / 4).max(1)).enumerate() {
            let name = format!("{v}-{sc}-cut{k}.log");
            let text = lines[..at].join("\n") + "\n" + &lines[at][..lines[at].len() / 2];
            total += write(&dir, &name, text.as_bytes()).metadata().unwrap().len();
            logs.push(name);
        }
        let (core, exe) = (common::core(v, sc), common::exe(v));
        let b = fs::read(&core).unwrap();
        for (name, bytes) in [
            ("cut-600", b[..b.len() * 6 / 10].to_vec()),
            ("notes-zeroed", damaged_notes(&b)),
            ("tiny", b[..100].to_vec()),
        ] {
            total += bytes.len() as u64;
            write(&dir, &format!("{v}-{name}.core"), &bytes);
        }
        let _ = exe;
    }
    let mut args: Vec<OsString> = vec!["scan".into(), dir.clone().into(), "--format".into(), "json".into()];
    for &(v, _) in BUILDS {
        args.extend(["--exe-dir".into(), common::exe(v).parent().unwrap().into()]);
    }
    let r = run(&args, scratch.path());
    let rep = report("scan", judge("scan", &r, total, "inputs"));
    let records = rep["cores"].as_array().unwrap_or_else(|| panic!("scan JSON has records: {rep}"));
    for name in &logs {
        let rec = records
            .iter()
            .find(|r| r["path"].as_str().is_some_and(|p| p.ends_with(name.as_str())))
            .unwrap_or_else(|| panic!("no record for {name}"));
        assert!(rec["crash"].is_object() || rec["signature"].is_string(), "{name}: {rec}");
    }
    for &(v, _) in BUILDS {
        for name in ["cut-600", "notes-zeroed", "tiny"] {
            let file = format!("{v}-{name}.core");
            assert!(
                records.iter().any(|r| r["path"].as_str().is_some_and(|p| p.ends_with(&file))),
                "no record for {file}"
            );
        }
    }
}

fn damaged_notes(b: &[u8]) -> Vec<u8> {
    let note = phdrs(b).into_iter().find(|p| p.kind == PT_NOTE).unwrap();
    let mut x = b.to_vec();
    x[note.offset as usize..(note.offset + note.filesz) as usize].fill(0);
    x
}

/// The TUI opens a damaged core and its overview shows the warnings.
#[test]
fn the_tui_shows_a_damaged_cores_warnings() {
    use gotopsy::model::{AnalyzeOptions, NoProgress};
    let scratch = tempfile::tempdir().unwrap();
    for &(v, sc) in BUILDS {
        let (core, exe) = (common::core(v, sc), common::exe(v));
        let b = fs::read(&core).unwrap();
        let path = write(scratch.path(), &format!("{v}-cut.core"), &b[..b.len() * 6 / 10]);
        let opts = gotopsy::runtime::OpenOptions { exe: Some(exe), ..Default::default() };
        let p = gotopsy::runtime::Process::open(&path, &opts).expect("a cut core opens");
        let a = gotopsy::analyze(&p, &AnalyzeOptions::default(), &NoProgress).expect("analyzes");
        assert!(!a.warnings.is_empty(), "{v}: a cut core warns");
        let screen = overview(a);
        assert!(
            screen.contains("truncated") || screen.contains("cut short"),
            "{v}: the overview shows the warning:\n{screen}"
        );
        // Without the executable: what the core alone says, and why.
        let c = gotopsy::corefile::CoreFile::open(&core).unwrap();
        let screen = overview(gotopsy::model::core_only(&c, "no executable given (--exe)"));
        assert!(screen.contains("no executable given"), "{v}: the overview says why:\n{screen}");
    }
}

/// The TUI's first screen of `a`, as text.
fn overview(a: gotopsy::model::Analysis) -> String {
    let mut app = gotopsy::tui::app::App::with_analysis(std::sync::Arc::new(a));
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 48)).unwrap();
    t.draw(|f| gotopsy::tui::ui::draw(f, &mut app)).unwrap();
    let buf = t.backend().buffer().clone();
    (0..buf.area.height)
        .flat_map(|y| (0..buf.area.width).map(move |x| (x, y)))
        .map(|(x, y)| buf[(x, y)].symbol().to_string())
        .collect()
}

/// A `g` the runtime has just allocated is on `allgs` as `_Gdead` with goid 0
/// until `newproc1` gives it an id: not damage. A live `g` with id 0 is.
#[test]
fn a_dead_goroutine_without_an_id_is_not_damage() {
    use gotopsy::memory::ReadExt;
    let scratch = tempfile::tempdir().unwrap();
    for &(v, sc) in BUILDS {
        let core = common::core(v, sc);
        let exe = common::exe_for(v, sc);
        let p = gotopsy::runtime::Process::open(
            &core,
            &gotopsy::runtime::OpenOptions { exe: Some(exe.clone()), ..Default::default() },
        )
        .unwrap();
        let mem = p.mem();
        let array = mem.read_ptr(p.global("runtime.allgs").unwrap()).unwrap();
        let len = mem.read_u64(p.global("runtime.allglen").unwrap()).unwrap();
        // A waiting goroutine: with goid 0 it is damage; made `_Gdead` too, it
        // is what `malg` and `allgadd` leave before `newproc1` runs (the
        // fixtures' programs have no dead goroutine to take).
        let live = (0..len)
            .map(|i| mem.read_ptr(gotopsy::addr::Addr(array.0 + 8 * i)).unwrap().0)
            .find(|&g| {
                mem.read_u32(gotopsy::addr::Addr(g + p.layout.g.atomicstatus)).unwrap() == p.layout.status.waiting
            })
            .unwrap_or_else(|| panic!("{v} {sc}: no waiting goroutine on allgs"));
        let bytes = fs::read(&core).unwrap();
        for (what, dead) in [("dead", true), ("waiting", false)] {
            let mut b = bytes.clone();
            let at = file_offset(&b, live + p.layout.g.goid).unwrap();
            put_u64(&mut b, at, 0);
            if dead {
                let at = file_offset(&b, live + p.layout.g.atomicstatus).unwrap();
                b[at..at + 4].copy_from_slice(&p.layout.status.dead.to_le_bytes());
            }
            let path = write(scratch.path(), &format!("{v}-{what}-goid0.core"), &b);
            let what = format!("{v} {sc}: a {what} g with goid 0");
            let r = run(&analyze_args(&path, Some(&exe), &[]), scratch.path());
            let rep = report(&what, judge(&what, &r, size(&path), ""));
            let said = warning_kinds(&rep).iter().any(|k| k == "damaged-core");
            assert_eq!(said, !dead, "{what}: {}", rep["warnings"]);
        }
    }
}
