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
