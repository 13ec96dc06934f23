//! The heap model against the liveness program: it printed the addresses of
//! the objects it kept and of those it dropped before two GCs.

mod common;

use gotopsy::runtime::heap::HeapLayout;
use gotopsy::runtime::{OpenOptions, Process};
use gotopsy::Addr;

fn printed(variant: &str, fate: &str) -> Vec<u64> {
    common::printed(variant, "heapliveness")
        .lines()
        .filter_map(|l| l.strip_prefix(fate)?.trim().strip_prefix("0x").and_then(|h| u64::from_str_radix(h, 16).ok()))
        .collect()
}

#[test]
fn kept_objects_are_allocated_and_dropped_ones_free() {
    for v in common::variants().into_iter().filter(|v| common::has(v, "heapliveness")) {
        let p = Process::open(
            &common::core(&v, "heapliveness"),
            &OpenOptions { exe: Some(common::exe(&v)), force: false, ignore_dwarf: false, symbols: None },
        )
        .unwrap();
        let heap = HeapLayout::new(&p).unwrap_or_else(|e| panic!("{v}: {e}"));
        let (kept, dropped) = (printed(&v, "kept"), printed(&v, "dropped"));
        assert_eq!((kept.len(), dropped.len()), (128, 128), "{v}");
        for a in kept {
            let i = heap.inspect(&p, Addr(a));
            assert_eq!((i.region, i.allocated), ("heap", Some(true)), "{v}: kept {a:#x}: {}", i.reason);
            let o = i.object.unwrap();
            assert_eq!((o.base, o.size), (Addr(a), 48), "{v}");
        }
        for a in dropped {
            let i = heap.inspect(&p, Addr(a));
            assert_eq!((i.region, i.allocated), ("heap", Some(false)), "{v}: dropped {a:#x}: {}", i.reason);
        }
        // Not heap: null, text, the data segment.
        assert_eq!(heap.inspect(&p, Addr(0)).region, "unmapped");
        assert_eq!(heap.inspect(&p, Addr(0)).allocated, None);
        let text = p.exe.segments.iter().find(|s| !s.writable && s.filesz > 0).unwrap();
        assert_eq!(heap.inspect(&p, Addr(text.vaddr + p.bias + 16)).region, "text", "{v}");
        let data = p.exe.segments.iter().find(|s| s.writable).unwrap();
        assert_eq!(heap.inspect(&p, Addr(data.vaddr + p.bias + 16)).region, "data", "{v}");
    }
}
