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
    for v in common::variants() {
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
    for v in common::variants() {
        for sc in ["zoo", "fatal", "nilderef", "mapstack"].into_iter().filter(|sc| common::has(&v, sc)) {
            let open = |ignore_dwarf| {
                Process::open(
                    &common::core(&v, sc),
                    &OpenOptions { exe: Some(common::exe(&v)), force: false, ignore_dwarf },
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
                        .map(|f| (f.function.to_string(), f.file.to_string(), f.line, f.pc, f.args.clone()))
                        .collect::<Vec<_>>(),
                )
            };
            let ka: Vec<_> = a.list.iter().map(key).collect();
            let kb: Vec<_> = b.list.iter().map(key).collect();
            assert_eq!(ka, kb, "{v}/{sc}");
        }
    }
}
