//! Runtime structures decoded from real cores by their DWARF types (the TUI's
//! memory view): a goroutine's `g` and its `m`, a map header and what its
//! typed pointers lead to, an iterator, the `mspan` of an object — checked
//! against what the rest of the analysis read by other means, with keys and
//! values masked unless asked for.

mod common;

use gotopsy::model::{AnalyzeOptions, NoProgress};
use gotopsy::runtime::decode::{Decoded, Inspector, Shown};
use gotopsy::runtime::{OpenOptions, Process};
use std::sync::Arc;

fn value<'a>(d: &'a Decoded, name: &str) -> Option<&'a str> {
    d.rows.iter().find(|r| r.name == name).and_then(|r| match &r.shown {
        Shown::Value(v) => Some(v.as_str()),
        _ => None,
    })
}

fn open(v: &str, s: &str, show_values: bool) -> (Inspector, gotopsy::model::Analysis) {
    let opts = OpenOptions { exe: Some(common::exe_for(v, s)), ..Default::default() };
    let p = Process::open(&common::core(v, s), &opts).expect("opens");
    let a = gotopsy::analyze(&p, &AnalyzeOptions::default(), &NoProgress).expect("analyzes");
    (Inspector::new(Arc::new(p), show_values), a)
}

const BUILDS: [(&str, &str); 5] = [
    ("go1.21.13", "mapiterwrite"),
    ("go1.24.11-noswissmap", "mapiterwrite"),
    ("go1.27.3", "mapiterwrite"),
    ("go1.27.3-pie", "mapiterwrite"),
    ("go1.27.3-arm64", "mapiterwrite"),
];

#[test]
fn a_goroutines_g_and_m_decode_as_the_analysis_read_them() {
    for (v, s) in BUILDS {
        let (insp, a) = open(v, s, false);
        // A goroutine on an M (the crashing one may have left its M).
        let g = a.goroutines.iter().find(|g| g.mp().is_some() && g.thread().is_some()).expect("a goroutine on an M");
        let dg = insp.decode(&insp.g(g.address, g.id).unwrap()).unwrap();
        assert_eq!(value(&dg, "goid"), Some(g.id.to_string().as_str()), "{v}: goid");
        let status = dg
            .rows
            .iter()
            .find(|r| r.name.starts_with("atomicstatus") && r.note.is_some())
            .and_then(|r| r.note.clone());
        assert_eq!(status.as_deref(), Some(&*g.status), "{v}: atomicstatus in the runtime's words");
        assert!(dg.location.contains("heap object"), "{v}: a g is a heap object: {}", dg.location);
        assert!(dg.hidden.is_empty(), "{v}: nothing of a g is secret");
        // g.m → runtime.m, whose curg is this g.
        let m = dg.rows.iter().find(|r| r.name == "m").and_then(|r| r.follow.clone()).expect("g.m is followable");
        assert_eq!(Some(m.address), g.mp(), "{v}: g.m");
        let dm = insp.decode(&m).unwrap();
        assert_eq!(dm.target.type_name, "runtime.m");
        let curg = dm.rows.iter().find(|r| r.name == "curg").and_then(|r| r.follow.clone()).expect("m.curg");
        assert_eq!(curg.address, g.address, "{v}: m.curg is the g");
        assert_eq!(value(&dm, "procid"), g.thread().map(|t| t.to_string()).as_deref(), "{v}: m.procid");
        // The goroutine's stack bounds, nested in g.stack.
        assert_eq!(value(&dg, "stack.lo"), Some(format!("{:#x}", g.stack.0 .0).as_str()), "{v}: g.stack.lo");
        // The span holding the g.
        let span = insp.decode(&insp.span_of(g.address).unwrap()).unwrap();
        let state = span.rows.iter().find(|r| r.name.starts_with("state") && r.note.is_some());
        assert_eq!(state.and_then(|r| r.note.as_deref()), Some("mSpanInUse"), "{v}: mspan.state");
        let class = span.rows.iter().find(|r| r.name == "spanclass").and_then(|r| r.note.clone());
        assert!(class.is_some_and(|c| c.starts_with("size class ")), "{v}: mspan.spanclass explained");
    }
}

#[test]
fn a_map_header_leads_to_its_buckets_or_groups_with_keys_masked() {
    for (v, s) in BUILDS {
        for show_values in [false, true] {
            let (insp, a) = open(v, s, show_values);
            let f = a.findings.iter().find(|f| f.map.is_some()).expect("a map finding");
            let h = a.maps.iter().find(|h| Some(h.address) == f.map).expect("its map header");
            let dh = insp.decode(&insp.map_header(h.address, h.type_name.as_deref()).unwrap()).unwrap();
            let swiss = h.dir_len.is_some();
            let count = if swiss { "used" } else { "count" };
            assert_eq!(value(&dh, count), Some(h.len.to_string().as_str()), "{v}: {count} is the map's len");
            // Follow buckets (classic) or dirPtr (Swiss) down to keys.
            let mut t = dh
                .rows
                .iter()
                .find(|r| r.name == if swiss { "dirPtr" } else { "buckets" })
                .and_then(|r| r.follow.clone())
                .unwrap_or_else(|| panic!("{v}: the header's typed pointer is followable: {:#?}", dh.rows));
            let mut seen = Vec::new();
            let slots = loop {
                let d = insp.decode(&t).unwrap();
                seen.push(d.target.type_name.clone());
                if !show_values {
                    let shown: Vec<_> =
                        d.rows.iter().filter(|r| r.secret && matches!(r.shown, Shown::Value(_))).collect();
                    assert!(shown.is_empty(), "{v}: {seen:?} shows secret values: {shown:#?}");
                }
                if let Some(r) = d.rows.iter().find(|r| r.secret && r.shown != Shown::Heading) {
                    break (d.clone(), r.clone());
                }
                // table → groups.data → group, or *table → table.
                let next = d
                    .rows
                    .iter()
                    .find(|r| r.follow.is_some() && (r.name == "groups.data" || r.name.is_empty() || r.name == "[0]"));
                t = next.and_then(|r| r.follow.clone()).unwrap_or_else(|| panic!("{v}: stuck at {seen:?}"));
                assert!(seen.len() < 5, "{v}: {seen:?}");
            };
            let (d, row) = slots;
            if show_values {
                assert!(d.hidden.is_empty(), "{v}: --show-values hides nothing");
                assert!(matches!(row.shown, Shown::Value(_)), "{v}: --show-values shows {}", row.name);
            } else {
                assert_eq!(row.shown, Shown::Hidden, "{v}: {} of {seen:?} is held back", row.name);
                assert!(
                    d.hidden.iter().any(|&(o, l)| o <= row.offset && row.offset + row.size <= o + l),
                    "{v}: its bytes are masked in the hex view"
                );
                let ctl = d.rows.iter().find(|r| r.name.ends_with("tophash[0]") || r.name.ends_with("ctrl"));
                assert!(ctl.is_some_and(|r| !r.secret), "{v}: the control bytes are the runtime's: {seen:?}");
            }
        }
    }
}

#[test]
fn an_iterator_decodes_with_its_map() {
    for (v, _) in BUILDS {
        let mut checked = 0;
        for s in ["mapiterwrite", "mapstale"].into_iter().filter(|s| common::has(v, s)) {
            let (insp, a) = open(v, s, false);
            // One that has started: an iterator caught in its init holds no map pointer yet.
            for it in a.iterators.iter().filter(|it| it.state != gotopsy::runtime::maps::iterators::IterState::Starting)
            {
                let d = insp.decode(&insp.iterator(it.address).unwrap()).unwrap();
                let m = d.rows.iter().find(|r| r.name == "h" || r.name == "m").and_then(|r| r.follow.clone());
                assert_eq!(m.map(|m| m.address), Some(it.map), "{v}/{s}: the iterator's map pointer");
                checked += 1;
            }
        }
        assert!(checked > 0, "{v}: no iterator past its start in mapiterwrite or mapstale");
    }
}

#[test]
fn without_dwarf_the_view_says_why() {
    let (v, s) = ("go1.27.3-stripped", "mapiterwrite");
    let opts = OpenOptions { exe: Some(common::exe_for(v, s)), ..Default::default() };
    let p = Process::open(&common::core(v, s), &opts).expect("opens");
    let insp = Inspector::new(Arc::new(p), false);
    let e = insp.g(gotopsy::Addr(0xc000000000), 1).unwrap_err();
    assert!(e.contains("DWARF"), "{e}");
}
