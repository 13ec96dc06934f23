//! Cores users take of hung services (issue 12, point 2), made by
//! fixtures/generate.sh from `programs/crashhang`: a `kill -QUIT` under
//! `GOTRACEBACK=crash` (the runtime dumps every goroutine, then writes the
//! core on SIGABRT), a `kill -ABRT` from outside, and a `gcore` snapshot of
//! the live process. The report says which, and who sent the signal.

mod common;

use serde_json::Value;
use std::process::Command;

const HANG_VARIANTS: &[&str] = &["go1.21.13", "go1.27.3"];

fn report(variant: &str, scenario: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_gotopsy"))
        .args(["analyze", common::core(variant, scenario).to_str().unwrap()])
        .args(["--exe", common::exe_for(variant, scenario).to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{variant}/{scenario}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn goroutines_text(variant: &str, scenario: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gotopsy"))
        .args(["goroutines", common::core(variant, scenario).to_str().unwrap()])
        .args(["--exe", common::exe_for(variant, scenario).to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_sigquit_dump_names_the_signal_and_its_sender() {
    for v in HANG_VARIANTS {
        let r = report(v, "sigquit");
        let c = &r["crash"];
        assert_eq!(c["kind"], "sigquit-dump", "{v}: {c}");
        let text = Command::new(env!("CARGO_BIN_EXE_gotopsy"))
            .args(["analyze", common::core(v, "sigquit").to_str().unwrap()])
            .args(["--exe", common::exe_for(v, "sigquit").to_str().unwrap()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(text.lines().any(|l| l == "signature signal:SIGQUIT"), "{v}: the same as its crash log's:\n{text}");
        assert_eq!(c["signal"]["name"], "SIGABRT", "{v}: the core is still written on SIGABRT");
        let rs = &c["received_signal"];
        assert_eq!(rs["name"], "SIGQUIT", "{v}: {rs}");
        assert_eq!(rs["code"], 0, "{v}: kill(2) is SI_USER");
        let sender = rs["sender"]["pid"].as_i64().unwrap();
        assert!(sender > 0 && sender != r["target"]["pid"].as_i64().unwrap(), "{v}: sent by the generator, not itself");
        // As the runtime printed it: its first line.
        let printed = common::printed(v, "sigquit");
        assert_eq!(printed.lines().next(), Some("SIGQUIT: quit"));
        assert_eq!(goroutines_text(v, "sigquit").lines().next(), Some("SIGQUIT: quit"), "{v}");
        assert!(r["goroutines"].as_array().unwrap().iter().any(|g| g["frames"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["function"] == "main.receiver")));
    }
}

#[test]
fn an_external_sigabrt_is_a_signal_with_its_sender() {
    for v in HANG_VARIANTS {
        let r = report(v, "sigabrt");
        let c = &r["crash"];
        assert_eq!(c["kind"], "signal", "{v}: {c}");
        let rs = &c["received_signal"];
        assert_eq!(rs["name"], "SIGABRT", "{v}: {rs}");
        let sender = rs["sender"]["pid"].as_i64().unwrap();
        assert_ne!(
            sender,
            r["target"]["pid"].as_i64().unwrap(),
            "{v}: the runtime's own SIGABRT is not the received one"
        );
        // Both kills came from the same generator process.
        assert_eq!(rs["sender"], report(v, "sigquit")["crash"]["received_signal"]["sender"], "{v}");
        assert_eq!(common::printed(v, "sigabrt").lines().next(), Some("SIGABRT: abort"));
        assert_eq!(goroutines_text(v, "sigabrt").lines().next(), Some("SIGABRT: abort"), "{v}");
    }
}

#[test]
fn a_gcore_snapshot_is_a_snapshot_of_parked_goroutines() {
    for v in HANG_VARIANTS {
        let r = report(v, "snapshot");
        let c = &r["crash"];
        assert_eq!(c["kind"], "snapshot", "{v}: {c}");
        assert!(c["signal"].is_null() && c["received_signal"].is_null(), "{v}: {c}");
        assert!(common::printed(v, "snapshot").is_empty(), "the live process printed nothing");
        let gs = r["goroutines"].as_array().unwrap();
        for f in ["main.receiver", "main.locker", "main.sleeper", "main.main"] {
            assert!(
                gs.iter().any(|g| g["frames"].as_array().unwrap().iter().any(|fr| fr["function"] == f)),
                "{v}: no goroutine in {f}"
            );
        }
        // Nothing printed, so nothing "moved on after the runtime printed".
        let notes: Vec<&str> =
            gs.iter().flat_map(|g| g["notes"].as_array().into_iter().flatten()).filter_map(|n| n.as_str()).collect();
        assert!(notes.iter().all(|n| !n.contains("after the runtime printed")), "{v}: {notes:?}");
    }
}

#[test]
fn crashes_the_runtime_raised_received_nothing_from_outside() {
    for v in HANG_VARIANTS {
        for sc in ["panic", "fatal", "nilderef"] {
            let r = report(v, sc);
            assert!(r["crash"]["received_signal"].is_null(), "{v}/{sc}: {}", r["crash"]);
        }
    }
    let r = report("go1.27.3-arm64", "fatal");
    assert!(r["crash"]["received_signal"].is_null(), "{}", r["crash"]);
}
