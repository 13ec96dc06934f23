//! Prints the runtime layout read from an executable's DWARF as a Rust
//! expression, for `src/runtime/layout_fallback.rs` (layouts for executables
//! built without DWARF). Usage: cargo run --example dump_layouts EXE...
fn main() {
    for a in std::env::args().skip(1) {
        let exe = gotopsy::exe::Executable::open(std::path::Path::new(&a)).expect("executable");
        let d = exe.dwarf().expect("dwarf");
        let l = gotopsy::runtime::layout::RuntimeLayout::from_dwarf(d).expect("layout");
        println!("// {} {}", a, exe.go_version().unwrap_or("?"));
        println!("{l:#?}");
    }
}
