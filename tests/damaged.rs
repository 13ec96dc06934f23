//! Damaged cores made from real ones (issue 11): what the executable holds is
//! read from the executable, so a core whose copy of it was zeroed or
//! overwritten still gives the full report, with a warning that says so.

mod common;

use gotopsy::runtime::{OpenOptions, Process};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn analyze_json(core: &Path, exe: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_gotopsy"))
        .args(["analyze", core.to_str().unwrap(), "--exe", exe.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {err}", core.display());
    assert!(!err.contains("panicked"), "{err}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A copy of `core` with `len` bytes at process address `at` replaced by `fill(i)`.
fn damage(core: &Path, at: gotopsy::Addr, len: u64, fill: impl Fn(u64) -> u8, dir: &Path, name: &str) -> PathBuf {
    let c = gotopsy::corefile::CoreFile::open(core).unwrap();
    let seg = c
        .segments
        .iter()
        .find(|s| s.range.contains(at) && at.0 + len <= s.range.start.0 + s.file_size)
        .expect("the core holds the bytes");
    let mut bytes = std::fs::read(core).unwrap();
    let off = (seg.file_offset + (at.0 - seg.range.start.0)) as usize;
    for i in 0..len {
        bytes[off + i as usize] = fill(i);
    }
    let out = dir.join(name);
    std::fs::write(&out, bytes).unwrap();
    out
}

/// Goroutine ids and their frames' functions: what must not change.
fn stacks(r: &Value) -> Vec<(u64, Vec<String>)> {
    r["goroutines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let f = g["frames"].as_array().unwrap().iter().map(|f| f["function"].as_str().unwrap().to_string());
            (g["id"].as_u64().unwrap(), f.collect())
        })
        .collect()
}

#[test]
fn a_damaged_copy_of_the_module_data_is_replaced_by_the_executables() {
    let dir = tempfile::tempdir().unwrap();
    for (v, sc) in
        [("go1.27.3", "fatal"), ("go1.27.3-pie", "fatal"), ("go1.21.13", "mapiterwrite"), ("go1.27.3-arm64", "fatal")]
    {
        let core = common::core(v, sc);
        let exe = common::exe(v);
        let p = Process::open(
            &core,
            &OpenOptions { exe: Some(exe.clone()), force: false, ignore_dwarf: false, symbols: None },
        )
        .unwrap();
        let md = p.global("runtime.firstmoduledata").unwrap();
        drop(p);
        let whole = analyze_json(&core, &exe);
        assert!(whole["warning_kinds"].as_array().unwrap().iter().all(|k| k != "damaged-core"), "{v}");
        let zeroed = damage(&core, md, 256, |_| 0, dir.path(), &format!("{v}-zeroed.core"));
        let random = damage(
            &core,
            md,
            256,
            |i| (i.wrapping_mul(0x9e37_79b9) >> 7) as u8 ^ 0x5a,
            dir.path(),
            &format!("{v}-random.core"),
        );
        for damaged in [zeroed, random] {
            let r = analyze_json(&damaged, &exe);
            let kinds: Vec<&str> = r["warning_kinds"].as_array().unwrap().iter().map(|k| k.as_str().unwrap()).collect();
            assert!(kinds.contains(&"damaged-core"), "{v}: {kinds:?}");
            let text =
                r["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect::<Vec<_>>().join("\n");
            assert!(text.contains("runtime.firstmoduledata") && text.contains("pcHeader"), "{v}: {text}");
            assert_eq!(stacks(&r), stacks(&whole), "{v}: the stacks are those of the undamaged core");
            assert_eq!(r["crash"], whole["crash"], "{v}");
            assert_eq!(r["findings"].as_array().unwrap().len(), whole["findings"].as_array().unwrap().len(), "{v}");
        }
    }
}

/// `--force` with another build's executable: a report (exit 0) that says
/// plainly the stacks may be wrong, not a one-line error (issue 11, point 2).
#[test]
fn forced_with_another_build_the_report_says_so_and_ends() {
    for (core_v, exe_v) in [("go1.27.3", "go1.26.6"), ("go1.21.13", "go1.22.10"), ("go1.27.3-arm64", "go1.24.11-arm64")]
    {
        let out = Command::new(env!("CARGO_BIN_EXE_gotopsy"))
            .args(["analyze", common::core(core_v, "fatal").to_str().unwrap()])
            .args(["--exe", common::exe(exe_v).to_str().unwrap(), "--force", "--format", "json"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{err}");
        assert!(out.status.success(), "{core_v} with {exe_v}: {err}");
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        let kinds: Vec<&str> = r["warning_kinds"].as_array().unwrap().iter().map(|k| k.as_str().unwrap()).collect();
        assert!(kinds.contains(&"executable-mismatch"), "{core_v} with {exe_v}: {kinds:?}");
        assert!(err.contains("the stacks may be wrong"), "{err}");
    }
}

/// One bad word no longer loses every goroutine (issue 11, point 3): with
/// `runtime.allgs` damaged the goroutines come from its copy
/// `allgptr`/`allglen`; with both damaged, from a scan of the heap's spans of
/// `runtime.g`'s size. The same goroutines and stacks either way.
#[test]
fn goroutines_survive_a_damaged_allgs() {
    let dir = tempfile::tempdir().unwrap();
    for (v, sc) in [
        ("go1.27.3", "fatal"),
        ("go1.21.13", "zoo"),
        ("go1.24.11-noswissmap", "mapiterwrite"),
        ("go1.27.3-arm64", "zoo"),
    ] {
        let core = common::core(v, sc);
        let exe = common::exe(v);
        let p = Process::open(
            &core,
            &OpenOptions { exe: Some(exe.clone()), force: false, ignore_dwarf: false, symbols: None },
        )
        .unwrap();
        let (allgs, allgptr) = (p.global("runtime.allgs").unwrap(), p.global("runtime.allgptr").unwrap());
        let allspans = p
            .global("runtime.mheap_")
            .unwrap()
            .add(p.exe.dwarf().unwrap().field_offset("runtime.mheap", "allspans").unwrap());
        drop(p);
        let whole = analyze_json(&core, &exe);
        let mut expected = stacks(&whole);
        expected.sort();
        // allgs' length word set to garbage.
        let bad_len = damage(
            &core,
            allgs.add(8),
            8,
            |i| [0x15, 0xe5, 0x3b, 0x99, 0x71, 0x00, 0x61, 0xb6][i as usize],
            dir.path(),
            &format!("{v}-allgs.core"),
        );
        // …and allgptr zeroed too.
        let both = damage(&bad_len, allgptr, 8, |_| 0, dir.path(), &format!("{v}-both.core"));
        for (damaged, how) in [(bad_len, "allgptr/allglen"), (both.clone(), "scanning the heap")] {
            let r = analyze_json(&damaged, &exe);
            let text =
                r["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect::<Vec<_>>().join("\n");
            assert!(text.contains("runtime.allgs claims") && text.contains(how), "{v}: {text}");
            let mut got = stacks(&r);
            got.sort();
            assert_eq!(got, expected, "{v} ({how}): the goroutines and stacks of the undamaged core");
            assert_eq!(r["crash"], whole["crash"], "{v}");
        }
        // …and the heap's span list too: the goroutines the scheduler points
        // at (the crashing one among them), each as it was.
        let all = damage(&both, allspans, 8, |_| 0, dir.path(), &format!("{v}-all.core"));
        let r = analyze_json(&all, &exe);
        let text = r["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect::<Vec<_>>().join("\n");
        assert!(text.contains("only the") && text.contains("goroutines the scheduler points at"), "{v}: {text}");
        let got = stacks(&r);
        assert!(!got.is_empty(), "{v}: no goroutine from the scheduler's lists");
        for g in &got {
            assert!(expected.contains(g), "{v}: goroutine {} is not as in the undamaged core: {g:?}", g.0);
        }
        let crashing = whole["crash"]["goroutine"].as_u64();
        assert!(crashing.is_none_or(|id| got.iter().any(|g| g.0 == id)), "{v}: the crashing goroutine is missing");
        assert_eq!(r["crash"], whole["crash"], "{v}");
    }
}

/// Without symbols the tracer's state is found by what it holds; a copy
/// whose state no longer validates is not used. Damaged here: the
/// generation's mark-worker label ids (the tracer is then not found: the
/// generation in progress is left out, said so) and the flight recorder's
/// trace header (the recorder is then not found: only the runtime's own
/// buffers are recovered, said so).
#[test]
fn a_stripped_builds_tracer_state_that_fails_validation_is_not_used() {
    use gotopsy::runtime::{flight, trace_layout};
    let (v, sc) = ("go1.27.3", "tracemapwrites");
    let (core, exe) = (common::core(v, sc), common::exe_for(v, sc));
    let stripped = common::stripped(&exe);
    let open = |core: &Path, exe: &Path| {
        let opts = OpenOptions { exe: Some(exe.to_path_buf()), force: false, ignore_dwarf: false, symbols: None };
        Process::open(core, &opts).unwrap()
    };
    let p = open(&core, &exe);
    let (tl, fl) = (trace_layout::trace_layout(&p).unwrap(), trace_layout::flight_layout(&p).unwrap());
    let trace = p.global("runtime.trace").unwrap();
    let gen = gotopsy::memory::ReadExt::read_u64(p.mem(), trace.add(tl.gen)).unwrap();
    let labels = trace.add(tl.mark_worker_labels.0 + (gen % 2) * tl.mark_worker_labels.1 + 8);
    let tracing = p.global("runtime/trace.tracing").unwrap();
    let rec = gotopsy::memory::ReadExt::read_ptr(p.mem(), tracing.add(fl.flight_recorder)).unwrap();
    let fr = gotopsy::memory::ReadExt::read_ptr(p.mem(), rec.add(fl.recorder_r)).unwrap();
    let whole = flight::recover(&open(&core, &stripped)).unwrap();
    assert!(whole.in_progress.is_some() && whole.generations.len() > 1);
    let dir = tempfile::tempdir().unwrap();

    let no_labels = damage(&core, labels, 8, |_| 0xee, dir.path(), "labels.core");
    let r = flight::recover(&open(&no_labels, &stripped)).unwrap();
    assert!(r.in_progress.is_none(), "a tracer whose labels do not validate was used");
    assert_eq!(r.generations, whole.generations[..whole.generations.len() - 1], "the recorder's ring is kept");
    assert!(r.warnings.iter().any(|w| w.contains("no trace was running")), "{:?}", r.warnings);

    let no_header = damage(&core, fr.add(fl.header), 4, |_| b'X', dir.path(), "header.core");
    let r = flight::recover(&open(&no_header, &stripped)).unwrap();
    assert!(r.in_progress.is_some(), "the runtime's own buffers are still found");
    assert_eq!(r.generations, [whole.in_progress.unwrap().gen], "only the generation in progress");
    assert!(r.warnings.iter().any(|w| w.contains("no flight recorder was running")), "{:?}", r.warnings);
}
