//! linux/arm64 cores, written by qemu-user from programs built with
//! `GOARCH=arm64`: the machine comes from the core, the executable is matched
//! by the read-only data qemu dumps (it keeps no text, no build-ID note, no
//! `NT_FILE`), a pair of two machines is refused, and map findings are those of
//! the amd64 builds of the same scenarios. (Every goroutine and frame of these
//! cores is compared with the runtime's traceback in `traceback_oracle.rs`.)

mod common;

use gotopsy::analysis::maps::analyze;
use gotopsy::corefile::CoreFile;
use gotopsy::runtime::crash;
use gotopsy::runtime::goroutines::{read_goroutines, ReadOptions};
use gotopsy::runtime::process::ExeMatch;
use gotopsy::runtime::{OpenOptions, Process};
use gotopsy::Error;
use std::collections::BTreeSet;

/// The arm64 builds (fixtures/generate.sh) and the amd64 build of the same toolchain and experiment.
const PAIRS: &[(&str, &str)] = &[
    ("go1.21.13-arm64", "go1.21.13"),
    ("go1.24.11-arm64", "go1.24.11"),
    ("go1.24.11-noswissmap-arm64", "go1.24.11-noswissmap"),
    ("go1.27.3-arm64", "go1.27.3"),
];

fn open(variant: &str, scenario: &str, exe: std::path::PathBuf, force: bool) -> gotopsy::Result<Process> {
    Process::open(
        &common::core(variant, scenario),
        &OpenOptions { exe: Some(exe), force, ignore_dwarf: false, symbols: None },
    )
}

#[test]
fn arm64_fixtures_are_qemu_user_cores_of_every_build() {
    let variants = common::variants();
    for (arm, _) in PAIRS {
        assert!(variants.iter().any(|v| v == arm), "fixture build {arm} is missing");
        let scenarios = common::scenarios(arm);
        for sc in common::subset("go1.21.13-arm64").unwrap() {
            assert!(scenarios.iter().any(|s| s == sc), "fixture {arm}/{sc} is missing");
        }
        for sc in scenarios.iter().filter(|s| !s.starts_with("kernel-")) {
            let core = CoreFile::open(&common::core(arm, sc)).unwrap();
            assert_eq!(core.arch.goarch(), "arm64", "{arm}/{sc}");
            assert!(core.files.is_empty(), "{arm}/{sc}: qemu-user writes no NT_FILE");
            assert!(core.threads.len() >= 2, "{arm}/{sc}: one NT_PRSTATUS per thread");
            let execfn = core.exec_fn().unwrap_or_else(|| panic!("{arm}/{sc}: AT_EXECFN names the program"));
            let prog = common::exe_for(arm, sc);
            let prog = prog.file_name().unwrap().to_str().unwrap();
            assert!(execfn.ends_with(&format!("/{prog}")), "{execfn}");
            assert_eq!(core.recorded_executable().as_deref(), Some(execfn.as_str()));
        }
    }
    assert!(common::scenarios("go1.27.3-arm64").len() >= 13, "go1.27.3-arm64 runs every crashzoo scenario");
}

/// The scenarios run under the arm64 kernels (fixtures/generate-arm64-kernel.sh).
const KERNEL_SCENARIOS: &[&str] = &["zoo", "nilderef", "fatal", "preempt", "mapiterwrite"];

/// Checks a kernel-written core: NT_FILE and the first page with the build-ID
/// note, as cores of real arm64 hosts carry; the page size the kernel gave the
/// process (`AT_PAGESZ`), which the runtime took as `physPageSize`; and every
/// mapping in the core starts and ends on such a page.
fn check_kernel_core(v: &str, sc: &str, page: u64) {
    assert!(common::has(v, sc), "fixture {v}/{sc} is missing");
    let core = CoreFile::open(&common::core(v, sc)).unwrap();
    assert_eq!(core.arch.goarch(), "arm64");
    assert!(!core.files.is_empty(), "{v}/{sc}: the kernel writes NT_FILE");
    assert_eq!(core.recorded_executable().as_deref(), Some("/crashzoo"), "{v}/{sc}");
    assert_eq!(core.auxv(6), Some(page), "{v}/{sc}: AT_PAGESZ");
    for seg in &core.segments {
        let (start, end) = (seg.range.start.0, seg.range.end.0);
        assert!(
            start % page == 0 && end % page == 0,
            "{v}/{sc}: mapping {start:#x}-{end:#x} is not on {page}-byte pages"
        );
    }
    let p = open(v, sc, common::exe(v), false).unwrap();
    assert_eq!(p.exe_match, ExeMatch::BuildId, "{v}/{sc}");
    let phys = p.global("runtime.physPageSize").expect("runtime.physPageSize");
    assert_eq!(gotopsy::memory::ReadExt::read_u64(p.mem(), phys).unwrap(), page, "{v}/{sc}: runtime.physPageSize");
}

/// Cores Debian's arm64 kernel (4 KiB pages) wrote in qemu-system-aarch64.
#[test]
fn kernel_written_arm64_cores_are_matched_by_build_id() {
    let mut seen = 0;
    for v in ["go1.21.13-arm64", "go1.27.3-arm64"] {
        for sc in KERNEL_SCENARIOS {
            check_kernel_core(v, &format!("kernel-{sc}"), 4096);
            seen += 1;
        }
    }
    assert_eq!(seen, 10);
}

/// Cores a 64 KiB-page arm64 kernel wrote (Debian's 6.1 source, built by
/// the script): the runtime's heap, stacks and the core's mappings on 64 KiB
/// pages. (Their goroutines and frames are compared with the runtime's
/// traceback in `traceback_oracle.rs`, their map findings below.)
#[test]
fn cores_of_a_64k_page_kernel_are_read() {
    let v = "go1.27.3-arm64";
    for sc in KERNEL_SCENARIOS {
        check_kernel_core(v, &format!("kernel-64k-{sc}"), 65536);
    }
    // The map races: the findings of the same scenarios under the 4 KiB-page
    // kernel, naming every goroutine the runtime printed inside its map code.
    for sc in ["fatal", "mapiterwrite"] {
        let (big, small) = (format!("kernel-64k-{sc}"), format!("kernel-{sc}"));
        let f = map_findings(v, &big);
        assert!(!f.is_empty(), "{v}/{big}: no finding");
        assert_eq!(finding_kinds(&f), finding_kinds(&map_findings(v, &small)), "{v}/{big}");
        let named: BTreeSet<u64> = f.iter().flat_map(|f| f.goroutines.iter().map(|g| g.id)).collect();
        let printed = common::printed_in_map_code(v, &big);
        assert!(!printed.is_empty() && printed.is_subset(&named), "{v}/{big}: printed {printed:?}, named {named:?}");
    }
}

#[test]
fn the_executable_is_matched_by_the_read_only_data_the_core_holds() {
    let p = open("go1.27.3-arm64", "panic", common::exe("go1.27.3-arm64"), false).unwrap();
    assert!(matches!(p.exe_match, ExeMatch::ReadOnlySegment(_)), "{:?}", p.exe_match);
    assert_eq!(p.arch.goarch(), "arm64");

    // Another arm64 build: refused, and --force reads on with a warning.
    let err = open("go1.27.3-arm64", "panic", common::exe("go1.24.11-arm64"), false).err().expect("refused");
    assert!(matches!(err, Error::Mismatch { .. }), "{err}");
    let forced = open("go1.27.3-arm64", "panic", common::exe("go1.24.11-arm64"), true);
    if let Ok(p) = forced {
        assert!(p.warnings.iter().any(|w| w.text.contains("do not match")));
    }

    // An amd64 executable with an arm64 core, or the reverse: refused even with --force, naming both machines.
    for (core_variant, exe_variant) in [("go1.27.3-arm64", "go1.27.3"), ("go1.27.3", "go1.27.3-arm64")] {
        for force in [false, true] {
            let err = open(core_variant, "panic", common::exe(exe_variant), force).err().expect("refused");
            let msg = err.to_string();
            assert!(matches!(err, Error::ArchMismatch { .. }), "{msg}");
            assert!(msg.contains("linux/arm64") && msg.contains("linux/amd64"), "{msg}");
        }
    }
}

#[test]
fn without_exe_the_program_next_to_the_core_is_used_when_its_data_matches() {
    let dir = tempfile::tempdir().unwrap();
    let core = dir.path().join("qemu_crashzoo.core");
    std::fs::copy(common::core("go1.27.3-arm64", "fatal"), &core).unwrap();
    let opts = OpenOptions { exe: None, force: false, ignore_dwarf: false, symbols: None };
    // Nothing next to it: one error naming the recorded path.
    let err = Process::open(&core, &opts).err().expect("no executable");
    assert!(err.to_string().contains("recorded executable"), "{err}");
    // AT_EXECFN's file name next to the core, but another build: refused.
    std::fs::copy(common::exe("go1.21.13-arm64"), dir.path().join("crashzoo")).unwrap();
    let err = Process::open(&core, &opts).err().expect("another build");
    assert!(matches!(err, Error::Mismatch { .. }), "{err}");
    // The right one: used.
    std::fs::copy(common::exe("go1.27.3-arm64"), dir.path().join("crashzoo")).unwrap();
    let p = Process::open(&core, &opts).unwrap();
    assert_eq!(p.exe.path, dir.path().join("crashzoo"));
    assert!(matches!(p.exe_match, ExeMatch::ReadOnlySegment(_)));
}

/// The map findings of a fixture core, which must come without warnings.
fn map_findings(v: &str, sc: &str) -> Vec<gotopsy::analysis::Finding> {
    let p = open(v, sc, common::exe(v), false).unwrap_or_else(|e| panic!("{v}/{sc}: {e}"));
    let gs = read_goroutines(&p, ReadOptions::default()).unwrap();
    let m = analyze(&p, &gs, &crash::detect(&p, &gs));
    assert!(m.warnings.is_empty(), "{v}/{sc}: {:?}", m.warnings);
    m.findings
}

/// Each finding's kind and severity, sorted: what two builds' findings must share.
fn finding_kinds(f: &[gotopsy::analysis::Finding]) -> Vec<String> {
    let mut k: Vec<String> = f.iter().map(|f| format!("{} {}", f.kind, f.severity)).collect();
    k.sort();
    k
}

#[test]
fn map_findings_are_those_of_the_amd64_build() {
    let mut failures = Vec::new();
    for (arm, amd) in PAIRS {
        for sc in ["fatal", "mapiterwrite", "mapreadwrite", "mapstale"] {
            let (fa, fb) = (map_findings(arm, sc), map_findings(amd, sc));
            if finding_kinds(&fa) != finding_kinds(&fb) {
                failures.push(format!(
                    "{arm}/{sc}: findings {:?}, on amd64 {:?}",
                    finding_kinds(&fa),
                    finding_kinds(&fb)
                ));
            }
            // Every goroutine the runtime printed inside its map code is named by a finding.
            let named: BTreeSet<u64> = fa.iter().flat_map(|f| f.goroutines.iter().map(|g| g.id)).collect();
            let printed = common::printed_in_map_code(arm, sc);
            if !printed.is_subset(&named) && sc != "mapstale" {
                failures.push(format!("{arm}/{sc}: printed in map code {printed:?}, named {named:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
