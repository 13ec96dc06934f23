//! The fuzz targets' bodies, shared by `fuzz/fuzz_targets/*.rs` (cargo-fuzz,
//! nightly) and `tests/fuzz_corpus.rs` (every committed corpus input, on
//! stable, in CI). Each takes arbitrary bytes; none may panic, hang or
//! allocate without bound.

use std::path::Path;

/// The core file: ELF header, program headers, notes (threads, `NT_FILE`,
/// auxv, `NT_SIGINFO`, `NT_PRPSINFO`), and what is derived from them.
pub fn core_file(data: &[u8]) {
    if let Ok(c) = gotopsy::corefile::CoreFile::from_bytes(Path::new("fuzz.core"), data) {
        let _ = c.recorded_executable();
        let _ = c.exec_fn();
        let _ = c.is_snapshot();
        for t in &c.threads {
            let _ = t.regs.pc;
        }
    }
}

/// `.go.buildinfo`: the version, module and build settings.
pub fn build_info(data: &[u8]) {
    if let Some(b) = gotopsy::exe::buildinfo::parse(data) {
        let _ = b.major_minor();
    }
}

/// An execution trace, either format (Go 1.21's, 1.22+'s), as its header says.
pub fn trace(data: &[u8]) {
    let _ = gotopsy::trace::read(data);
}

/// A crash log: the runtime's printed traceback amid other lines.
pub fn crash_log(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let tb = gotopsy::crashlog::parse(&text);
    for g in &tb.goroutines {
        let _ = g.status();
    }
    let _ = gotopsy::analysis::signature::of_crash_log(&tb);
}

/// A saved `analyze --format json` report.
pub fn saved_report(data: &[u8]) {
    if let Ok(a) = gotopsy::model::Analysis::from_json(data) {
        let _ = a.signature();
        let _ = a.write_json(&mut std::io::sink());
    }
}
