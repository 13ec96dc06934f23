//! The owned analysis and saved reports: on every fixture, the JSON written
//! from a core reads back into an analysis that writes the same bytes and
//! the same text; `gotopsy report` renders a saved report as `analyze`
//! renders the core; what is not a report is refused in one line.

mod common;

use gotopsy::model::{Analysis, AnalyzeOptions, NoProgress, TraceSource};
use gotopsy::runtime::{OpenOptions, Process};
use rayon::prelude::*;
use std::process::Command;

fn json(a: &Analysis) -> Vec<u8> {
    let mut v = Vec::new();
    a.write_json(&mut v).expect("JSON");
    v
}

fn text(a: &Analysis) -> String {
    let mut v = Vec::new();
    gotopsy::report::text::write(&mut v, a).expect("text");
    String::from_utf8(v).expect("UTF-8")
}

fn analysis(variant: &str, scenario: &str, o: &AnalyzeOptions) -> Analysis {
    let opts = OpenOptions { exe: Some(common::exe_for(variant, scenario)), ..Default::default() };
    let p = Process::open(&common::core(variant, scenario), &opts).expect("opens");
    gotopsy::analyze(&p, o, &NoProgress).expect("analyzes")
}

fn assert_round_trip(a: &Analysis, what: &str) {
    let written = json(a);
    let back = Analysis::from_json(&written).unwrap_or_else(|e| panic!("{what}: {e}"));
    let again = json(&back);
    if again != written {
        let (w, g) = (String::from_utf8_lossy(&written), String::from_utf8_lossy(&again));
        let at = w.bytes().zip(g.bytes()).position(|(x, y)| x != y).unwrap_or(0);
        panic!(
            "{what}: JSON differs after reading it back, at byte {at}:\n{}\n{}",
            &w[at.saturating_sub(80)..(at + 80).min(w.len())],
            &g[at.saturating_sub(80)..(at + 80).min(g.len())]
        );
    }
    assert_eq!(text(&back), text(a), "{what}: text of the saved report differs");
}

/// Every fixture core, as (variant, scenario); fails when fixtures are missing.
fn every_core() -> Vec<(String, String)> {
    let cases: Vec<(String, String)> = common::variants()
        .into_iter()
        .flat_map(|v| common::scenarios(&v).into_iter().map(move |s| (v.clone(), s)))
        .collect();
    assert!(cases.len() >= 100, "fixtures missing: {} cores", cases.len());
    cases
}

#[test]
fn every_fixture_reads_back_byte_for_byte() {
    let cases = every_core();
    cases.par_iter().for_each(|(v, s)| {
        let a = analysis(v, s, &AnalyzeOptions::default());
        assert!(!a.goroutines.is_empty(), "{v}/{s}");
        assert_round_trip(&a, &format!("{v}/{s}"));
    });
}

#[test]
fn reports_with_values_dead_goroutines_and_traces_read_back() {
    let with_values = AnalyzeOptions { show_values: true, include_dead: true, ..Default::default() };
    for (v, s) in [("go1.21.13", "mapbig"), ("go1.27.3", "mapiterwrite"), ("go1.24.11-noswissmap", "mapstale")] {
        let a = analysis(v, s, &with_values);
        assert!(a.maps.iter().any(|m| m.entries.is_some()), "{v}/{s}: entries read");
        assert_round_trip(&a, &format!("{v}/{s} --show-values --all"));
    }
    // String keys are their text in JSON (not quoted twice), quoted in the text report.
    let a = analysis("go1.27.3", "mapreflect", &with_values);
    let h = a.maps.iter().find(|h| h.type_name.as_deref() == Some("map[string]int")).expect("map[string]int");
    let e = h.entries.as_ref().unwrap().iter().find(|e| e.key == "a").expect("key a");
    assert!(e.key_string && !e.value_string && e.value == "1", "{e:?}");
    assert!(text(&a).contains("    \"a\": 1\n"), "text shows the key quoted");
    let mut j = Vec::new();
    a.write_json(&mut j).unwrap();
    assert!(String::from_utf8_lossy(&j).contains("{\"key\":\"a\",\"value\":\"1\",\"key_string\":true}"));
    for v in ["go1.23.9", "go1.27.3"] {
        let trace = common::fixtures_dir().join(v).join("tracemapwrites.trace.zst");
        let o = AnalyzeOptions { trace: Some(TraceSource::File(trace)), ..Default::default() };
        let a = analysis(v, "tracemapwrites", &o);
        let t = a.trace.as_ref().expect("trace joined");
        assert!(t.matched_goroutines > 0, "{v}");
        assert_round_trip(&a, &format!("{v}/tracemapwrites --trace"));
    }
    let a = analysis("go1.27.3", "fatal", &AnalyzeOptions { no_maps: true, ..Default::default() });
    assert_eq!(a.maps_analysis, gotopsy::model::MapsAnalysis::Skipped);
    assert!(a.findings.is_empty());
    assert_round_trip(&a, "go1.27.3/fatal --no-maps");
}

fn gotopsy(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gotopsy")).args(args).output().expect("runs")
}

#[test]
fn report_subcommand_renders_a_saved_report_as_analyze_does() {
    let dir = tempfile::tempdir().unwrap();
    for (v, s) in [("go1.27.3", "fatal"), ("go1.21.13", "nilderef"), ("go1.25.5", "mapiterwrite")] {
        let core = common::core(v, s);
        let exe = common::exe_for(v, s);
        let args = ["analyze", core.to_str().unwrap(), "--exe", exe.to_str().unwrap()];
        let saved = gotopsy(&[&args[..], &["--format", "json"]].concat());
        assert_eq!(saved.status.code(), Some(0), "{}", String::from_utf8_lossy(&saved.stderr));
        let file = dir.path().join(format!("{v}-{s}.json"));
        std::fs::write(&file, &saved.stdout).unwrap();
        let f = file.to_str().unwrap();
        let text = gotopsy(&args);
        assert_eq!(text.status.code(), Some(0));
        let from_report = gotopsy(&["report", f]);
        assert_eq!(from_report.status.code(), Some(0), "{}", String::from_utf8_lossy(&from_report.stderr));
        assert_eq!(String::from_utf8_lossy(&from_report.stdout), String::from_utf8_lossy(&text.stdout), "{v}/{s}");
        let again = gotopsy(&["report", f, "--format", "json"]);
        assert_eq!(again.status.code(), Some(0));
        assert!(again.stdout == saved.stdout, "{v}/{s}: report --format json differs from the saved JSON");
    }
    // What is not a report: one line naming the file, exit 1.
    let not_json = dir.path().join("notes.txt");
    std::fs::write(&not_json, "hello").unwrap();
    let other_json = dir.path().join("other.json");
    std::fs::write(&other_json, "{\"name\": \"x\"}").unwrap();
    let newer = dir.path().join("newer.json");
    std::fs::write(&newer, "{\"schema_version\": \"2.0.0\", \"tool_version\": \"9\", \"target\": {}}").unwrap();
    for (f, needle) in [
        (not_json.as_path(), "not a gotopsy report"),
        (other_json.as_path(), "not a gotopsy report"),
        (newer.as_path(), "newer than this gotopsy reads"),
        (dir.path(), "is a directory"),
        (std::path::Path::new("/nonexistent/report.json"), "/nonexistent/report.json"),
    ] {
        let out = gotopsy(&["report", f.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {err}", f.display());
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(needle) && err.contains(f.to_str().unwrap()), "{err:?} lacks {needle:?}");
    }
}

/// The user frame gotopsy names is the one the runtime's own printed stack
/// gives by the same rule, and for the fixture programs' map crashes it is
/// the crash program's own code.
#[test]
fn user_frames_agree_with_the_runtimes_traceback() {
    use gotopsy::runtime::user_code::user_frame;
    let mut checked = 0;
    let mut map_crashes = 0;
    for v in common::variants() {
        let minor = v.split('.').nth(1).and_then(|m| m.parse::<u32>().ok());
        for s in common::scenarios(&v) {
            let a = analysis(&v, &s, &AnalyzeOptions::default());
            let printed = gotopsy::crashlog::parse(&common::printed(&v, &s));
            let by_id = |id: u64| printed.goroutines.iter().find(|g| g.id == id && !g.frames.is_empty());
            if let Some(id) = a.crash.goroutine {
                let p = by_id(id).unwrap_or_else(|| panic!("{v}/{s}: goroutine {id} printed"));
                let want = user_frame(&p.frames, minor);
                assert_eq!(a.crash.user_frame, want, "{v}/{s}: crash user frame");
                checked += 1;
            }
            for f in &a.findings {
                // Goroutine 0: an iterator held off the stacks (a reflect.MapIter in a global).
                for r in f.goroutines.iter().filter(|r| r.id != 0) {
                    let g = a.goroutine(r.id).expect("named goroutines exist");
                    assert_eq!(r.user_frame, g.user_frame(minor), "{v}/{s}");
                    // Parked goroutines print whole stacks; running ones print their outer part.
                    if let Some(p) = by_id(r.id).filter(|p| p.frames.len() == g.frames.len()) {
                        assert_eq!(r.user_frame, user_frame(&p.frames, minor), "{v}/{s}: goroutine {}", r.id);
                        checked += 1;
                    }
                    if f.kind.is_map_crash() {
                        let u = r.user_frame.as_ref().unwrap_or_else(|| panic!("{v}/{s}: {} has a user frame", r.id));
                        assert!(u.file.starts_with("crashzoo/") || u.file.starts_with("crashtrace/"), "{v}/{s}: {u:?}");
                        assert!(u.function.starts_with("main."), "{v}/{s}: {u:?}");
                        assert!(r.frame_index.is_some() && r.function == r.frame, "{v}/{s}: {r:?}");
                    }
                }
                map_crashes += usize::from(f.kind.is_map_crash());
            }
        }
    }
    assert!(checked >= 100, "{checked} user frames checked");
    assert!(map_crashes >= 30, "{map_crashes} map crash findings");
}

/// Maps are named by the fixture programs' own variables: the closures'
/// captured `m` in every map crash, the globals `main.staleBig` and
/// `main.staleSmall` of the stale-iterator scenario, on every build.
#[test]
fn maps_are_named_by_the_programs_variables() {
    let (mut crashes, mut stale) = (0, 0);
    // Names come from DWARF and the symbol table: builds linked with -s -w have neither.
    for v in common::variants_with_dwarf() {
        for s in ["fatal", "mapiterwrite", "mapreadwrite", "mapstale"] {
            if !common::has(&v, s) {
                continue;
            }
            let a = analysis(&v, s, &AnalyzeOptions::default());
            for f in &a.findings {
                let map = f.map.expect("the finding names its map");
                let h = a.maps.iter().find(|h| h.address == map).expect("the map is listed");
                if f.kind.is_map_crash() {
                    crashes += 1;
                    // Every racing goroutine runs a closure of the scenario that captured `m`.
                    for r in &f.goroutines {
                        let n = f.map_names.iter().find(|n| n.goroutine == Some(r.id));
                        let n =
                            n.unwrap_or_else(|| panic!("{v}/{s}: goroutine {} names the map: {:?}", r.id, f.map_names));
                        assert_eq!(n.name, "m", "{v}/{s}");
                        let func = n.function.as_deref().unwrap_or_default();
                        assert!(func.starts_with("main.") && func.contains(".func"), "{v}/{s}: {func}");
                    }
                    assert!(f.map_names.iter().all(|n| n.goroutine.is_some()), "{v}/{s}: no global holds m");
                } else if f.kind == "stale-iterator" && s == "mapstale" {
                    let globals: Vec<&str> =
                        f.map_names.iter().filter(|n| n.goroutine.is_none()).map(|n| n.name.as_str()).collect();
                    assert!(globals == ["main.staleBig"] || globals == ["main.staleSmall"], "{v}/{s}: {globals:?}");
                    assert!(h.names.iter().any(|n| n.name == globals[0]), "{v}/{s}: maps[].names");
                    stale += 1;
                }
            }
        }
    }
    assert!(crashes >= 30, "{crashes} map crashes checked");
    assert!(stale >= 22, "{stale} stale iterators over globals checked");
}

/// The text report of each crash kind, on four builds (classic, noswissmap
/// and Swiss maps; and Swiss maps on arm64), as a person reads it. Paths are the fixtures' names, not
/// this machine's.
#[test]
fn text_report_snapshots() {
    for v in ["go1.21.13", "go1.24.11-noswissmap", "go1.27.3", "go1.27.3-arm64"] {
        for s in ["fatal", "mapiterwrite", "mapreadwrite", "mapstale", "panic", "nilderef", "zoo"] {
            let mut a = analysis(v, s, &AnalyzeOptions::default());
            a.target.core = format!("fixtures/{v}/{s}.core.zst");
            a.target.executable = format!("fixtures/{v}/crashzoo.zst");
            insta::assert_snapshot!(format!("{v}-{s}"), text(&a));
        }
    }
}

/// Goroutine 1's `created_by` is null, as documented (the runtime prints none).
#[test]
fn goroutine_one_has_no_creator() {
    for v in ["go1.21.13", "go1.27.3"] {
        let a = analysis(v, "zoo", &AnalyzeOptions::default());
        let g1 = a.goroutine(1).expect("goroutine 1");
        assert!(g1.created_by.is_none(), "{v}: {:?}", g1.created_by);
        assert!(a.goroutines.iter().filter(|g| g.id != 1).any(|g| g.created_by.is_some()), "{v}");
    }
}

/// An iterator whose goroutine is still inside `mapiterinit` /
/// `mapIterStart` (which runs the first `Next`) is `starting`, not
/// `finished`: its nil key means no entry yet.
#[test]
fn an_iterator_inside_its_first_next_is_starting() {
    let mut starting = 0;
    for v in common::variants().into_iter().filter(|v| common::has(v, "mapiterwrite")) {
        let a = analysis(&v, "mapiterwrite", &AnalyzeOptions::default());
        for it in a.iterators.iter().filter(|it| it.goroutine != 0) {
            let g = a.goroutine(it.goroutine).unwrap();
            let inside_start = g
                .frames
                .iter()
                .take(it.frame)
                .any(|f| matches!(&*f.function, "runtime.mapiterinit" | "runtime.mapIterStart"));
            if inside_start {
                assert_ne!(it.state, gotopsy::runtime::maps::iterators::IterState::Finished, "{v}: {it:?}");
                starting += usize::from(it.state == gotopsy::runtime::maps::iterators::IterState::Starting);
            }
        }
    }
    assert!(starting >= 3, "{starting} starting iterators");
}

/// Signatures (`gosig/1`): one per bug — equal across every Go build of the
/// same scenario, equal between a core and the crash log the runtime printed
/// as it died, different between scenarios.
#[test]
fn signatures_cluster_by_bug() {
    use std::collections::{BTreeMap, BTreeSet};
    let mut by_scenario: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut lines_by_scenario: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut others: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for v in common::variants() {
        for s in common::scenarios(&v) {
            let a = analysis(&v, &s, &AnalyzeOptions::default());
            let core = a.signature();
            let log = gotopsy::analysis::signature::of_crash_log(&gotopsy::crashlog::parse(&common::printed(&v, &s)));
            // A log knows no function's start line: `lines` is the core's alone
            // (but for a signature with no frame, where it is the signature).
            let lines = core.lines.clone().unwrap_or_else(|| panic!("{v}/{s}: a core's signature has its lines"));
            let want = if core.frames.is_empty() { Some(core.signature.clone()) } else { None };
            let unlined = |s: &gotopsy::analysis::signature::Signature| gotopsy::analysis::signature::Signature {
                lines: None,
                ..s.clone()
            };
            if a.crash.kind == gotopsy::runtime::crash::CrashKind::Snapshot {
                // A live process's core: the runtime printed nothing to compare with.
                assert!(common::printed(&v, &s).trim().is_empty(), "{v}/{s}");
                assert!(core.signature.starts_with("snapshot | "), "{v}/{s}: {}", core.signature);
            } else {
                assert_eq!(log.lines, want, "{v}/{s}");
                assert_eq!(unlined(&core), unlined(&log), "{v}/{s}: the core and its crash log");
            }
            assert!(core.signature.len() <= 255 && core.signature_hash.len() == 16, "{v}/{s}");
            // The same frames, each with its line counted from its function's start.
            let named: Vec<&str> = lines.split(" || ").next().unwrap_or("").split(" | ").skip(1).collect();
            assert!(named.len() == core.frames.len() || core.frames.is_empty(), "{v}/{s}: {lines}");
            for (n, f) in named.iter().zip(&core.frames) {
                let (name, off) = n.rsplit_once(":+").unwrap_or_else(|| panic!("{v}/{s}: {n} has no :+N"));
                assert!(name == f && off.parse::<u32>().is_ok(), "{v}/{s}: {n} vs {f}");
            }
            by_scenario.entry(s.clone()).or_default().insert(core.signature.clone());
            // The other side depends on what the writer detection found in each core.
            let own = lines.split(" || ").next().unwrap_or_default().to_string();
            lines_by_scenario.entry(s.clone()).or_default().insert(own);
            others.entry(s.clone()).or_default().extend(lines.split_once(" || ").map(|(_, o)| o.to_string()));
        }
    }
    for (s, sigs) in &by_scenario {
        assert_eq!(sigs.len(), 1, "{s}: one signature across builds: {sigs:?}");
    }
    // The fixture programs are one source for every build: line offsets
    // from the function's start do not move between builds.
    for (s, lines) in &lines_by_scenario {
        assert_eq!(lines.len(), 1, "{s}: one signature_lines across builds: {lines:?}");
    }
    // Both sides of a map race: the other side's user frame, in lines only.
    for s in ["fatal", "mapiterwrite"] {
        let o = others.get(s).map(|o| o.iter().collect::<Vec<_>>()).unwrap_or_default();
        assert!(o.len() == 1 && o[0].starts_with("other: main."), "{s}: {o:?}");
    }
    let fatal = by_scenario["fatal"].iter().next().unwrap();
    assert_eq!(fatal, "concurrent-map-writes | main.concurrentMapWrites.func*");
    assert!(by_scenario["nilderef"].iter().next().unwrap().starts_with("nil-deref | main.nilDeref"));
    let distinct: BTreeSet<&String> = ["fatal", "mapiterwrite", "mapreadwrite", "panic", "nilderef", "zoo", "mapstale"]
        .iter()
        .filter_map(|s| by_scenario.get(*s).and_then(|x| x.iter().next()))
        .collect();
    assert_eq!(distinct.len(), 7, "different bugs, different signatures: {distinct:?}");
}

/// Warnings are typed: a forced mismatch and a cut core are the kinds that
/// matter, and the kinds survive a saved report.
#[test]
fn warnings_are_typed_and_their_kinds_are_saved() {
    use gotopsy::warning::WarningKind;
    // The same Go version, another build: the core opens, and says what it is.
    let opts = OpenOptions { exe: Some(common::exe("go1.24.11-noswissmap")), force: true, ..Default::default() };
    let p = Process::open(&common::core("go1.24.11", "zoo"), &opts).expect("forced open");
    let a = gotopsy::analyze(&p, &AnalyzeOptions::default(), &NoProgress).expect("analyzes");
    let w = a.warnings.iter().find(|w| w.kind == WarningKind::ExecutableMismatch).expect("the mismatch is a warning");
    assert!(w.kind.matters() && w.contains("the stacks may be wrong"), "{w}");
    let back = Analysis::from_json(&json(&a)).expect("reads back");
    assert_eq!(back.warnings, a.warnings, "kinds and texts survive");
    assert!(text(&back).find("the stacks may be wrong").unwrap() < text(&back).find("== other goroutines").unwrap());

    let dir = tempfile::tempdir().unwrap();
    let full = std::fs::read(common::core("go1.27.3", "panic")).unwrap();
    let cut = dir.path().join("cut.core");
    std::fs::write(&cut, &full[..full.len() * 9 / 10]).unwrap();
    let p = Process::open(&cut, &OpenOptions { exe: Some(common::exe("go1.27.3")), ..Default::default() }).unwrap();
    let a = gotopsy::analyze(&p, &AnalyzeOptions::default(), &NoProgress).expect("a cut core still analyzes");
    assert!(a.warnings.iter().any(|w| w.kind == WarningKind::TruncatedCore), "{:?}", a.warnings);
    // Stack errors are typed; a saved report keeps their text.
    let broken: Vec<String> =
        a.goroutines.iter().filter_map(|g| g.stack_error.as_ref().map(|e| e.to_string())).collect();
    let back = Analysis::from_json(&json(&a)).unwrap();
    let again: Vec<String> =
        back.goroutines.iter().filter_map(|g| g.stack_error.as_ref().map(|e| e.to_string())).collect();
    assert_eq!(broken, again);
}

/// A file larger than a report may be is refused before it is read (a
/// sparse file: no disk is spent), one line, exit 1; the same for a scan's
/// shard output under `--merge`.
#[test]
fn an_oversized_report_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.json");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(gotopsy::model::MAX_REPORT_BYTES + 1).unwrap();
    drop(f);
    for args in [vec!["report", big.to_str().unwrap()], vec!["scan", "--merge", big.to_str().unwrap()]] {
        let out = gotopsy(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains("big.json") && (err.contains("too large") || err.contains("larger than")), "{err}");
    }
}

/// `stack_groups` puts every goroutine in exactly one group, and groups them
/// as an independent grouping of the report's own goroutines does (status and
/// frames' function, file, line, inlined), largest group first.
#[test]
fn stack_groups_are_the_classes_of_identical_stacks() {
    use std::collections::BTreeMap;
    let cases = every_core();
    let grouped: usize = cases
        .par_iter()
        .map(|(v, s)| {
            let a = analysis(v, s, &AnalyzeOptions::default());
            let j: serde_json::Value = serde_json::from_slice(&json(&a)).expect("JSON");
            let mut classes: BTreeMap<String, Vec<u64>> = BTreeMap::new();
            for g in j["goroutines"].as_array().expect("goroutines") {
                let mut key = g["status"].to_string();
                for f in g["frames"].as_array().expect("frames") {
                    key.push_str(&format!("|{}|{}|{}|{}", f["function"], f["file"], f["line"], f["inlined"]));
                }
                classes.entry(key).or_default().push(g["id"].as_u64().expect("id"));
            }
            let mut want: Vec<Vec<u64>> = classes.into_values().collect();
            want.sort();
            let groups = j["stack_groups"].as_array().unwrap_or_else(|| panic!("{v}/{s}: no stack_groups"));
            let mut got: Vec<Vec<u64>> = Vec::new();
            let mut last = usize::MAX;
            for grp in groups {
                let ids: Vec<u64> =
                    grp["goroutines"].as_array().expect("ids").iter().filter_map(|i| i.as_u64()).collect();
                let count = grp["count"].as_u64().expect("count") as usize;
                assert_eq!(count, ids.len(), "{v}/{s}: count");
                assert!(count <= last, "{v}/{s}: largest group first");
                last = count;
                got.push(ids);
            }
            got.sort();
            assert_eq!(got, want, "{v}/{s}: groups");
            groups.len()
        })
        .sum();
    assert!(grouped >= cases.len(), "every core has a group");
}

/// The report does not depend on how many threads made it.
#[test]
fn the_report_is_the_same_on_one_thread_and_on_several() {
    let pool = |n| rayon::ThreadPoolBuilder::new().num_threads(n).build().expect("thread pool");
    let (one, four) = (pool(1), pool(4));
    for (v, s) in every_core() {
        let a = one.install(|| json(&analysis(&v, &s, &AnalyzeOptions::default())));
        let b = four.install(|| json(&analysis(&v, &s, &AnalyzeOptions::default())));
        assert!(a == b, "{v}/{s}: the report differs between 1 and 4 threads");
    }
}
