//! Map findings, iterator states and map decoding, for every fixture build.

mod common;

use gotopsy::analysis::maps::{analyze, MapAnalysis};
use gotopsy::analysis::Severity;
use gotopsy::runtime::crash;
use gotopsy::runtime::goroutines::{read_goroutines, ReadOptions};
use gotopsy::runtime::maps::iterators::{IterState, Liveness};
use gotopsy::runtime::{OpenOptions, Process};

fn run(variant: &str, scenario: &str, check: impl FnOnce(&MapAnalysis, Option<u64>, bool)) {
    if !common::has(variant, scenario) {
        // Only some builds run a subset of the scenarios (fixtures/generate.sh);
        // anywhere else a missing core is a missing fixture, and fails.
        let subset = common::subset(variant).unwrap_or_else(|| panic!("fixture {variant}/{scenario} is missing"));
        assert!(!subset.contains(&scenario), "fixture {variant}/{scenario} is missing");
        return;
    }
    let p = Process::open(
        &common::core(variant, scenario),
        &OpenOptions { exe: Some(common::exe(variant)), force: false, ignore_dwarf: false, symbols: None },
    )
    .unwrap_or_else(|e| panic!("{variant}/{scenario}: {e}"));
    let gs = read_goroutines(&p, ReadOptions::default()).unwrap();
    let c = crash::detect(&p, &gs);
    let m = analyze(&p, &gs, &c);
    let swiss = m.maps.first().is_some_and(|h| h.layout == "swiss");
    check(&m, c.goroutine, swiss);
}

fn crash_variants() -> Vec<String> {
    let v = common::variants();
    assert!(v.len() >= 12, "fixture builds missing: {v:?}");
    v
}

/// Which builds must use which layout: Swiss from 1.24 unless noswissmap.
fn expect_swiss(variant: &str) -> bool {
    let minor: u32 = variant.trim_start_matches("go1.").split('.').next().unwrap().parse().unwrap();
    minor >= 24 && !variant.contains("noswissmap")
}

#[test]
fn iteration_write_crash_names_iterator_and_writer() {
    let mut dwarf_located = 0;
    for v in crash_variants() {
        run(&v, "mapiterwrite", |m, crashed, swiss| {
            assert_eq!(swiss, expect_swiss(&v), "{v}: layout");
            let f = &m.findings[0];
            assert_eq!(f.kind, "concurrent-map-iteration-and-write", "{v}");
            assert_eq!(f.severity, Severity::Critical);
            assert_eq!(f.goroutines[0].id, crashed.unwrap(), "{v}");
            assert_eq!(f.goroutines[0].role, "iterator");
            let writers: Vec<_> = f.goroutines.iter().filter(|g| g.role == "writer").collect();
            assert_eq!(writers.len(), 1, "{v}: {:?}", f.goroutines);
            assert!(writers[0].frame.as_deref().unwrap().starts_with("runtime.mapassign"), "{v}");
            // Where the writer's map came from: its DWARF location at the frame's pc
            // where DWARF covers it (inside a Swiss table split here), else the
            // spill slot (a goroutine stopped at its morestack call has spilled).
            // (The role's reason is plain words; how the map was read is in the evidence.)
            let tag = format!("goroutine {}: ", writers[0].id);
            let why = f.evidence.iter().find_map(|e| e.strip_prefix(tag.as_str())).unwrap_or("");
            assert!(why.contains("DWARF location at this pc") || why.contains("spill slot"), "{v}: {why}");
            dwarf_located += usize::from(why.contains("DWARF location at this pc"));
            let map = f.map.expect("map named");
            let h = m.maps.iter().find(|h| h.address == map).unwrap();
            assert_eq!(h.type_name.as_deref(), Some("map[int]int"), "{v}");
            assert!((1000..=2000).contains(&h.len), "{v}: len {}", h.len);
            // The iterator the crashing goroutine was using is on its stack.
            assert!(m.iterators.iter().any(|i| i.goroutine == crashed.unwrap() && i.map == map), "{v}");
        });
    }
    // Where the writer stopped depends on the run; across the builds, some are read
    // through the DWARF location of the map parameter, not only from spill slots.
    assert!(dwarf_located > 0, "no writer's map came from its DWARF location");
}

#[test]
fn read_write_crash_names_reader_and_writer() {
    for v in crash_variants() {
        run(&v, "mapreadwrite", |m, crashed, _| {
            let f = &m.findings[0];
            assert_eq!(f.kind, "concurrent-map-read-and-write", "{v}");
            assert_eq!(f.goroutines[0].id, crashed.unwrap());
            assert_eq!(f.goroutines[0].role, "reader");
            // The reader's map is known (its caller's map variable, where the runtime
            // function's argument was only in a register), so the writer is confirmed —
            // when the runtime printed it inside its map code (under qemu, go1.27.3-arm64's
            // writer was preempted between two writes, in its own loop).
            let other: Vec<_> =
                f.goroutines[1..].iter().filter(|g| g.role == "writer" || g.role == "possible-writer").collect();
            if common::printed_in_map_code(&v, "mapreadwrite").len() < 2 {
                assert!(other.is_empty(), "{v}: {:?}", f.goroutines);
                assert!(f.summary.contains("no writer is on a stack now"), "{v}: {}", f.summary);
                return;
            }
            assert_eq!(other.len(), 1, "{v}: {:?}", f.goroutines);
            assert_eq!(other[0].role, "writer", "{v}: {:?}", f.goroutines);
            let h = m.maps.iter().find(|h| Some(h.address) == f.map).expect("map");
            assert_eq!(h.type_name.as_deref(), Some("map[int]int"), "{v}");
        });
    }
}

#[test]
fn concurrent_writes_crash_names_every_writer() {
    for v in crash_variants() {
        run(&v, "fatal", |m, crashed, _| {
            let f = &m.findings[0];
            assert_eq!(f.kind, "concurrent-map-writes", "{v}");
            assert_eq!(f.goroutines[0].id, crashed.unwrap());
            assert_eq!(f.goroutines[0].role, "writer");
            // Four goroutines write the map; at least one more than the crasher is inside mapassign.
            let others = f.goroutines[1..].iter().filter(|g| g.role == "writer" || g.role == "possible-writer").count();
            assert!((1..=3).contains(&others), "{v}: {:?}", f.goroutines);
            assert!(f.map.is_some(), "{v}");
        });
    }
}

#[test]
fn iterators_parked_while_another_goroutine_grew_the_map_are_stale() {
    for v in crash_variants() {
        run(&v, "mapstale", |m, _, swiss| {
            let its: Vec<_> = m.iterators.iter().filter(|i| i.function == "main.rangeAndPark").collect();
            assert_eq!(its.len(), 2, "{v}: {:?}", m.iterators);
            assert!(its.iter().all(|i| i.liveness == Liveness::Live), "{v}");
            let mut states: Vec<IterState> = its.iter().map(|i| i.state).collect();
            states.sort_by_key(|s| format!("{s:?}"));
            if swiss {
                assert_eq!(states, vec![IterState::SmallMapGrew, IterState::TableReplaced], "{v}");
            } else {
                assert!(states.iter().all(|s| *s == IterState::Orphaned), "{v}: {states:?}");
            }
            let stale: Vec<_> = m.findings.iter().filter(|f| f.kind == "stale-iterator").collect();
            assert_eq!(stale.len(), 2, "{v}");
            // Nobody is writing now: the growth is over, so only info.
            assert!(stale.iter().all(|f| f.severity == Severity::Info), "{v}");
        });
    }
}

#[test]
fn inserting_during_range_is_an_info_finding() {
    for v in crash_variants() {
        run(&v, "mapinsertrange", |m, _, swiss| {
            assert_eq!(m.iterators.len(), 1, "{v}: {:?}", m.iterators);
            let it = &m.iterators[0];
            assert_eq!(it.liveness, Liveness::Live);
            assert_eq!(it.state, if swiss { IterState::TableReplaced } else { IterState::Orphaned }, "{v}");
            assert_eq!(m.findings.len(), 1);
            assert_eq!(m.findings[0].kind, "stale-iterator");
            assert_eq!(m.findings[0].severity, Severity::Info);
        });
    }
}

#[test]
fn iterators_over_stack_maps_and_big_entries_are_current() {
    for v in crash_variants() {
        run(&v, "mapstack", |m, _, _| {
            let its: Vec<_> = m.iterators.iter().filter(|i| i.function == "main.smallRange").collect();
            assert_eq!(its.len(), 16, "{v}");
            assert!(its.iter().all(|i| i.state == IterState::Current && i.liveness == Liveness::Live), "{v}");
            assert!(m.findings.is_empty(), "{v}: {:?}", m.findings);
        });
        run(&v, "mapbig", |m, _, _| {
            assert_eq!(m.iterators.len(), 1, "{v}");
            assert_eq!(m.iterators[0].state, IterState::Current);
            let h = &m.maps[0];
            assert_eq!(h.type_name.as_deref(), Some("map[main.bigKey]main.bigVal"), "{v}");
            assert_eq!((h.key_type.as_deref(), h.value_type.as_deref()), (Some("main.bigKey"), Some("main.bigVal")));
            assert_eq!(h.len, 20);
        });
    }
}

#[test]
fn crashes_without_maps_have_no_map_findings() {
    for v in crash_variants() {
        for sc in ["zoo", "panic", "nilderef", "preempt"] {
            run(&v, sc, |m, _, _| assert!(m.findings.is_empty(), "{v}/{sc}: {:?}", m.findings));
        }
    }
}

fn with_entries(variant: &str, scenario: &str, limit: usize) -> MapAnalysis {
    assert!(common::has(variant, scenario), "{variant} has no {scenario}");
    let p = Process::open(
        &common::core(variant, scenario),
        &OpenOptions { exe: Some(common::exe(variant)), force: false, ignore_dwarf: false, symbols: None },
    )
    .unwrap();
    let gs = read_goroutines(&p, ReadOptions::default()).unwrap();
    let c = crash::detect(&p, &gs);
    let mut m = analyze(&p, &gs, &c);
    gotopsy::analysis::maps::attach_entries(&p, &mut m, limit);
    m
}

#[test]
fn entries_are_read_only_on_request_and_are_right() {
    for v in crash_variants() {
        if common::subset(&v).is_some_and(|s| !s.contains(&"mapstack")) {
            continue;
        }
        // Not asked: no entries.
        run(&v, "mapstack", |m, _, _| assert!(m.maps.iter().all(|h| h.entries.is_none()), "{v}"));
        // Sixteen stack maps {n: 1, n+1: 2, n+2: 3}.
        let m = with_entries(&v, "mapstack", 100);
        let small: Vec<_> = m.maps.iter().filter(|h| h.len == 3).collect();
        assert_eq!(small.len(), 16, "{v}");
        for h in small {
            let mut e: Vec<(i64, i64)> = h
                .entries
                .as_ref()
                .unwrap()
                .iter()
                .map(|e| (e.key.parse().unwrap(), e.value.parse().unwrap()))
                .collect();
            e.sort();
            let n = e[0].0;
            assert_eq!(e, vec![(n, 1), (n + 1, 2), (n + 2, 3)], "{v}");
        }
        // Keys and values over 128 bytes are stored indirectly: key[0] == value[0] == i.
        let m = with_entries(&v, "mapbig", 100);
        let e = m.maps[0].entries.as_ref().unwrap();
        assert_eq!(e.len(), 20, "{v}");
        let mut firsts: Vec<u8> = e
            .iter()
            .map(|x| {
                assert_eq!(x.key[..4], x.value[..4], "{v}: {x:?}");
                u8::from_str_radix(&x.key[2..4], 16).unwrap()
            })
            .collect();
        firsts.sort();
        assert_eq!(firsts, (0..20).collect::<Vec<u8>>(), "{v}");
        // A large map (classic: possibly mid-growth; Swiss: a directory of tables): every entry, once.
        let m = with_entries(&v, "mapiterwrite", 1 << 20);
        let h = &m.maps[0];
        let keys: std::collections::HashSet<&str> =
            h.entries.as_ref().unwrap().iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys.len() as u64, h.len, "{v}: {:?}", h.entries_note);
        // Bounded when asked to be.
        let m = with_entries(&v, "mapiterwrite", 10);
        assert_eq!(m.maps[0].entries.as_ref().unwrap().len(), 10);
        assert!(m.maps[0].entries_note.is_some());
    }
}

#[test]
fn iterators_of_range_over_func_and_iter_pull_coroutines_are_found() {
    for v in ["go1.23.9", "go1.24.11", "go1.27.3"] {
        let p = Process::open(
            &common::core(v, "iterfuncs"),
            &OpenOptions {
                exe: Some(common::exe_for(v, "iterfuncs")),
                force: false,
                ignore_dwarf: false,
                symbols: None,
            },
        )
        .unwrap();
        let gs = read_goroutines(&p, ReadOptions::default()).unwrap();
        let c = crash::detect(&p, &gs);
        let m = analyze(&p, &gs, &c);
        let status = |id: u64| gs.list.iter().find(|g| g.id == id).map(|g| g.status.to_string()).unwrap_or_default();
        assert_eq!(m.iterators.len(), 6, "{v}: {:?}", m.iterators);
        // reflect.MapIters held only by frames: one on the stack (it did not escape),
        // one on the heap reached through a live pointer slot.
        for (held_by, function) in [
            ("reflect.MapIter on the stack of main.reflectOnStack", "main.reflectOnStack"),
            ("reflect.MapIter held by a local of main.reflectOnHeap", "main.reflectOnHeap"),
        ] {
            let it = m
                .iterators
                .iter()
                .find(|i| i.held_by.as_deref() == Some(held_by))
                .unwrap_or_else(|| panic!("{v}: no {held_by}: {:?}", m.iterators));
            assert_eq!(it.function, function, "{v}");
            assert_eq!(status(it.goroutine), "chan receive", "{v}");
            assert_eq!(it.state, IterState::Current, "{v}");
        }
        assert!(m.iterators.iter().all(|i| i.liveness == Liveness::Live), "{v}");
        let grew = |i: &&gotopsy::runtime::maps::iterators::MapIterator| {
            i.held_by.as_deref() == Some("reflect.MapIter in global main.grewIt")
        };
        assert!(m.iterators.iter().filter(|i| !grew(i)).all(|i| i.state == IterState::Current), "{v}");
        // A reflect.MapIter over a map that grew from 3 to 5003 entries after it started:
        // classic maps finish the grow (the iterator's buckets are neither the map's
        // buckets nor its old ones); Swiss maps turn the small map into tables.
        let it = m.iterators.iter().find(grew).unwrap_or_else(|| panic!("{v}: no iterator for main.grewIt"));
        let want = if v < "go1.24" { IterState::Orphaned } else { IterState::SmallMapGrew };
        assert_eq!(it.state, want, "{v}: {:?}", it.evidence);
        let stale: Vec<_> = m.findings.iter().filter(|f| f.kind == "stale-iterator").collect();
        assert_eq!(stale.len(), 1, "{v}: {:?}", m.findings);
        // Nothing else writes that map: legal growth during iteration.
        assert_eq!(stale[0].severity, Severity::Info, "{v}");
        assert_eq!(stale[0].map, Some(it.map), "{v}");
        // maps.All's loop, in the goroutine ranging over it (inlined into its frame).
        assert!(
            m.iterators.iter().any(|i| i.function == "main.rangeOverAll" && status(i.goroutine) == "chan receive"),
            "{v}"
        );
        // iter.Pull runs maps.All's loop on a coroutine goroutine.
        assert!(m.iterators.iter().any(|i| i.function.contains("All[") && status(i.goroutine) == "coroutine"), "{v}");
        // A reflect.MapIter held by a global (best effort: heap iterators reachable from globals).
        assert!(
            m.iterators
                .iter()
                .any(|i| i.goroutine == 0 && i.held_by.as_deref() == Some("reflect.MapIter in global main.mapIt")),
            "{v}"
        );
        let mut types: Vec<(String, u64)> =
            m.maps.iter().map(|h| (h.type_name.as_deref().unwrap_or_default().to_string(), h.len)).collect();
        types.sort();
        let want = [
            ("map[int]bool", 3),
            ("map[int]int", 2),
            ("map[int]int", 5003),
            ("map[int]string", 3),
            ("map[string]bool", 2),
            ("map[string]int", 4),
        ]
        .map(|(t, n)| (t.to_string(), n));
        assert_eq!(types, want.to_vec(), "{v}");
    }
}

#[test]
fn reflect_map_iterators_over_a_grown_map_and_in_a_frame() {
    for v in crash_variants() {
        if common::subset(&v).is_some_and(|s| !s.contains(&"mapreflect")) {
            continue;
        }
        assert!(common::has(&v, "mapreflect"), "{v}: no mapreflect fixture");
        run(&v, "mapreflect", |m, _, swiss| {
            // In a global, over a map grown from 3 to 5,003 entries after it started.
            let global = m
                .iterators
                .iter()
                .find(|i| i.held_by.as_deref() == Some("reflect.MapIter in global main.reflectIt"))
                .unwrap_or_else(|| panic!("{v}: {:?}", m.iterators));
            let want = if swiss { IterState::SmallMapGrew } else { IterState::Orphaned };
            assert_eq!(global.state, want, "{v}: {:?}", global.evidence);
            // Held only by a parked goroutine's frame (stack object or escaped to the heap).
            let framed = m
                .iterators
                .iter()
                .find(|i| i.function == "main.reflectPark")
                .unwrap_or_else(|| panic!("{v}: no iterator in main.reflectPark: {:?}", m.iterators));
            assert!(framed.held_by.as_deref().is_some_and(|h| h.starts_with("reflect.MapIter")), "{v}");
            assert_eq!(framed.state, IterState::Current, "{v}");
            assert_eq!(framed.liveness, Liveness::Live, "{v}");
            let stale: Vec<_> = m.findings.iter().filter(|f| f.kind == "stale-iterator").collect();
            assert_eq!(stale.len(), 1, "{v}: {:?}", m.findings);
            assert_eq!(stale[0].severity, Severity::Info, "{v}: nothing else writes that map");
            assert_eq!(stale[0].map, Some(global.map), "{v}");
        });
    }
}

/// The likely-writer rule on real cores: with the confirmed second writers
/// taken away (as when the other writer finished its write before the core
/// was written), the goroutines running the same statement of the crash
/// program (`m[j%1000] = i` in main.concurrentMapWrites.func1) are named, on
/// every build, and nobody else is.
#[test]
fn likely_writers_stand_on_the_caught_writers_statement() {
    use gotopsy::analysis::likely_writer::name_likely_writers;
    use gotopsy::analysis::Role;
    use gotopsy::runtime::user_code::user_frame;
    let mut checked = 0;
    for v in crash_variants().into_iter().filter(|v| common::has(v, "fatal")) {
        checked += 1;
        let p = Process::open(
            &common::core(&v, "fatal"),
            &OpenOptions { exe: Some(common::exe(&v)), ..Default::default() },
        )
        .unwrap_or_else(|e| panic!("{v}: {e}"));
        let minor = Some(p.go_major_minor().1);
        let gs = read_goroutines(&p, ReadOptions::default()).unwrap();
        let c = crash::detect(&p, &gs);
        let mut m = analyze(&p, &gs, &c);
        let f = &mut m.findings[0];
        f.goroutines.truncate(1);
        name_likely_writers(&gs.list, std::slice::from_mut(f), minor);
        let likely: Vec<u64> = f.goroutines.iter().filter(|r| r.role == Role::LikelyWriter).map(|r| r.id).collect();
        let on_line: Vec<u64> = gs
            .list
            .iter()
            .filter(|g| Some(g.id) != c.goroutine)
            .filter(|g| {
                user_frame(&g.frames, minor).is_some_and(|u| {
                    &*u.function == "main.concurrentMapWrites.func1" && &*u.file == "crashzoo/main.go" && u.line == 213
                })
            })
            .map(|g| g.id)
            .collect();
        assert!(!likely.is_empty(), "{v}: the writers' loop runs in four goroutines");
        assert_eq!(likely, on_line, "{v}");
        assert!(
            f.summary.contains("crashzoo/main.go:213") && f.summary.contains("likely the other writer"),
            "{v}: {}",
            f.summary
        );
    }
    assert!(checked >= 11, "{checked} builds");
}
