//! The command line: contract names, schema, text round trip, bad input.

mod common;
#[path = "common/schema.rs"]
mod schema;

use gotopsy::crashlog;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn gotopsy(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gotopsy")).args(args).output().expect("runs")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn json_report(variant: &str, scenario: &str) -> Value {
    let out = gotopsy(&[
        "analyze",
        s(&common::core_zst(variant, scenario)),
        "--exe",
        s(&common::exe(variant)),
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

/// A failure is one line on stderr naming `needle`, exit status 1, no panic.
fn assert_one_line_error(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(err.contains(needle), "{err:?} does not name {needle:?}");
}

#[test]
fn json_report_follows_the_schema_and_contract() {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(common::root().join("docs/report.schema.json")).unwrap())
            .unwrap();
    for (variant, scenario) in
        [("go1.27.3", "fatal"), ("go1.21.13", "nilderef"), ("go1.24.11-noswissmap", "zoo"), ("go1.27.3-pie", "panic")]
    {
        let r = json_report(variant, scenario);
        let mut errs = Vec::new();
        schema::check(&schema, &schema, &r, "$", &mut errs);
        assert!(errs.is_empty(), "{variant}/{scenario}:\n{}", errs.join("\n"));
        assert_eq!(r["schema_version"], gotopsy::report::SCHEMA_VERSION);
        assert_eq!(r["target"]["go_version"], variant.split('-').next().unwrap());
        let gs = r["goroutines"].as_array().unwrap();
        assert!(gs.iter().all(|g| g["frames"].as_array().is_some_and(|f| !f.is_empty())));
    }
    let r = json_report("go1.27.3", "fatal");
    assert_eq!(r["crash"]["kind"], "fatal error");
    assert_eq!(r["crash"]["message"], "concurrent map writes");
    let r = json_report("go1.21.13", "nilderef");
    assert_eq!(r["crash"]["message"], "runtime error: invalid memory address or nil pointer dereference");
    assert_eq!(r["crash"]["fault"]["signal"]["name"], "SIGSEGV");
    assert_eq!(r["crash"]["fault"]["addr"], "0x0");
    let r = json_report("go1.24.11-noswissmap", "zoo");
    assert_eq!(r["target"]["goexperiment"], "noswissmap");
    let locked = r["goroutines"].as_array().unwrap().iter().filter(|g| g["locked_to_thread"] == true).count();
    assert!(locked >= 1);
    let r = json_report("go1.27.3-pie", "panic");
    assert_eq!(r["target"]["pie"], true);
    assert_ne!(r["target"]["load_bias"], "0x0");
}

#[test]
fn goroutines_text_parses_back_to_the_json_report() {
    for variant in ["go1.21.13", "go1.27.3"] {
        let r = json_report(variant, "zoo");
        let core = common::core_zst(variant, "zoo");
        let out = gotopsy(&["goroutines", s(&core), "--exe", s(&common::exe(variant)), "--all-frames"]);
        assert!(out.status.success());
        let tb = crashlog::parse(&String::from_utf8_lossy(&out.stdout));
        let gs = r["goroutines"].as_array().unwrap();
        assert_eq!(tb.goroutines.len(), gs.len());
        // The crashing goroutine comes first, as the runtime prints it; the rest in allgs order.
        let crashed = r["crash"]["goroutine"].as_u64();
        assert_eq!(tb.goroutines.first().map(|g| g.id), crashed.or(gs[0]["id"].as_u64()));
        let order = |id: u64| (Some(id) != crashed, gs.iter().position(|g| g["id"] == id));
        let mut gs: Vec<&Value> = gs.iter().collect();
        gs.sort_by_key(|g| order(g["id"].as_u64().unwrap()));
        let mut elided = 0;
        for (t, g) in tb.goroutines.iter().zip(gs) {
            assert_eq!(t.id, g["id"].as_u64().unwrap());
            assert_eq!(t.status(), g["status"].as_str().unwrap());
            let frames = g["frames"].as_array().unwrap();
            let name = |f: &Value| f.get("print_name").unwrap_or(&f["function"]).as_str().unwrap().to_string();
            let json: Vec<(String, String, u64)> = frames
                .iter()
                .map(|f| (name(f), f["file"].as_str().unwrap().into(), f["line"].as_u64().unwrap()))
                .collect();
            let text: Vec<(String, String, u64)> =
                t.frames.iter().map(|f| (f.function.clone(), f.file.clone(), f.line as u64)).collect();
            match t.elided {
                None => assert_eq!(text, json, "goroutine {}", t.id),
                Some((at, n)) => {
                    elided += 1;
                    assert_eq!(text.len() + n as usize, json.len());
                    assert_eq!(text[..at], json[..at]);
                    assert_eq!(text[at..], json[json.len() - (text.len() - at)..]);
                }
            }
        }
        assert!(elided >= 1, "the zoo has a goroutine deeper than 100 frames");
    }
}

#[test]
fn bad_inputs_fail_with_one_line() {
    let exe = common::exe("go1.27.3");
    let out = gotopsy(&["analyze", "/nonexistent/core", "--exe", s(&exe)]);
    assert_one_line_error(&out, "/nonexistent/core");

    // An executable is not a core.
    let out = gotopsy(&["analyze", s(&exe), "--exe", s(&exe)]);
    assert_one_line_error(&out, "not a usable core file");

    // A core that is not a Go executable's.
    let core = common::core("go1.27.3", "panic");
    let out = gotopsy(&["analyze", s(&core), "--exe", s(&core)]);
    assert_one_line_error(&out, "not a usable Go executable");

    // The core of another build.
    let out = gotopsy(&["analyze", s(&core), "--exe", s(&common::exe("go1.26.6"))]);
    assert_one_line_error(&out, "does not belong to executable");

    // Without --exe, the recorded executable is looked up (the fixtures' build dir is gone),
    // then next to the core: alone in a folder, the core has none, and the
    // report is what the core alone says, with the warning on stderr (one line).
    let alone = tempfile::tempdir().unwrap();
    let lone_core = alone.path().join("panic.core");
    std::fs::copy(&core, &lone_core).unwrap();
    let out = gotopsy(&["analyze", s(&lone_core)]);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.trim_end().lines().count() == 1 && err.contains("recorded executable") && err.contains("--exe"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("== threads: "));
    // The fixture cache holds the executable next to the core, under its recorded name: it is used.
    let out = gotopsy(&["analyze", s(&core), "--format", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // A core of a machine gotopsy does not read (e_machine of a real core set
    // to riscv64, ppc64le, s390x, arm, 386): one line naming it.
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(&core).unwrap();
    for (machine, name) in [(243u16, "RISCV"), (21, "PPC64"), (22, "S390"), (40, "ARM"), (3, "386")] {
        bytes[18..20].copy_from_slice(&machine.to_le_bytes());
        let other = dir.path().join(format!("core.{machine}"));
        std::fs::write(&other, &bytes).unwrap();
        let out = gotopsy(&["analyze", s(&other), "--exe", s(&exe)]);
        assert_one_line_error(&out, "linux/amd64 and linux/arm64");
        let err = String::from_utf8_lossy(&out.stderr).to_uppercase();
        assert!(err.contains(name), "{err}");
    }

    // Garbage.
    let junk = dir.path().join("junk");
    std::fs::write(&junk, b"\x7fELF this is not really an ELF file").unwrap();
    let out = gotopsy(&["goroutines", s(&junk), "--exe", s(&exe)]);
    assert_one_line_error(&out, "junk");
}

#[test]
fn truncated_and_mismatched_cores_never_panic() {
    let full = std::fs::read(common::core("go1.27.3", "zoo")).unwrap();
    let exe = common::exe("go1.27.3");
    let dir = tempfile::tempdir().unwrap();
    for frac in [1usize, 8, 64, 200, 500, 900] {
        let cut = dir.path().join(format!("cut{frac}"));
        std::fs::write(&cut, &full[..full.len() * frac / 1000]).unwrap();
        let out = gotopsy(&["analyze", s(&cut), "--exe", s(&exe), "--format", "json", "--show-values"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "cut at {frac}‰: {err}");
        if !out.status.success() {
            assert_one_line_error(&out, "cut");
        }
    }
    // --force on a mismatched executable: whatever comes out, no panic —
    // including the map analysis, map entries and the heap model on wrong layouts.
    for (core_v, sc) in [("go1.27.3", "zoo"), ("go1.27.3", "mapstale"), ("go1.21.13", "mapiterwrite")] {
        let core = common::core(core_v, sc);
        for other in ["go1.26.6", "go1.21.13", "go1.27.3-pie", "go1.24.11-noswissmap"] {
            let exe = common::exe(other);
            for args in [
                vec!["goroutines"],
                vec!["analyze", "--show-values", "--format", "json"],
                vec!["inspect", "0xc000010000", "0x1000"],
            ] {
                let mut a = args.clone();
                a.extend([s(&core), "--exe", s(&exe), "--force"]);
                let out = gotopsy(&a);
                assert!(
                    !String::from_utf8_lossy(&out.stderr).contains("panicked"),
                    "{core_v}/{sc} with {other}: {args:?}"
                );
            }
        }
    }
}

#[test]
fn compressed_and_plain_inputs_give_the_same_report() {
    let exe = common::exe("go1.23.9");
    let a = gotopsy(&["goroutines", s(&common::core_zst("go1.23.9", "panic")), "--exe", s(&exe)]);
    let b = gotopsy(&["goroutines", s(&common::core("go1.23.9", "panic")), "--exe", s(&exe)]);
    assert!(a.status.success() && b.status.success());
    assert_eq!(a.stdout, b.stdout);
    // gzip too.
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("core.gz");
    let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::fast());
    std::io::copy(&mut std::fs::File::open(common::core("go1.23.9", "panic")).unwrap(), &mut enc).unwrap();
    enc.finish().unwrap();
    let c = gotopsy(&["goroutines", s(&gz), "--exe", s(&exe)]);
    assert_eq!(a.stdout, c.stdout);
}

/// A core and an executable given as pipes (`<(…)`) read like files.
#[test]
fn pipes_are_read_like_files() {
    let core = common::core_zst("go1.27.3", "fatal");
    let exe = common::exe("go1.27.3");
    let cmd = format!(
        "{} analyze <(cat {}) --exe <(cat {}) --format json",
        env!("CARGO_BIN_EXE_gotopsy"),
        core.display(),
        exe.display()
    );
    let out = Command::new("bash").args(["-c", &cmd]).output().expect("bash runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["crash"]["kind"], "fatal error");
    assert_eq!(r["target"]["core_compression"], "zstd");
}

#[test]
fn without_exe_the_recorded_executable_is_used_when_it_is_there() {
    let core = common::core_zst("go1.27.3", "panic");
    let out = gotopsy(&["analyze", s(&core)]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    // "… the recorded executable /tmp/…/crashzoo does not exist here"
    let recorded = err
        .split("recorded executable ")
        .nth(1)
        .and_then(|r| r.split(" does not exist").next())
        .expect("names the path");
    let recorded = std::path::PathBuf::from(recorded);
    let top = recorded.ancestors().nth(3).expect("a temp dir of the generator").to_path_buf();
    assert!(top.starts_with("/tmp") && !top.exists(), "refusing to touch {}", top.display());
    std::fs::create_dir_all(recorded.parent().unwrap()).unwrap();
    std::fs::copy(common::exe("go1.27.3"), &recorded).unwrap();
    let ok = gotopsy(&["analyze", s(&core), "--format", "json"]);
    std::fs::remove_dir_all(&top).unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let r: Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(r["target"]["executable"], recorded.to_str().unwrap());
}

/// Exit status: 0 done, 1 error, 2 usage, 3 a `--fail-on` gate tripped (the
/// report written first); `--version` names the commit; completions and the
/// manual page are generated.
#[test]
fn exit_codes_gates_version_completions_and_man() {
    let core = common::core_zst("go1.27.3", "fatal");
    let exe = common::exe("go1.27.3");
    let analyze = |extra: &[&str]| gotopsy(&[&["analyze", s(&core), "--exe", s(&exe)][..], extra].concat());
    let out = analyze(&["--fail-on", "critical", "--format", "json"]);
    assert_eq!(out.status.code(), Some(3), "a critical map-crash finding trips the gate");
    let r: Value = serde_json::from_slice(&out.stdout).expect("the report is written before the gate");
    assert_eq!(r["findings"][0]["severity"], "critical");
    assert_eq!(analyze(&["--fail-on", "warning"]).status.code(), Some(3));
    assert_eq!(analyze(&[]).status.code(), Some(0));
    // A panic has no finding: no gate trips.
    let panic =
        gotopsy(&["analyze", s(&common::core_zst("go1.27.3", "panic")), "--exe", s(&exe), "--fail-on", "critical"]);
    assert_eq!(panic.status.code(), Some(0));
    for usage in [&["analyze"][..], &["analyze", s(&core), "--fail-on", "sometimes"], &["no-such-command"]] {
        assert_eq!(gotopsy(usage).status.code(), Some(2), "{usage:?}");
    }
    let v = gotopsy(&["--version"]);
    assert_eq!(v.status.code(), Some(0));
    let v = String::from_utf8_lossy(&v.stdout);
    assert!(v.starts_with("gotopsy 0.") && v.contains('(') && v.contains(')'), "{v}");
    for shell in ["bash", "zsh", "fish"] {
        let c = gotopsy(&["completions", shell]);
        assert_eq!(c.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&c.stdout).contains("analyze"), "{shell}");
    }
    let man = gotopsy(&["man"]);
    assert_eq!(man.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&man.stdout).contains(".TH gotopsy"));
}

/// `goroutines` filters and JSON: `--id`, `--state`, `--match` restrict what
/// is listed; `--format json` is `{schema_version, goroutines}`.
#[test]
fn goroutines_filters_and_json() {
    let core = common::core_zst("go1.27.3", "zoo");
    let exe = common::exe("go1.27.3");
    let run = |extra: &[&str]| {
        let out = gotopsy(&[&["goroutines", s(&core), "--exe", s(&exe), "--format", "json"][..], extra].concat());
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["schema_version"], gotopsy::report::SCHEMA_VERSION);
        v["goroutines"].as_array().unwrap().clone()
    };
    let all = run(&[]);
    assert!(all.len() > 10);
    let one = run(&["--id", "1"]);
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["id"], 1);
    let chan = run(&["--state", "chan receive"]);
    assert!(!chan.is_empty() && chan.iter().all(|g| g["status"].as_str().unwrap().contains("chan receive")));
    assert!(chan.len() < all.len());
    let sel = run(&["--match", "^main\\.blockSelect"]);
    assert!(!sel.is_empty());
    assert!(sel.iter().all(|g| g["frames"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["function"].as_str().unwrap().starts_with("main.blockSelect"))));
    let none = run(&["--match", "^no_such_function$"]);
    assert!(none.is_empty());
    let bad = gotopsy(&["goroutines", s(&core), "--match", "("]);
    assert_eq!(bad.status.code(), Some(2), "a bad regular expression is a usage error");
}

/// xz and lz4 cores (systemd-coredump writes them) read like plain ones; a
/// cut compressed core is analysed as far as it decompresses, with a
/// warning; `-` is standard input; a directory and a missing TMPDIR are one
/// line naming them.
#[test]
fn xz_lz4_cut_and_stdin_cores() {
    use std::io::Write as _;
    let plain = common::core("go1.27.3", "panic");
    let exe = common::exe("go1.27.3");
    let bytes = std::fs::read(&plain).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let report = |core: &str, stdin: Option<&[u8]>| -> (Option<i32>, Value, String) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gotopsy"));
        cmd.args(["analyze", core, "--exe", s(&exe), "--format", "json"]);
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(b) = stdin {
            input.write_all(b).unwrap();
        }
        drop(input);
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), serde_json::from_slice(&out.stdout).unwrap_or(Value::Null), err)
    };
    let (code, want, _) = report(s(&plain), None);
    assert_eq!(code, Some(0));
    let same = |r: &Value, what: &str| {
        assert_eq!(r["goroutines"], want["goroutines"], "{what}");
        assert_eq!(r["crash"], want["crash"], "{what}");
    };
    let mut xz = xz2::write::XzEncoder::new(Vec::new(), 1);
    xz.write_all(&bytes).unwrap();
    let xz = xz.finish().unwrap();
    let mut lz = lz4_flex::frame::FrameEncoder::new(Vec::new());
    lz.write_all(&bytes).unwrap();
    let lz = lz.finish().unwrap();
    for (name, data, kind) in [("core.xz", &xz, "xz"), ("core.lz4", &lz, "lz4")] {
        let f = dir.path().join(name);
        std::fs::write(&f, data).unwrap();
        let (code, r, err) = report(s(&f), None);
        assert_eq!(code, Some(0), "{name}: {err}");
        assert_eq!(r["target"]["core_compression"], kind);
        same(&r, name);
    }
    // Standard input, compressed or not.
    let zst = std::fs::read(common::core_zst("go1.27.3", "panic")).unwrap();
    for (what, data) in [("plain stdin", &bytes), ("zstd stdin", &zst)] {
        let (code, r, err) = report("-", Some(data));
        assert_eq!(code, Some(0), "{what}: {err}");
        same(&r, what);
    }
    // A cut .zst: the report is there, with the reason first among the warnings.
    let cut = dir.path().join("cut.core.zst");
    std::fs::write(&cut, &zst[..zst.len() * 95 / 100]).unwrap();
    let (code, r, err) = report(s(&cut), None);
    assert_eq!(code, Some(0), "{err}");
    let w = r["warnings"][0].as_str().unwrap_or_default();
    assert!(w.contains("breaks off") && w.contains("as far as it decompressed"), "{w}");
    assert!(err.contains("breaks off"), "warnings go to stderr too: {err}");
    assert!(!r["goroutines"].as_array().unwrap().is_empty());
    // A directory, and a TMPDIR that does not exist.
    let out = gotopsy(&["analyze", s(dir.path()), "--exe", s(&exe)]);
    assert_one_line_error(&out, "is a directory");
    assert_one_line_error(&out, "gotopsy scan");
    // A path that is not there: said once, with what to do.
    let out = gotopsy(&["analyze", "/nonexistent/core", "--exe", s(&exe)]);
    assert_one_line_error(&out, "/nonexistent/core: No such file or directory (os error 2): check the path");
    let out = Command::new(env!("CARGO_BIN_EXE_gotopsy"))
        .args(["analyze", s(&common::core_zst("go1.27.3", "panic")), "--exe", s(&exe)])
        .env("TMPDIR", "/nonexistent/tmp")
        .output()
        .unwrap();
    assert_one_line_error(&out, "TMPDIR");
    assert_one_line_error(&out, "/nonexistent/tmp");
}

/// `inspect` names what it can: the function at a text address, the global
/// at a data address, the goroutine whose stack holds a stack address.
#[test]
fn inspect_names_functions_globals_and_stacks() {
    let core = common::core_zst("go1.27.3", "mapstale");
    let exe = common::exe("go1.27.3");
    let r = json_report("go1.27.3", "mapstale");
    let g = &r["goroutines"].as_array().unwrap().iter().find(|g| g["status"] != "running").unwrap().clone();
    let (pc, sp, id) =
        (g["frames"][0]["pc"].as_str().unwrap(), g["frames"][0]["sp"].as_str().unwrap(), g["id"].as_u64().unwrap());
    let func = g["frames"][0]["function"].as_str().unwrap();
    let map = r["maps"].as_array().unwrap().iter().find(|m| m["names"][0]["name"] == "main.staleBig").unwrap();
    // The global's own address: where the map pointer is stored.
    let global = {
        let e = gotopsy::exe::Executable::open(&exe).unwrap();
        format!("{:#x}", e.symbol("main.staleBig").expect("the symbol table has main.staleBig").0 .0)
    };
    let out = gotopsy(&[
        "inspect",
        s(&core),
        "--exe",
        s(&exe),
        "--format",
        "json",
        pc,
        sp,
        &global,
        map["address"].as_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let a = v["addresses"].as_array().unwrap();
    assert_eq!(a[0]["region"], "text");
    assert!(a[0]["symbol"].as_str().unwrap().starts_with(&format!("{func}+0x")), "{}", a[0]);
    assert_eq!(a[1]["region"], "stack");
    assert_eq!(a[1]["goroutine"], id);
    assert_eq!(a[2]["region"], "data");
    assert_eq!(a[2]["symbol"], "main.staleBig");
    assert_eq!(a[3]["region"], "heap");
    assert_eq!(a[3]["allocated"], true);
}

/// A stripped executable with `--symbols` (its `.debug` file, as
/// `objcopy --only-keep-debug` makes it) gives the report of the unstripped
/// build, names included; another build's file is refused in one line.
#[test]
fn symbols_from_a_debug_file_restore_a_stripped_build() {
    let (v, sc) = ("go1.27.3", "mapstale");
    let exe = common::exe(v);
    let stripped = common::stripped(&exe);
    let debug = exe.with_extension("debug");
    if !debug.exists() {
        let st = Command::new("objcopy").arg("--only-keep-debug").arg(&exe).arg(&debug).status().expect("objcopy runs");
        assert!(st.success());
    }
    let report = |exe: &Path, symbols: Option<&Path>| -> Value {
        let core = common::core_zst(v, sc);
        let mut args = vec!["analyze", s(&core), "--exe", s(exe), "--format", "json"];
        if let Some(sym) = symbols {
            args.extend(["--symbols", s(sym)]);
        }
        let out = gotopsy(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let names = |r: &Value| -> Vec<String> {
        r["maps"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|m| m["names"].as_array().unwrap().clone())
            .map(|n| n["name"].to_string())
            .collect()
    };
    let (full, bare, restored) = (report(&exe, None), report(&stripped, None), report(&stripped, Some(&debug)));
    assert!(names(&full).iter().any(|n| n.contains("main.staleBig")), "{:?}", names(&full));
    assert!(names(&bare).is_empty(), "a stripped build names no map: {:?}", names(&bare));
    assert_eq!(names(&restored), names(&full));
    assert_eq!(restored["findings"], full["findings"]);
    assert_eq!(restored["goroutines"], full["goroutines"]);
    let other = common::exe("go1.24.11");
    let out = gotopsy(&["analyze", s(&common::core_zst(v, sc)), "--exe", s(&stripped), "--symbols", s(&other)]);
    assert_one_line_error(&out, "is not the executable's");
}

/// Map keys and values appear in no output without `--show-values`: the
/// crashiter core's maps hold "three" (map[int]string) and "x" … (map[string]int).
#[test]
fn map_values_appear_only_with_show_values() {
    let (v, sc) = ("go1.27.3", "iterfuncs");
    let (core, exe) = (common::core_zst(v, sc), common::exe_for(v, sc));
    let tmp = tempfile::tempdir().unwrap();
    let saved = tmp.path().join("r.json");
    let run = |args: &[&str]| -> String {
        let out = gotopsy(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let (c, e) = (s(&core), s(&exe));
    let mut outputs = vec![
        run(&["analyze", c, "--exe", e]),
        run(&["analyze", c, "--exe", e, "--format", "json"]),
        run(&["goroutines", c, "--exe", e]),
        run(&["goroutines", c, "--exe", e, "--format", "json"]),
    ];
    std::fs::write(&saved, &outputs[1]).unwrap();
    outputs.push(run(&["report", s(&saved)]));
    outputs.push(run(&["scan", c, "--exe", e, "--format", "json"]));
    for (i, o) in outputs.iter().enumerate() {
        for marker in ["three", "\"x\"", "\\\"x\\\""] {
            assert!(!o.contains(marker), "output {i} holds the map value {marker}");
        }
    }
    let shown = run(&["analyze", c, "--exe", e, "--show-values"]);
    assert!(shown.contains("\"three\"") && shown.contains("\"x\": 1"), "--show-values shows them");
}

/// Against decompression bombs: a compressed core with a gigabyte of zeros
/// appended decompresses only as far as its ELF headers say it ends, and
/// `--max-decompressed` stops any input at a size (a cut core, analyzed as far
/// as it goes, with a warning).
#[test]
fn decompression_stops_where_the_core_ends_and_at_max_decompressed() {
    let (v, sc) = ("go1.27.3", "mapiterwrite");
    let tmp = tempfile::tempdir().unwrap();
    let bomb = tmp.path().join("bomb.core.zst");
    {
        let mut enc = zstd::stream::write::Encoder::new(std::fs::File::create(&bomb).unwrap(), 3).unwrap();
        std::io::Write::write_all(&mut enc, &std::fs::read(common::core(v, sc)).unwrap()).unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..1024 {
            std::io::Write::write_all(&mut enc, &zeros).unwrap();
        }
        enc.finish().unwrap();
    }
    assert!(std::fs::metadata(&bomb).unwrap().len() < 4 << 20, "a gigabyte of zeros compresses to little");
    let exe = common::exe(v);
    let json = |core: &Path, extra: &[&str]| -> Value {
        let mut args = vec!["analyze", s(core), "--exe", s(&exe), "--format", "json"];
        args.extend(extra);
        let out = gotopsy(&args);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let (plain, bombed) = (json(&common::core_zst(v, sc), &[]), json(&bomb, &[]));
    assert_eq!(bombed["findings"], plain["findings"]);
    assert_eq!(bombed["goroutines"], plain["goroutines"]);
    assert_eq!(bombed["warnings"], plain["warnings"], "not cut, not truncated");
    let capped = json(&common::core_zst(v, sc), &["--max-decompressed", "2M"]);
    let warned =
        capped["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("--max-decompressed"));
    assert!(warned, "{}", capped["warnings"]);
    let out = gotopsy(&["analyze", s(&common::core_zst(v, sc)), "--max-decompressed", "lots"]);
    assert_eq!(out.status.code(), Some(2), "a bad size is a usage error");
}
