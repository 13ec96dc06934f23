//! `analyze --trace`: a core and a trace of the same process join by goroutine
//! id; a trace of another process is flagged.

mod common;

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
    for v in ["go1.23.9", "go1.27.3"] {
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
    use gotopsy::runtime::{flight, OpenOptions, Process};
    let v = "go1.27.3";
    let p = Process::open(
        &common::core(v, "tracemapwrites"),
        &OpenOptions { exe: Some(common::exe_for(v, "tracemapwrites")), force: false, ignore_dwarf: false },
    )
    .unwrap();
    let rec = flight::recover(&p).unwrap();
    assert!(!rec.generations.is_empty());
    assert!(rec.generations[0] > 1, "the ring has dropped the first generations");
    assert!(rec.generations.windows(2).all(|w| w[1] == w[0] + 1), "{:?}", rec.generations);
    assert_eq!(&rec.bytes[..16], b"go 1.26 trace\0\0\0");
    // The same process also wrote trace.Start output: the recorder's batches are those bytes.
    let file =
        zstd::decode_all(std::fs::File::open(common::fixtures_dir().join(v).join("tracemapwrites.trace.zst")).unwrap())
            .unwrap();
    let body = &rec.bytes[16..];
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

#[test]
fn no_flight_recorder_is_one_clear_error() {
    let v = "go1.23.9";
    let out = Command::new(env!("CARGO_BIN_EXE_gotopsy"))
        .args(["trace", "--from-core", common::core_zst(v, "tracemapwrites").to_str().unwrap()])
        .args(["--exe", common::exe_for(v, "tracemapwrites").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("no flight recorder"), "{err}");
}
