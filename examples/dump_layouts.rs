//! Prints the runtime layout read from an executable's DWARF as a Rust
//! expression, for `src/runtime/layout_fallback.rs` (layouts for executables
//! built without DWARF). Usage: cargo run --example dump_layouts EXE...
//!
//! With `--strings CORE EXE...` (pairs), prints the runtime's status and
//! wait-reason names each build holds, as the match arms of
//! `src/runtime/strings_builtin.rs` (for executables without a symbol table).
//!
//! With `--trace EXE...`, prints the execution tracer's layout and, when the
//! program links `runtime/trace` (1.25+), the flight recorder's, for
//! `src/runtime/trace_builtin.rs`.
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--trace") {
        use gotopsy::runtime::trace_layout::{FlightLayout, TraceLayout};
        for a in &args[1..] {
            let exe = gotopsy::exe::Executable::open(std::path::Path::new(a)).expect("executable");
            let d = exe.dwarf().expect("dwarf");
            println!("// {a} {}", exe.go_version().unwrap_or("?"));
            println!("{:#?}", TraceLayout::from_dwarf(d).expect("tracer layout"));
            match FlightLayout::from_dwarf(d) {
                Ok(f) => println!("{f:#?}"),
                Err(e) => println!("// no flight recorder layout: {e}"),
            }
        }
        return;
    }
    if args.first().map(String::as_str) == Some("--strings") {
        for pair in args[1..].chunks(2) {
            let [core, exe] = pair else { panic!("--strings takes CORE EXE pairs") };
            let opts = gotopsy::runtime::OpenOptions {
                exe: Some(exe.into()),
                force: false,
                ignore_dwarf: false,
                symbols: None,
            };
            let p = gotopsy::runtime::Process::open(std::path::Path::new(core), &opts).expect("core and executable");
            println!("// {exe} {}", p.go_version);
            println!("{} => (&{:?}, &{:?}),", p.go_major_minor().1, p.status_strings, p.wait_reason_strings);
        }
        return;
    }
    for a in args {
        let exe = gotopsy::exe::Executable::open(std::path::Path::new(&a)).expect("executable");
        let d = exe.dwarf().expect("dwarf");
        let l = gotopsy::runtime::layout::RuntimeLayout::from_dwarf(d).expect("layout");
        println!("// {} {}", a, exe.go_version().unwrap_or("?"));
        println!("{l:#?}");
    }
}
