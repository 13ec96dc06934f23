//! The built-in layouts (for executables without DWARF) equal what every
//! fixture's DWARF says, and analysis without DWARF gives the same goroutines.

mod common;

use gotopsy::exe::Executable;
use gotopsy::runtime::goroutines::{read_goroutines, ReadOptions};
use gotopsy::runtime::layout::RuntimeLayout;
use gotopsy::runtime::layout_fallback::{fallback_layout, FALLBACK_VERSIONS};
use gotopsy::runtime::{OpenOptions, Process};

#[test]
fn built_in_layouts_equal_dwarf_for_every_build() {
    let mut covered = Vec::new();
    for v in common::variants_with_dwarf() {
        let exe = Executable::open(&common::exe(&v)).unwrap();
        let minor = exe.build_info.as_ref().and_then(|b| b.major_minor()).unwrap().1;
        let from_dwarf = RuntimeLayout::from_dwarf(exe.dwarf().unwrap()).unwrap();
        assert_eq!(
            fallback_layout(minor).as_ref(),
            Some(&from_dwarf),
            "{v}: regenerate with `cargo run --example dump_layouts`"
        );
        covered.push(minor);
    }
    for m in FALLBACK_VERSIONS {
        assert!(covered.contains(&m), "no fixture checks the built-in layout of go1.{m}");
    }
    assert!(fallback_layout(20).is_none() && fallback_layout(99).is_none());
}

#[test]
fn without_dwarf_the_goroutines_are_the_same() {
    for v in common::variants_with_dwarf() {
        for sc in ["zoo", "fatal", "nilderef", "mapstack"].into_iter().filter(|sc| common::has(&v, sc)) {
            let open = |ignore_dwarf| {
                Process::open(
                    &common::core(&v, sc),
                    &OpenOptions { exe: Some(common::exe(&v)), force: false, ignore_dwarf, symbols: None },
                )
                .unwrap()
            };
            let (with, without) = (open(false), open(true));
            assert!(with.uses_dwarf && !without.uses_dwarf);
            assert!(without.warnings.iter().any(|w| w.contains("built-in table")), "{v}: says so");
            let a = read_goroutines(&with, ReadOptions::default()).unwrap();
            let b = read_goroutines(&without, ReadOptions::default()).unwrap();
            let key = |g: &gotopsy::runtime::goroutines::Goroutine| {
                (
                    g.id,
                    g.status.clone(),
                    g.frames
                        .iter()
                        .map(|f| (f.function.to_string(), f.file.to_string(), f.line, f.pc, f.args.to_string()))
                        .collect::<Vec<_>>(),
                )
            };
            let ka: Vec<_> = a.list.iter().map(key).collect();
            let kb: Vec<_> = b.list.iter().map(key).collect();
            assert_eq!(ka, kb, "{v}/{sc}");
        }
    }
}

#[test]
fn built_in_map_and_heap_layouts_equal_dwarf_for_every_build() {
    use gotopsy::addr::Addr;
    use gotopsy::runtime::heap::HeapLayout;
    use gotopsy::runtime::maps::{builtin, MapModel};
    for v in common::variants_with_dwarf() {
        let exe = Executable::open(&common::exe(&v)).unwrap();
        let bi = exe.build_info.as_ref().unwrap();
        let minor = bi.major_minor().unwrap().1;
        let d = exe.dwarf().unwrap();
        assert_eq!(
            builtin::builtin_model(minor, &bi.go_version).as_ref(),
            Some(&MapModel::from_dwarf(d).unwrap()),
            "{v}: maps"
        );
        assert_eq!(
            HeapLayout::builtin(minor, exe.arch, Addr(0x1000)),
            Some(HeapLayout::from_dwarf(d, exe.arch, Addr(0x1000)).unwrap()),
            "{v}: heap"
        );
    }
}

/// Everything the map analysis concludes, as compared with and without DWARF:
/// findings (kind, map, goroutines and roles), iterators (goroutine, state,
/// map), maps (address, type, length, package-level names).
fn map_conclusions(a: &gotopsy::Analysis, names: bool) -> Vec<String> {
    let mut out: Vec<String> = a
        .findings
        .iter()
        .map(|f| {
            let gs: Vec<String> = f.goroutines.iter().map(|g| format!("{}={}", g.id, g.role)).collect();
            format!("finding {} {:?} {}", f.kind, f.map, gs.join(","))
        })
        .collect();
    out.extend(a.iterators.iter().map(|i| format!("iterator g{} {} {}", i.goroutine, i.state, i.map)));
    out.extend(a.maps.iter().map(|m| {
        let globals: Vec<&str> = m
            .names
            .iter()
            .filter(|n| names && n.kind == gotopsy::runtime::maps::names::MapNameKind::Global)
            .map(|n| n.name.as_str())
            .collect();
        format!("map {} {:?} {} {:?}", m.address, m.type_name, m.len, globals)
    }));
    out.sort();
    out
}

/// Compares every map core's conclusions with its executable and with the
/// copy `copy` makes of it (`names`: package-level names compared too), and
/// checks the copy's report says `says`.
fn map_cores_agree(copy: fn(&std::path::Path) -> std::path::PathBuf, names: bool, says: &str) {
    use gotopsy::model::NoProgress;
    let mut compared = 0;
    for v in common::variants_with_dwarf() {
        for sc in common::scenarios(&v) {
            let ran = common::crashzoo_scenario(&sc);
            if !(ran.starts_with("map") || ran == "iterfuncs") {
                continue;
            }
            let analyze = |exe: std::path::PathBuf| {
                let p = Process::open(
                    &common::core(&v, &sc),
                    &OpenOptions { exe: Some(exe), force: false, ignore_dwarf: false, symbols: None },
                )
                .unwrap();
                gotopsy::analyze(&p, &Default::default(), &NoProgress).unwrap()
            };
            let exe = common::exe_for(&v, &sc);
            let (with, without) = (analyze(exe.clone()), analyze(copy(&exe)));
            assert!(without.warnings.iter().any(|w| w.text.contains(says)), "{v}/{sc}: says {says:?}");
            let (a, b) = (map_conclusions(&with, names), map_conclusions(&without, names));
            assert!(a.iter().any(|l| l.starts_with("map ")), "{v}/{sc}: no map decoded with DWARF");
            assert_eq!(a, b, "{v}/{sc}: with DWARF (left) and without (right)");
            compared += 1;
        }
    }
    assert!(compared >= 100, "only {compared} map cores compared");
}

/// On copies of the fixtures' executables without DWARF (`common::without_dwarf`).
#[test]
fn without_dwarf_the_map_findings_are_the_same() {
    map_cores_agree(common::without_dwarf, true, "no DWARF");
}

/// On copies stripped of their symbol table too (`objcopy --strip-all`): the
/// same findings, iterators and maps, without the names only symbols give.
#[test]
fn stripped_executables_give_the_same_map_findings() {
    map_cores_agree(common::stripped, false, "no symbol table");
}

#[test]
fn built_in_status_and_wait_reason_names_equal_each_build() {
    use gotopsy::runtime::strings_builtin::builtin_strings;
    for v in common::variants_with_dwarf() {
        let sc = common::scenarios(&v).into_iter().find(|s| common::exe_for(&v, s) == common::exe(&v)).unwrap();
        let p = Process::open(
            &common::core(&v, &sc),
            &OpenOptions { exe: Some(common::exe(&v)), force: false, ignore_dwarf: false, symbols: None },
        )
        .unwrap();
        let (status, waits) = builtin_strings(p.go_major_minor().1).unwrap_or_else(|| panic!("{v}: none built in"));
        let strs = |v: &[std::sync::Arc<str>]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            strs(&p.status_strings),
            status,
            "{v}: regenerate with `cargo run --example dump_layouts -- --strings`"
        );
        assert_eq!(strs(&p.wait_reason_strings), waits, "{v}");
    }
}

#[test]
fn built_in_tracer_and_flight_recorder_layouts_equal_dwarf_for_every_build() {
    use gotopsy::runtime::trace_builtin::{builtin_flight_layout, builtin_trace_layout};
    use gotopsy::runtime::trace_layout::{FlightLayout, TraceLayout};
    let (mut traced, mut flights) = (Vec::new(), Vec::new());
    for v in common::variants_with_dwarf() {
        let mut exes = vec![common::exe(&v)];
        if common::has(&v, "tracemapwrites") {
            exes.push(common::exe_for(&v, "tracemapwrites"));
        }
        for path in exes {
            let exe = Executable::open(&path).unwrap();
            let minor = exe.build_info.as_ref().and_then(|b| b.major_minor()).unwrap().1;
            let (d, goarch) = (exe.dwarf().unwrap(), exe.arch.goarch());
            let at = format!("{v} {}", path.display());
            match TraceLayout::from_dwarf(d) {
                Ok(l) => {
                    assert_eq!(
                        builtin_trace_layout(minor, goarch),
                        Some(l),
                        "{at}: regenerate with dump_layouts --trace"
                    );
                    traced.push((minor, goarch));
                }
                Err(e) => assert!(minor < 22 && builtin_trace_layout(minor, goarch).is_none(), "{at}: {e}"),
            }
            match FlightLayout::from_dwarf(d) {
                Ok(l) => {
                    assert_eq!(builtin_flight_layout(minor), Some(l), "{at}: regenerate with dump_layouts --trace");
                    flights.push(minor);
                }
                // crashzoo does not link runtime/trace; before 1.25 it has no flight recorder.
                Err(_) => assert!(minor < 25 || !path.ends_with("crashtrace"), "{at}"),
            }
        }
    }
    for m in 22..=27 {
        assert!(traced.contains(&(m, "amd64")), "no fixture checks the built-in tracer layout of go1.{m}");
    }
    assert!(traced.contains(&(24, "arm64")) && traced.contains(&(27, "arm64")));
    assert!(flights.contains(&25) && flights.contains(&27), "{flights:?}");
    assert!(builtin_trace_layout(21, "amd64").is_none() && builtin_flight_layout(24).is_none());
}
