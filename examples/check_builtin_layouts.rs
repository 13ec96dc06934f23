//! Checks gotopsy's built-in layouts (used for executables without DWARF)
//! against the DWARF of the given executables: the runtime's structures, the
//! maps' and the heap's. Prints one line per executable; exits non-zero on a
//! difference. Usage: cargo run --example check_builtin_layouts EXE...
//! (`tests/layout_fallback.rs` does the same for every fixture.)
use gotopsy::addr::Addr;
use gotopsy::runtime::heap::HeapLayout;
use gotopsy::runtime::layout::RuntimeLayout;
use gotopsy::runtime::layout_fallback::fallback_layout;
use gotopsy::runtime::maps::{builtin, MapModel};

fn main() {
    let mut bad = false;
    for a in std::env::args().skip(1) {
        let exe = gotopsy::exe::Executable::open(std::path::Path::new(&a)).expect("executable");
        let d = exe.dwarf().expect("dwarf");
        let bi = exe.build_info.as_ref().expect("build info");
        let minor = bi.major_minor().expect("version").1;
        let mut diffs = Vec::new();
        if fallback_layout(minor) != Some(RuntimeLayout::from_dwarf(d).expect("runtime layout")) {
            diffs.push("runtime");
        }
        if builtin::builtin_model(minor, &bi.go_version) != Some(MapModel::from_dwarf(d).expect("map model")) {
            diffs.push("maps");
        }
        let heap = HeapLayout::from_dwarf(d, exe.arch, Addr::NULL).expect("heap layout");
        if HeapLayout::builtin(minor, exe.arch, Addr::NULL) != Some(heap) {
            diffs.push("heap");
        }
        bad |= !diffs.is_empty();
        let verdict = if diffs.is_empty() { "same".to_string() } else { format!("DIFFERENT: {}", diffs.join(", ")) };
        println!("{a} ({}, {}): {verdict}", bi.go_version, exe.arch.goarch());
    }
    std::process::exit(i32::from(bad));
}
