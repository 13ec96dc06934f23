//! `gotopsy scan` over a folder of real cores and their crash logs (plain,
//! journald-prefixed with two crashes, Kubernetes CRI), damaged and unrelated
//! files, with the executables under other names in another folder.

mod common;
#[path = "common/schema.rs"]
mod schema;

use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn gotopsy(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gotopsy")).args(args).output().expect("runs")
}

const BUILDS: &[&str] = &["go1.21.13", "go1.24.11", "go1.27.3"];
const SCENARIOS: &[&str] = &["fatal", "mapiterwrite", "panic", "nilderef"];

fn fleet(dir: &Path, exes: &Path) {
    for v in BUILDS {
        std::fs::copy(common::exe(v), exes.join(format!("service-{v}"))).unwrap();
        for s in SCENARIOS {
            std::os::unix::fs::symlink(common::core_zst(v, s), dir.join(format!("core.svc.{v}.{s}.zst"))).unwrap();
            std::fs::write(dir.join(format!("{v}-{s}.log")), format!("starting\n{}", common::printed(v, s))).unwrap();
        }
    }
    // A journald log of a service that crashed twice, and a CRI node log.
    let mut j = String::new();
    for s in ["fatal", "panic"] {
        j.push_str("Dec 01 03:12:40 host svc[99]: listening\n");
        for l in common::printed("go1.27.3", s).lines() {
            j.push_str(&format!("Dec 01 03:12:44 host svc[123]: {l}\n"));
        }
    }
    std::fs::write(dir.join("journal.txt"), j).unwrap();
    let cri: String = common::printed("go1.24.11", "mapiterwrite")
        .lines()
        .map(|l| format!("2026-12-01T03:12:44.1Z stderr F {l}\n"))
        .collect();
    std::fs::write(dir.join("0.log"), cri).unwrap();
    // A SIGQUIT dump's log.
    std::fs::write(dir.join("quit.log"), common::printed("go1.27.3", "sigquit")).unwrap();
    // A core whose executable is nowhere to be found.
    std::os::unix::fs::symlink(common::core_zst("go1.22.10", "panic"), dir.join("orphan.core.zst")).unwrap();
    // Damaged and unrelated inputs.
    let core = std::fs::read(common::core("go1.27.3", "zoo")).unwrap();
    std::fs::write(dir.join("cut.core"), &core[..core.len() / 10]).unwrap();
    std::fs::write(dir.join("empty"), b"").unwrap();
    std::fs::write(dir.join("notes.txt"), "nothing crashed here\n").unwrap();
    std::fs::write(
        dir.join("random.bin"),
        (0..5000u32).map(|i| (i.wrapping_mul(2654435761) >> 7) as u8).collect::<Vec<_>>(),
    )
    .unwrap();
    // A loop: the folder links to itself.
    std::os::unix::fs::symlink(dir, dir.join("loop")).unwrap();
}

#[test]
fn a_fleet_scans_into_clusters_by_bug() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, exes) = (tmp.path().join("dumps"), tmp.path().join("bin"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&exes).unwrap();
    fleet(&dir, &exes);
    let out = gotopsy(&["scan", dir.to_str().unwrap(), "--exe-dir", exes.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(r["schema_version"], gotopsy::report::SCHEMA_VERSION);
    let sch: Value =
        serde_json::from_str(&std::fs::read_to_string(common::root().join("docs/scan.schema.json")).unwrap()).unwrap();
    let mut errs = Vec::new();
    schema::check(&sch, &sch, &r, "$", &mut errs);
    assert!(errs.is_empty(), "{}", errs.join("\n"));
    let cores = r["cores"].as_array().unwrap();
    // Every path once, as walked (the loop is walked once).
    let kinds = |k: &str| cores.iter().filter(|c| c["kind"] == k).count();
    assert_eq!(kinds("core"), BUILDS.len() * SCENARIOS.len() + 2, "the fixture cores, the orphan and the cut one");
    assert_eq!(
        kinds("log"),
        BUILDS.len() * SCENARIOS.len() + 2 + 1 + 1,
        "the logs, the journal's two crashes, the CRI log, the SIGQUIT dump"
    );
    let quit = cores.iter().find(|c| c["path"].as_str().unwrap().ends_with("quit.log")).unwrap();
    assert_eq!(
        (&quit["crash"]["kind"], &quit["crash"]["signal"]),
        (&"sigquit-dump".into(), &"SIGQUIT".into()),
        "{quit}"
    );
    assert!(quit["signature"].as_str().unwrap().starts_with("sigquit-dump | "), "{quit}");
    // The orphan: a record saying what was tried and what the core alone gives.
    let orphan = cores.iter().find(|c| c["path"].as_str().unwrap().ends_with("orphan.core.zst")).unwrap();
    assert_eq!(orphan["error"], "no executable matches");
    assert!(orphan["executable_error"].as_str().unwrap().contains("--exe-dir"), "{orphan}");
    assert!(orphan["core_only"]["threads"].as_u64().unwrap() >= 1);
    assert_eq!(orphan["core_only"]["signal"], "SIGABRT");
    assert!(orphan["core_only"]["pid"].as_u64().is_some() && orphan["core_only"]["recorded_executable"].is_string());
    let analyzable = |c: &&Value| {
        let p = c["path"].as_str().unwrap();
        c["kind"] == "core" && !p.ends_with("cut.core") && !p.ends_with("orphan.core.zst")
    };
    for c in cores.iter().filter(analyzable) {
        assert!(c["error"].is_null(), "{c}");
        assert!(
            c["executable"]["path"].as_str().unwrap().contains("service-"),
            "matched by build under another name: {c}"
        );
        assert!(c["signature"].is_string() && !c["crash"].is_null() && c["go_version"].is_string());
        // Its frames with their lines from the function's start (docs/signatures.md).
        let lines = c["signature_lines"].as_str().unwrap_or_else(|| panic!("no signature_lines: {c}"));
        assert!(lines.starts_with(c["signature_top"].as_str().unwrap()) && lines.contains(":+"), "{c}");
    }
    // A log has no function's start lines.
    for c in
        cores.iter().filter(|c| c["kind"] == "log" && c["signature"].as_str().is_some_and(|s| s.contains(" | main.")))
    {
        assert!(c["signature_lines"].is_null(), "{c}");
    }
    // The map crashes carry both sides.
    let fatal = cores.iter().find(|c| c["path"].as_str().unwrap().ends_with("go1.27.3.fatal.zst")).unwrap();
    assert_eq!(fatal["findings"][0]["kind"], "concurrent-map-writes");
    assert!(fatal["findings"][0]["goroutines"].as_array().unwrap().len() >= 2);
    // The journal's two crashes, each with its line.
    let journal: Vec<&Value> = cores.iter().filter(|c| c["path"].as_str().unwrap().ends_with("journal.txt")).collect();
    assert_eq!(journal.len(), 2);
    assert!(journal.iter().all(|c| c["line"].as_u64().unwrap() > 1));
    // Their time is their lines' (the year from the file's), not the file's.
    assert!(journal.iter().all(|c| c["time"].as_str().unwrap().ends_with("-12-01T03:12:44Z")), "{journal:?}");
    let cri = cores.iter().find(|c| c["path"].as_str().unwrap().ends_with("0.log")).unwrap();
    assert_eq!(cri["time"], "2026-12-01T03:12:44Z", "{cri}");
    // The cut core is a record, with an error or warnings; unrelated files are skipped.
    let cut = cores.iter().find(|c| c["path"].as_str().unwrap().ends_with("cut.core")).unwrap();
    assert!(!cut["error"].is_null() || !cut["warnings"].as_array().unwrap().is_empty(), "{cut}");
    assert_eq!(r["skipped"], 3, "empty, notes.txt, random.bin");
    // One cluster per bug, cores and logs together, across builds.
    let clusters = r["clusters"].as_array().unwrap();
    for s in SCENARIOS {
        let sig = cores.iter().find(|c| c["path"].as_str().unwrap().ends_with(&format!("go1.21.13.{s}.zst"))).unwrap()
            ["signature"]
            .clone();
        let c = clusters.iter().find(|c| c["signature"] == sig).unwrap_or_else(|| panic!("{s}: cluster"));
        let extra = match *s {
            "fatal" | "panic" => 1, // the journal
            "mapiterwrite" => 1,    // the CRI log
            _ => 0,
        };
        assert_eq!(c["count"].as_u64().unwrap() as usize, 2 * BUILDS.len() + extra, "{s}: {c}");
        assert_eq!(c["cores"].as_u64().unwrap() as usize, BUILDS.len(), "{s}");
        assert_eq!(c["go_versions"].as_array().unwrap().len(), BUILDS.len(), "{s}");
    }
    // A baseline of this scan: nothing is new, the `new` gate passes; without
    // one cluster in it, that cluster is new and the gate trips (exit 3).
    let base = tmp.path().join("base.json");
    std::fs::write(&base, &out.stdout).unwrap();
    let again = gotopsy(&[
        "scan",
        dir.to_str().unwrap(),
        "--exe-dir",
        exes.to_str().unwrap(),
        "--format",
        "ndjson",
        "--baseline",
        base.to_str().unwrap(),
        "--fail-on",
        "new",
    ]);
    assert_eq!(again.status.code(), Some(0), "{}", String::from_utf8_lossy(&again.stderr));
    let lines: Vec<Value> =
        String::from_utf8_lossy(&again.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.first().unwrap()["record"], "header");
    assert_eq!(lines.last().unwrap()["record"], "clusters");
    assert_eq!(lines.iter().filter(|l| l["record"] == "input").count(), cores.len());
    for l in lines.iter().filter(|l| l["record"] == "input") {
        let mut errs = Vec::new();
        schema::check(&sch["$defs"]["record"], &sch, l, "$", &mut errs);
        assert!(errs.is_empty(), "{}", errs.join("\n"));
    }
    assert!(lines.last().unwrap()["clusters"].as_array().unwrap().iter().all(|c| c["new"] == false));
    // The NDJSON is streamed: the header says what was asked before any
    // input is read; the counts known only at the end close it.
    assert_eq!(lines[0]["arguments"]["paths"][0], dir.to_str().unwrap());
    assert_eq!(lines.last().unwrap()["skipped"], r["skipped"]);
    assert_eq!(lines.last().unwrap()["too_old"], r["too_old"]);
    let sigs = |c: &Value| -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = c
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["signature"].as_str().unwrap().to_string(), c["count"].as_u64().unwrap()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(sigs(&lines.last().unwrap()["clusters"]), sigs(&r["clusters"]), "NDJSON's clusters are JSON's");
    let mut fewer = r.clone();
    fewer["clusters"].as_array_mut().unwrap().remove(0);
    std::fs::write(&base, serde_json::to_vec(&fewer).unwrap()).unwrap();
    let gate = gotopsy(&[
        "scan",
        dir.to_str().unwrap(),
        "--exe-dir",
        exes.to_str().unwrap(),
        "--baseline",
        base.to_str().unwrap(),
        "--fail-on",
        "new",
    ]);
    assert_eq!(gate.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&gate.stdout).contains("(new)"), "the table marks the new cluster");
    let table = String::from_utf8_lossy(&gate.stdout);
    let head = table.lines().nth(1).unwrap_or_default();
    for col in ["rank", "count", "%", "signature", "go versions", "first seen", "last seen", "example"] {
        assert!(head.contains(col), "the table's columns: {head}");
    }
    let crit = gotopsy(&[
        "scan",
        dir.to_str().unwrap(),
        "--exe-dir",
        exes.to_str().unwrap(),
        "--fail-on",
        "critical",
        "--format",
        "json",
    ]);
    assert_eq!(crit.status.code(), Some(3), "the map crashes are critical findings");
}

/// `--shard I/N` splits the inputs; `--merge` of the shards' JSON and NDJSON
/// outputs gives exactly the single scan; `--since` leaves out older inputs;
/// a systemd-coredump name gives the record its time.
#[test]
fn shards_merge_into_one_scan_and_since_leaves_out_old_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, exes) = (tmp.path().join("dumps"), tmp.path().join("bin"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&exes).unwrap();
    fleet(&dir, &exes);
    // systemd-coredump's name: core.COMM.UID.BOOTID.PID.USEC.zst (2026-12-01T03:12:44Z).
    let sd = "core.svc\\x2ed.1000.0123456789abcdef0123456789abcdef.4242.1796094764000000.zst";
    std::os::unix::fs::symlink(common::core_zst("go1.27.3", "fatal"), dir.join(sd)).unwrap();
    let (d, e) = (dir.to_str().unwrap(), exes.to_str().unwrap());
    let scan = |extra: &[&str]| -> Value {
        let mut args = vec!["scan", d, "--exe-dir", e, "--format", "json"];
        args.extend(extra);
        let out = gotopsy(&args);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("JSON")
    };
    let whole = scan(&[]);
    let n = whole["cores"].as_array().unwrap().len();
    let sdrec = whole["cores"].as_array().unwrap().iter().find(|c| c["path"].as_str().unwrap().ends_with(sd)).unwrap();
    assert_eq!(sdrec["time"], "2026-12-01T03:12:44Z");
    assert!(whole["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["first_seen"].is_string() && c["last_seen"].is_string()));
    // Three shards: two as JSON, one as NDJSON.
    let mut parts = Vec::new();
    let mut total = 0;
    for i in 0..3 {
        let f = tmp.path().join(format!("shard{i}"));
        let fmt = if i == 2 { "ndjson" } else { "json" };
        let shard = format!("{i}/3");
        let out = gotopsy(&["scan", d, "--exe-dir", e, "--shard", &shard, "--format", fmt, "-o", f.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        if i < 2 {
            let r: Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
            assert_eq!(r["shard"], shard.as_str());
            let k = r["cores"].as_array().unwrap().len();
            assert!(k > 0 && k < n, "shard {i}: {k} of {n}");
            total += k;
        }
        parts.push(f);
    }
    let mut args: Vec<&str> = vec!["scan", "--merge", "--format", "json"];
    args.extend(parts.iter().map(|p| p.to_str().unwrap()));
    let out = gotopsy(&args);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let merged: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(total < n);
    assert_eq!(merged["cores"], whole["cores"]);
    assert_eq!(merged["clusters"], whole["clusters"]);
    assert_eq!(merged["skipped"], whole["skipped"]);
    // --since: everything is newer than 2000, nothing than 2999.
    let recent = scan(&["--since", "2000-01-01T00:00:00Z"]);
    assert_eq!(recent["cores"], whole["cores"]);
    assert_eq!(recent["too_old"], 0);
    let future = scan(&["--since", "2999-01-01"]);
    assert!(future["cores"].as_array().unwrap().is_empty());
    assert!(future["too_old"].as_u64().unwrap() >= n as u64 - 3, "{}", future["too_old"]);
    // The systemd name's time counts, not the file's: 2026-12-01 is before 2026-12-02.
    let after = scan(&["--since", "2026-12-01T03:12:45Z"]);
    assert!(after["cores"].as_array().unwrap().iter().all(|c| !c["path"].as_str().unwrap().ends_with(sd)));
    for bad in [&["--shard", "3/3"][..], &["--shard", "x"], &["--since", "yesterday"]] {
        let mut args = vec!["scan", d];
        args.extend(bad);
        let out = gotopsy(&args);
        assert_eq!(out.status.code(), Some(1), "{bad:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr).trim_end().lines().count(), 1, "{bad:?}");
    }
}

/// Executables stripped of their symbols, with their debug files in
/// debuginfod's layouts (`.build-id/xx/rest` + `rest.debug`; the client
/// cache's `<build-id>/executable` + `debuginfo`): matched by build, the
/// debug file attached, the map named as with the unstripped build.
#[test]
fn stripped_executables_get_their_debug_files_from_debuginfod_layouts() {
    let tmp = tempfile::tempdir().unwrap();
    let (dumps, store) = (tmp.path().join("dumps"), tmp.path().join("store"));
    std::fs::create_dir_all(&dumps).unwrap();
    let objcopy = |args: &[&std::ffi::OsStr]| {
        assert!(Command::new("objcopy").args(args).status().expect("objcopy (binutils)").success());
    };
    for (i, v) in ["go1.24.11", "go1.27.3"].iter().enumerate() {
        std::os::unix::fs::symlink(common::core_zst(v, "mapstale"), dumps.join(format!("core.{v}.zst"))).unwrap();
        let exe = common::exe(v);
        let id = gotopsy::exe::Executable::open(&exe).unwrap().gnu_build_id.expect("Go 1.24+ writes a GNU build-id");
        let (exe_at, debug_at) = if i == 0 {
            let d = store.join(".build-id").join(&id[..2]);
            (d.join(&id[2..]), d.join(format!("{}.debug", &id[2..])))
        } else {
            let d = store.join(&id);
            (d.join("executable"), d.join("debuginfo"))
        };
        std::fs::create_dir_all(exe_at.parent().unwrap()).unwrap();
        objcopy(&["--strip-all".as_ref(), exe.as_os_str(), exe_at.as_os_str()]);
        objcopy(&["--only-keep-debug".as_ref(), exe.as_os_str(), debug_at.as_os_str()]);
    }
    let out = gotopsy(&["scan", dumps.to_str().unwrap(), "--exe-dir", store.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cores = r["cores"].as_array().unwrap();
    assert_eq!(cores.len(), 2);
    for c in cores {
        assert!(c["error"].is_null(), "{c}");
        let exe = c["executable"]["path"].as_str().unwrap();
        assert!(!exe.ends_with(".debug") && !exe.ends_with("debuginfo"), "the executable, not its debug file: {exe}");
        let names: Vec<&str> = c["findings"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|f| f["map_names"].as_array().unwrap())
            .filter_map(|n| n["name"].as_str())
            .collect();
        assert!(names.contains(&"main.staleBig"), "{}: names from the debug file: {names:?}", c["path"]);
    }
}

/// `--timeout`: a core whose analysis takes longer gets a record saying so
/// (logs are parsed, not analyzed); the default limit lets every core finish.
#[test]
fn a_core_over_the_timeout_is_a_record_saying_so() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::os::unix::fs::symlink(common::core_zst("go1.27.3", "mapiterwrite"), dir.join("a.core.zst")).unwrap();
    std::fs::write(dir.join("a.log"), common::printed("go1.27.3", "mapiterwrite")).unwrap();
    let exe = common::exe("go1.27.3");
    let scan = |extra: &[&str]| -> Value {
        let mut args = vec!["scan", dir.to_str().unwrap(), "--exe", exe.to_str().unwrap(), "--format", "json"];
        args.extend(extra);
        let out = gotopsy(&args);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let of = |r: &Value, kind: &str| r["cores"].as_array().unwrap().iter().find(|c| c["kind"] == kind).unwrap().clone();
    let quick = scan(&["--timeout", "0.000001"]);
    let core = of(&quick, "core");
    assert!(core["error"].as_str().unwrap().contains("--timeout"), "{core}");
    assert!(core["signature"].is_null());
    assert!(of(&quick, "log")["signature"].is_string(), "the log is still read");
    let normal = scan(&[]);
    assert!(of(&normal, "core")["error"].is_null() && of(&normal, "core")["signature"].is_string());
}

/// systemd-coredump's `user.coredump.*` extended attributes on a core (set
/// here as systemd does: values without a trailing NUL) are in its record,
/// and its timestamp is the record's time when the name carries none.
#[test]
fn systemd_coredump_xattrs_are_read() {
    use std::os::unix::ffi::OsStrExt;
    // Under target/: the file system of the checkout, where user xattrs work
    // on ext4, xfs and btrfs (some tmpfs do not keep them).
    std::fs::create_dir_all(common::root().join("target")).unwrap();
    let tmp = tempfile::tempdir_in(common::root().join("target")).unwrap();
    let core = tmp.path().join("crash.core");
    std::fs::copy(common::core("go1.27.3", "fatal"), &core).unwrap();
    let path = std::ffi::CString::new(core.as_os_str().as_bytes()).unwrap();
    let attrs = [
        ("pid", "4242"),
        ("uid", "1000"),
        ("signal", "6"),
        ("timestamp", "1764556364123456"),
        ("comm", "crashzoo"),
        ("exe", "/srv/app/crashzoo"),
        ("hostname", "node-7"),
    ];
    for (k, v) in attrs {
        let name = std::ffi::CString::new(format!("user.coredump.{k}")).unwrap();
        // SAFETY: NUL-terminated names; the value's pointer and length match.
        let rc = unsafe { libc::setxattr(path.as_ptr(), name.as_ptr(), v.as_ptr().cast(), v.len(), 0) };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            assert_eq!(e.raw_os_error(), Some(libc::ENOTSUP), "setxattr: {e}");
            eprintln!("SKIPPED systemd_coredump_xattrs_are_read: this file system keeps no user xattrs ({e})");
            return;
        }
    }
    let out = gotopsy(&[
        "scan",
        tmp.path().to_str().unwrap(),
        "--exe",
        common::exe("go1.27.3").to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rec = &r["cores"][0];
    let c = &rec["coredump"];
    assert_eq!(c["pid"], 4242);
    assert_eq!(c["uid"], 1000);
    assert_eq!(c["signal"], "SIGABRT");
    assert_eq!(c["comm"], "crashzoo");
    assert_eq!(c["exe"], "/srv/app/crashzoo");
    assert_eq!(c["hostname"], "node-7");
    assert_eq!(c["timestamp"], "2025-12-01T02:32:44Z");
    assert_eq!(rec["time"], "2025-12-01T02:32:44Z", "the attribute's time, not the copy's mtime");
    assert_eq!(rec["crash"]["message"], "concurrent map writes");
}

/// A qemu-user core holds no page of the executable, so no build-ID note:
/// the scan matches it by a read-only segment the core does hold, among
/// executables under other names (one of another machine).
#[test]
fn a_core_without_a_build_id_note_is_matched_by_its_read_only_data() {
    let tmp = tempfile::tempdir().unwrap();
    let exes = tmp.path().join("bin");
    std::fs::create_dir_all(&exes).unwrap();
    std::fs::copy(common::exe("go1.27.3"), exes.join("svc-amd64")).unwrap();
    std::fs::copy(common::exe("go1.27.3-arm64"), exes.join("svc-arm64")).unwrap();
    let core = common::core_zst("go1.27.3-arm64", "mapiterwrite");
    let out = gotopsy(&["scan", core.to_str().unwrap(), "--exe-dir", exes.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &r["cores"][0];
    assert!(c["error"].is_null(), "{c}");
    assert!(c["executable"]["path"].as_str().unwrap().ends_with("svc-arm64"), "{c}");
    assert!(c["signature"].as_str().unwrap().starts_with("concurrent-map-iteration-and-write | "), "{c}");
}
