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
        // A dump: its class and the program (main.main's directory), as its crash log's.
        assert!(
            text.lines().any(|l| l == "signature sigquit-dump | crashhang"),
            "{v}: the same as its crash log's:\n{text}"
        );
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

/// A dump the runtime printed handling a signal from outside (`kill -QUIT`,
/// `kill -ABRT` under `GOTRACEBACK=crash`) is printed back M by M: each M's
/// `SIGQUIT: quit` / `PC=… m=… sigcode=…` block with the stack of the
/// goroutine it interrupted, the first M's followed by every goroutine, the
/// registers of each interrupted context, `-----` between them — byte for
/// byte what the runtime printed, with the executable as built and stripped.
#[test]
fn a_signal_dump_is_printed_back_as_the_runtime_printed_it() {
    for v in HANG_VARIANTS {
        for sc in ["sigquit", "sigabrt"] {
            let exe = common::exe_for(v, sc);
            for exe in [exe.clone(), common::stripped(&exe)] {
                let out = Command::new(env!("CARGO_BIN_EXE_gotopsy"))
                    .args(["goroutines", common::core(v, sc).to_str().unwrap(), "--exe", exe.to_str().unwrap()])
                    .output()
                    .unwrap();
                assert!(out.status.success(), "{v}/{sc}: {}", String::from_utf8_lossy(&out.stderr));
                let ours = String::from_utf8(out.stdout).unwrap();
                let printed = common::printed(v, sc);
                if ours != printed {
                    let at = ours.lines().zip(printed.lines()).position(|(a, b)| a != b);
                    panic!(
                        "{v}/{sc} ({}): differs from the runtime's printout at line {:?}:\nours:    {:?}\nprinted: {:?}",
                        exe.display(),
                        at.map(|i| i + 1),
                        at.and_then(|i| ours.lines().nth(i)),
                        at.and_then(|i| printed.lines().nth(i))
                    );
                }
            }
            // One block per M; the JSON reads back as written.
            let r = report(v, sc);
            let hs = r["signal_handlers"].as_array().unwrap();
            assert_eq!(hs.len(), common::printed(v, sc).lines().filter(|l| l.starts_with("PC=")).count(), "{v}/{sc}");
            assert_eq!(hs[0]["from_outside"], true, "{v}/{sc}");
            assert!(hs.iter().all(|h| h["goroutine"]["frames"].as_array().is_some_and(|f| !f.is_empty())), "{v}/{sc}");
        }
    }
}
