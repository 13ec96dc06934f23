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

/// A real process to damage: a fixture core and its executable, opened once.
pub struct Base {
    core: gotopsy::corefile::CoreFile,
    exe: std::sync::Arc<gotopsy::exe::Executable>,
    /// Where the walkers start reading: goroutines (`g`s, the tops of their
    /// stacks, their frames), `allgs`' array, `allm`, `sched`, `mheap_`, the
    /// module data, map headers and iterators; sorted, deduplicated.
    anchors: Vec<gotopsy::Addr>,
}

/// The repository's `fixtures/` (this file is built from `fuzz/` and from the
/// top-level crate's tests).
fn fixtures() -> std::path::PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    [here.join("fixtures"), here.join("../fixtures")].into_iter().find(|p| p.is_dir()).unwrap_or_default()
}

impl Base {
    /// The `scenario` core of fixture `variant`, undamaged, with its anchors.
    pub fn open(variant: &str, scenario: &str) -> Base {
        let dir = fixtures().join(variant);
        let core = gotopsy::corefile::CoreFile::open(&dir.join(format!("{scenario}.core.zst"))).expect("fixture core");
        let exe = std::sync::Arc::new(gotopsy::exe::Executable::open(&dir.join("crashzoo.zst")).expect("fixture exe"));
        let p = gotopsy::runtime::Process::from_parts(core.clone(), exe.clone(), &Default::default()).expect("fixture");
        let mut anchors = Vec::new();
        let gs = gotopsy::runtime::goroutines::read_goroutines(&p, Default::default()).expect("goroutines");
        for g in &gs.list {
            anchors.push(g.address);
            anchors.push(gotopsy::Addr(g.stack.1 .0.saturating_sub(1024)));
            anchors.extend(g.frames.iter().take(4).map(|f| f.sp));
        }
        anchors.extend(gs.ms.iter().map(|m| m.address));
        use gotopsy::memory::ReadExt;
        for name in ["runtime.allgs", "runtime.allm", "runtime.sched", "runtime.mheap_", "runtime.firstmoduledata"] {
            if let Some(a) = p.global(name) {
                anchors.push(a);
                if name == "runtime.allgs" {
                    anchors.extend(p.mem().read_ptr(a).ok());
                }
            }
        }
        let a = gotopsy::analyze(&p, &Default::default(), &gotopsy::model::NoProgress).expect("analysis");
        anchors.extend(a.maps.iter().map(|m| m.address));
        anchors.extend(a.iterators.iter().map(|i| i.address));
        anchors.sort();
        anchors.dedup();
        Base { core, exe, anchors }
    }
}

/// The runtime walkers (goroutines, unwinder, crash, maps, iterators, heap)
/// over a real core whose memory the input damages: records of
/// `[anchor, offset (2 bytes), length, bytes…]`, each writing its bytes at
/// `anchors[anchor] − 1024 + offset`. The first byte picks the base: a Go 1.21
/// core (classic maps) or a Go 1.27 one (Swiss maps).
pub fn walkers(data: &[u8]) {
    if let Some(a) = damaged(data) {
        let _ = a.signature();
        let _ = a.write_json(&mut std::io::sink());
    }
}

/// The analysis of the core [`walkers`]' input picks, damaged as it says.
pub fn damaged(data: &[u8]) -> Option<gotopsy::Analysis> {
    static BASES: std::sync::OnceLock<[Base; 2]> = std::sync::OnceLock::new();
    let bases = BASES.get_or_init(|| [Base::open("go1.21.13", "mapiterwrite"), Base::open("go1.27.3", "mapiterwrite")]);
    let (&pick, mut rest) = data.split_first()?;
    let base = &bases[usize::from(pick & 1)];
    let mut p = gotopsy::runtime::Process::from_parts(base.core.clone(), base.exe.clone(), &Default::default()).ok()?;
    while let [anchor, lo, hi, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (bytes, next) = tail.split_at(n);
        if let Some(a) = base.anchors.get(usize::from(*anchor) % base.anchors.len().max(1)) {
            let at = a.0.saturating_sub(1024).saturating_add(u64::from(u16::from_le_bytes([*lo, *hi])));
            p.image.replace(gotopsy::Addr(at), bytes);
        }
        rest = next;
    }
    let opts = gotopsy::AnalyzeOptions { include_dead: pick & 2 != 0, ..Default::default() };
    gotopsy::analyze(&p, &opts, &gotopsy::model::NoProgress).ok()
}
