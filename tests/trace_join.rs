//! `analyze --trace`: a core and a trace of the same process join by goroutine
//! id; a trace of another process is flagged.

mod common;
#[path = "common/schema.rs"]
mod schema;

use serde_json::Value;
use std::process::Command;

fn analyze(variant: &str, trace: &std::path::Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_gotopsy"))
        .args(["analyze", common::core_zst(variant, "tracemapwrites").to_str().unwrap()])
        .args(["--exe", common::exe_for(variant, "tracemapwrites").to_str().unwrap()])
        .args(["--trace", trace.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn core_and_trace_of_one_process_join() {
    let dir = tempfile::tempdir().unwrap();
    for v in ["go1.23.9", "go1.27.3", "go1.27.3-arm64"] {
        let t = dir.path().join(format!("{v}.trace"));
        let bytes = zstd::decode_all(
            std::fs::File::open(common::fixtures_dir().join(v).join("tracemapwrites.trace.zst")).unwrap(),
        )
        .unwrap();
        std::fs::write(&t, bytes).unwrap();
        let r = analyze(v, &t);
        let j = &r["trace"];
        assert!(j["matched_goroutines"].as_u64().unwrap() >= 10, "{v}: {j}");
        assert!(j["matched_threads"].as_u64().unwrap() >= 1, "{v}");
        assert!(j["warnings"].as_array().unwrap().is_empty(), "{v}: {}", j["warnings"]);
        // The ping-pong goroutines' trace history is attached by id.
        let hist = j["goroutines"].as_object().unwrap();
        assert!(hist.values().any(|g| g["start_function"] == "main.pingPong"), "{v}");
        assert_eq!(r["findings"][0]["kind"], "concurrent-map-writes");
    }
}

#[test]
fn a_trace_of_another_process_is_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("other.trace");
    let bytes =
        zstd::decode_all(std::fs::File::open(common::fixtures_dir().join("traces/go1.27.3/flight.trace.zst")).unwrap())
            .unwrap();
    std::fs::write(&t, bytes).unwrap();
    let r = analyze("go1.27.3", &t);
    let w = r["trace"]["warnings"].as_array().unwrap();
    assert!(!w.is_empty(), "a foreign trace must be flagged");
    assert!(r["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x.as_str().unwrap().contains("another process")
            || x.as_str().unwrap().contains("not from this process")));
}

#[test]
fn the_flight_recorders_last_generations_come_back_out_of_the_core() {
    // Go 1.25's ring holds batch{m, time, data} structs, 1.26's []byte;
    // go1.26.6-stripped is a -s -w build (built-in layouts, globals found by content).
    for v in ["go1.25.5", "go1.26.6-stripped", "go1.27.3", "go1.27.3-arm64"] {
        flight_recorder_of(v);
    }
}

fn flight_recorder_of(v: &str) {
    use gotopsy::runtime::flight;
    let p = process(v, "tracemapwrites");
    let rec = flight::recover(&p).unwrap();
    assert!(!rec.generations.is_empty());
    assert!(rec.generations[0] > 1, "the ring has dropped the first generations");
    assert!(rec.generations.windows(2).all(|w| w[1] == w[0] + 1), "{:?}", rec.generations);
    let header: &[u8] = if v.starts_with("go1.25") { b"go 1.25 trace\0\0\0" } else { b"go 1.26 trace\0\0\0" };
    assert_eq!(&rec.bytes[..16], header);
    // The same process also wrote trace.Start output: the recorder's batches are those bytes.
    let file =
        zstd::decode_all(std::fs::File::open(common::fixtures_dir().join(v).join("tracemapwrites.trace.zst")).unwrap())
            .unwrap();
    // The ring's generations (the one in progress, rebuilt from buffers, follows them).
    let ip = rec.in_progress.expect("the generation in progress is recovered too");
    assert_eq!(ip.gen, rec.generations[rec.generations.len() - 2] + 1);
    let body = &rec.bytes[16..ip.offset];
    let probe = &body[..4096.min(body.len())];
    let at = file.windows(probe.len()).position(|w| w == probe).expect("recovered batches appear in the trace file");
    assert_eq!(&file[at..at + body.len()], body, "recovered generations are byte-identical to the file's");
    // And it parses.
    let t = gotopsy::trace::read(&rec.bytes).unwrap();
    assert_eq!(t.generations as usize, rec.generations.len());
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    assert!(t.goroutines.iter().any(|g| g.start_function.as_deref() == Some("main.pingPong")
        || g.last_stack.iter().any(|f| f.function == "main.pingPong")));
}

/// Without DWARF (built-in layouts) and without a symbol table as well (a
/// copy stripped with `objcopy --strip-all`: `runtime.trace` and
/// `runtime/trace.tracing` found by what they hold), the same trace and the
/// same stack table come back out of the core.
#[test]
fn without_dwarf_or_symbols_the_same_trace_comes_back_out() {
    use gotopsy::runtime::{flight, tracebufs, OpenOptions, Process};
    for v in ["go1.23.9", "go1.25.5", "go1.27.3", "go1.27.3-arm64"] {
        let exe = common::exe_for(v, "tracemapwrites");
        let open = |exe: std::path::PathBuf, ignore_dwarf: bool| {
            let opts = OpenOptions { exe: Some(exe), force: false, ignore_dwarf, symbols: None };
            Process::open(&common::core(v, "tracemapwrites"), &opts).unwrap()
        };
        let recover = |p: &Process| {
            let r = flight::recover(p).unwrap();
            let gen = r.generations.last().copied().unwrap();
            let mut warnings = Vec::new();
            let stacks = tracebufs::stack_table(p, gen, &mut warnings);
            assert!(!stacks.is_empty() && warnings.is_empty(), "{v}: {warnings:?}");
            (r.bytes, r.generations, r.warnings, stacks)
        };
        let with = recover(&open(exe.clone(), false));
        assert!(with.0.len() > 100_000 && !with.1.is_empty(), "{v}: {} bytes", with.0.len());
        let stripped = open(common::stripped(&exe), false);
        assert!(stripped.is_stripped());
        for (how, p) in [("without DWARF", open(exe.clone(), true)), ("stripped", stripped)] {
            assert!(p.dwarf().is_err());
            let got = recover(&p);
            assert!(got == with, "{v} {how}: {} bytes, generations {:?}, {:?}", got.0.len(), got.1, got.2);
        }
    }
}

/// A core of a stripped build that traced nothing: `trace --from-core` says
/// so in one line and exits 1 (no place found, nothing made up).
#[test]
fn a_stripped_core_that_traced_nothing_says_so_in_one_line() {
    let v = "go1.27.3-stripped";
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gotopsy"))
        .args(["trace", "--from-core", common::core_zst(v, "mapiterwrite").to_str().unwrap()])
        .args(["--exe", common::exe(v).to_str().unwrap()])
        .args(["-o", dir.path().join("t.trace").to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("no flight recorder was running") && err.contains("no trace was running"), "{err}");
    assert!(!dir.path().join("t.trace").exists());
}

#[test]
fn without_a_flight_recorder_the_runtimes_unflushed_buffers_come_back_out() {
    let v = "go1.23.9";
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("recovered.trace");
    let out = Command::new(env!("CARGO_BIN_EXE_gotopsy"))
        .args(["trace", "--from-core", common::core_zst(v, "tracemapwrites").to_str().unwrap()])
        .args(["--exe", common::exe_for(v, "tracemapwrites").to_str().unwrap()])
        .args(["-o", f.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("no flight recorder") && err.contains("unflushed buffers"), "{err}");
    let rec = std::fs::read(&f).unwrap();
    assert_eq!(&rec[..16], b"go 1.23 trace\0\0\0");
    let t = gotopsy::trace::read(&rec).unwrap();
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    // trace.Start wrote every finished generation to its file; the core holds the next one.
    let file = load_trace_file(v);
    let whole = gotopsy::trace::read(&file).unwrap();
    assert_eq!(t.generations, 1);
    // The file may already hold that generation's first batches (those the reader took).
    let file_last = whole.first_generation + whole.generations - 1;
    assert!(
        t.first_generation == file_last || t.first_generation == file_last + 1,
        "{} vs {file_last}",
        t.first_generation
    );
    // File and recovered generation together: one trace up to the crash.
    let mut joined = file.clone();
    joined.extend_from_slice(&rec[16..]);
    let j = gotopsy::trace::read(&joined).unwrap();
    assert!(j.warnings.is_empty(), "{:?}", j.warnings);
    // The file's cut last generation is dropped on its own, and completed by the core.
    assert!(whole.warnings.iter().any(|w| w.contains("frequency")), "{:?}", whole.warnings);
    assert!(j.wire_events > whole.wire_events + t.wire_events);
    assert_eq!(j.first_generation + j.generations - 1, t.first_generation);
    // The writers that crashed started in that last generation.
    assert!(j.goroutines.iter().any(|g| g.start_function.as_deref() == Some("main.writer")), "{v}");
    assert_same_symbols(v, &file, &rec);
}

#[test]
fn the_generation_in_progress_comes_back_out_with_its_stack_table() {
    use gotopsy::runtime::flight;
    for v in ["go1.23.9", "go1.27.3", "go1.27.3-arm64"] {
        let p = process(v, "tracemapwrites");
        let rec = flight::recover(&p).unwrap();
        let ip = rec.in_progress.unwrap_or_else(|| panic!("{v}: no generation in progress"));
        assert!(ip.from_runtime > 0, "{v}");
        assert_eq!(rec.generations.last(), Some(&ip.gen), "{v}");
        let t = gotopsy::trace::read(&rec.bytes).unwrap();
        assert!(t.warnings.is_empty(), "{v}: {:?}", t.warnings);
        assert_eq!(t.generations as usize, rec.generations.len(), "{v}");
        // Every stack id the generation's events use has frames (the table was rebuilt).
        let stacks = wire_stacks(&rec.bytes[ip.offset..]);
        assert!(stacks.len() > 10, "{v}: {} stacks", stacks.len());
        // The frames name what the runtime itself names for the same pcs in earlier
        // generations (1.27: the flight recorder's; 1.23: the trace file's).
        let earlier = if v.starts_with("go1.27.3") { rec.bytes[..ip.offset].to_vec() } else { load_trace_file(v) };
        assert_same_symbols(v, &earlier, &rec.bytes[ip.offset..]);
    }
}

fn load_trace_file(v: &str) -> Vec<u8> {
    zstd::decode_all(std::fs::File::open(common::fixtures_dir().join(v).join("tracemapwrites.trace.zst")).unwrap())
        .unwrap()
}

/// Frames of every stack in the batches (any header before them is skipped):
/// per generation, per stack id, (pc, function, file, line).
type Frames = Vec<(u64, String, String, u64)>;

fn wire_stacks(b: &[u8]) -> Vec<(u64, u64, Frames)> {
    fn uv(b: &[u8], i: &mut usize) -> u64 {
        let mut x = 0;
        for k in 0..10 {
            let c = b[*i];
            *i += 1;
            x |= ((c & 0x7f) as u64) << (7 * k);
            if c & 0x80 == 0 {
                break;
            }
        }
        x
    }
    let mut i = if b.starts_with(b"go 1.") { 16 } else { 0 };
    let mut strings: std::collections::HashMap<(u64, u64), String> = Default::default();
    let mut raw = Vec::new();
    while i < b.len() {
        match b[i] {
            0x01 | 0x31 => {
                i += if b[i] == 0x31 { 2 } else { 1 };
                let gen = uv(b, &mut i);
                let (_m, _ts, len) = (uv(b, &mut i), uv(b, &mut i), uv(b, &mut i) as usize);
                let data = &b[i..i + len];
                i += len;
                let mut j = 1;
                match data.first() {
                    Some(0x04) => {
                        while j < data.len() {
                            j += 1; // EvString
                            let (id, n) = (uv(data, &mut j), uv(data, &mut j) as usize);
                            strings.insert((gen, id), String::from_utf8_lossy(&data[j..j + n]).into_owned());
                            j += n;
                        }
                    }
                    Some(0x02) => {
                        while j < data.len() {
                            j += 1; // EvStack
                            let (id, n) = (uv(data, &mut j), uv(data, &mut j));
                            let fr: Vec<[u64; 4]> = (0..n)
                                .map(|_| [uv(data, &mut j), uv(data, &mut j), uv(data, &mut j), uv(data, &mut j)])
                                .collect();
                            raw.push((gen, id, fr));
                        }
                    }
                    _ => {}
                }
            }
            _ => i += 1, // end-of-generation marker
        }
    }
    let s = |gen: u64, id: u64| {
        if id == 0 {
            return String::new(); // id 0 is the empty string
        }
        strings.get(&(gen, id)).cloned().unwrap_or_else(|| panic!("string {id} of gen {gen}"))
    };
    raw.into_iter()
        .map(|(gen, id, fr)| {
            (gen, id, fr.into_iter().map(|[pc, f, file, line]| (pc, s(gen, f), s(gen, file), line)).collect())
        })
        .collect()
}

/// For every pc in both, the recovered frames name the same function, file
/// and line as the runtime's own serialization.
fn assert_same_symbols(v: &str, runtime_written: &[u8], recovered: &[u8]) {
    let by_pc = |st: Vec<(u64, u64, Frames)>| {
        let mut m: std::collections::HashMap<u64, std::collections::BTreeSet<(String, String, u64)>> =
            Default::default();
        for (_, _, fr) in st {
            for (pc, f, file, line) in fr {
                m.entry(pc).or_default().insert((f, file, line));
            }
        }
        m
    };
    let (theirs, ours) = (by_pc(wire_stacks(runtime_written)), by_pc(wire_stacks(recovered)));
    let common: Vec<_> = ours.keys().filter(|pc| theirs.contains_key(pc)).collect();
    assert!(common.len() >= 10, "{v}: only {} pcs in common", common.len());
    for pc in common {
        assert_eq!(ours[pc], theirs[pc], "{v}: pc {pc:#x}");
    }
}

#[test]
fn a_trace_start_file_is_completed_with_the_generation_in_progress() {
    use gotopsy::runtime::flight;
    // 1.27 (go 1.26 format), trace.Start alone: the reader had taken the generation's
    // first batches (its sync batch among them) and written them to the file.
    let v = "go1.27.3";
    let p = process(v, "tracestartonly");
    let rec = flight::recover(&p).unwrap();
    let ip = rec.in_progress.expect("a generation in progress");
    assert!(rec.warnings.iter().any(|w| w.contains("no flight recorder")), "{:?}", rec.warnings);
    let file =
        zstd::decode_all(std::fs::File::open(common::fixtures_dir().join(v).join("tracestartonly.trace.zst")).unwrap())
            .unwrap();
    let partial = gotopsy::trace::read(&file).unwrap();
    assert!(partial.warnings.iter().any(|w| w.contains("end-of-generation")), "the file ends mid-generation");
    let joined = flight::complete_file(&file, &rec).unwrap();
    let j = gotopsy::trace::read(&joined).unwrap();
    assert!(j.warnings.is_empty(), "{:?}", j.warnings);
    assert_eq!(j.generations, partial.generations + 1);
    assert_eq!(j.first_generation + j.generations - 1, ip.gen);
    assert!(j.goroutines.iter().any(|g| g.start_function.as_deref() == Some("main.writer")));
    assert_same_symbols(v, &file, &rec.bytes[ip.offset..]);
    // A file from another Go version does not join.
    let other = load_trace_file("go1.23.9");
    let err = flight::complete_file(&other, &rec).unwrap_err();
    assert!(err.contains("header"), "{err}");
}

#[test]
fn cli_join_writes_the_completed_file() {
    let v = "go1.23.9";
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("full.trace");
    let file = common::fixtures_dir().join(v).join("tracemapwrites.trace.zst");
    let out = Command::new(env!("CARGO_BIN_EXE_gotopsy"))
        .args(["trace", "--from-core", common::core_zst(v, "tracemapwrites").to_str().unwrap()])
        .args(["--exe", common::exe_for(v, "tracemapwrites").to_str().unwrap()])
        .args(["--join", file.to_str().unwrap(), "-o", f.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let t = gotopsy::trace::read(&std::fs::read(&f).unwrap()).unwrap();
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    assert_eq!(t.first_generation, 1);
    // Joining the 1.27 core with this 1.23 file is one clear error.
    let out = Command::new(env!("CARGO_BIN_EXE_gotopsy"))
        .args(["trace", "--from-core", common::core_zst("go1.27.3", "tracestartonly").to_str().unwrap()])
        .args(["--exe", common::exe_for("go1.27.3", "tracestartonly").to_str().unwrap()])
        .args(["--join", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("tracemapwrites.trace.zst") && err.contains("header"), "{err}");
}

fn process(v: &str, scenario: &str) -> gotopsy::runtime::Process {
    use gotopsy::runtime::{OpenOptions, Process};
    let opts =
        OpenOptions { exe: Some(common::exe_for(v, scenario)), force: false, ignore_dwarf: false, symbols: None };
    Process::open(&common::core(v, scenario), &opts).unwrap()
}

#[test]
fn findings_carry_the_last_trace_events_of_their_goroutines() {
    let v = "go1.27.3";
    let out = Command::new(env!("CARGO_BIN_EXE_gotopsy"))
        .args(["analyze", common::core_zst(v, "tracemapwrites").to_str().unwrap()])
        .args(["--exe", common::exe_for(v, "tracemapwrites").to_str().unwrap()])
        .args(["--trace-from-core", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(common::root().join("docs/report.schema.json")).unwrap())
            .unwrap();
    let mut errs = Vec::new();
    schema::check(&schema, &schema, &r, "$", &mut errs);
    assert!(errs.is_empty(), "{}", errs.join("\n"));
    let f = &r["findings"][0];
    assert_eq!(f["kind"], "concurrent-map-writes");
    let ev: Vec<&str> = f["evidence"].as_array().unwrap().iter().filter_map(|e| e.as_str()).collect();
    for g in f["goroutines"].as_array().unwrap() {
        let id = g["id"].as_u64().unwrap();
        assert!(ev.iter().any(|e| e.starts_with(&format!("trace: goroutine {id}'s last events: "))), "{id}: {ev:?}");
        let tg = &r["trace"]["goroutines"][id.to_string()];
        let last = tg["last_events"].as_array().unwrap();
        assert!(!last.is_empty() && last.len() <= 8, "{id}");
        assert!(last.windows(2).all(|w| w[0]["time_ns"].as_u64() <= w[1]["time_ns"].as_u64()));
        assert_eq!(last.last().unwrap()["to"], tg["state_at_end"], "{id}: the last event leads to the last state");
    }
}
