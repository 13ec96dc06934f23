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
        Self::open_with(variant, scenario, "crashzoo")
    }

    /// The same, for a scenario of another of the variant's programs.
    pub fn open_with(variant: &str, scenario: &str, program: &str) -> Base {
        let dir = fixtures().join(variant);
        let core = gotopsy::corefile::CoreFile::open(&dir.join(format!("{scenario}.core.zst"))).expect("fixture core");
        let exe = std::sync::Arc::new(
            gotopsy::exe::Executable::open(&dir.join(format!("{program}.zst"))).expect("fixture exe"),
        );
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
        for name in [
            "runtime.allgs",
            "runtime.allm",
            "runtime.sched",
            "runtime.mheap_",
            "runtime.firstmoduledata",
            "runtime.trace",
            "runtime/trace.tracing",
        ] {
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
/// core (classic maps) or a Go 1.27 one (Swiss maps); with its bit 2 set, a
/// Go 1.27 core whose program was tracing into a flight recorder when it
/// died, whose trace (the recorder's generations and the runtime's unflushed
/// buffers) is recovered and read too.
pub fn walkers(data: &[u8]) {
    if let Some((a, trace)) = damaged_with_trace(data) {
        let _ = a.signature();
        let _ = a.write_json(&mut std::io::sink());
        if let Some(t) = trace {
            // Its first 64 KiB (header, first batches): reading all of it is
            // the trace target's work, and took three quarters of the time.
            let _ = gotopsy::trace::read(t.bytes.get(..1 << 16).unwrap_or(&t.bytes));
        }
    }
}

/// The real processes the structure-aware targets damage, opened once: Go
/// 1.21 and 1.27 `mapiterwrite` cores, and a 1.27 flight-recorder core.
fn bases() -> &'static [Base; 3] {
    static BASES: std::sync::OnceLock<[Base; 3]> = std::sync::OnceLock::new();
    BASES.get_or_init(|| {
        [
            Base::open("go1.21.13", "mapiterwrite"),
            Base::open("go1.27.3", "mapiterwrite"),
            Base::open_with("go1.27.3", "tracemapwrites", "crashtrace"),
        ]
    })
}

/// The analysis of the core [`walkers`]' input picks, damaged as it says.
pub fn damaged(data: &[u8]) -> Option<gotopsy::Analysis> {
    damaged_with_trace(data).map(|(a, _)| a)
}

/// [`damaged`], and the trace recovered from the core when its base is the traced one.
pub fn damaged_with_trace(
    data: &[u8],
) -> Option<(gotopsy::Analysis, Option<gotopsy::runtime::flight::RecoveredTrace>)> {
    let bases = bases();
    let (&pick, mut rest) = data.split_first()?;
    let traced = pick & 4 != 0;
    let base = &bases[if traced { 2 } else { usize::from(pick & 1) }];
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
    let a = gotopsy::analyze(&p, &opts, &gotopsy::model::NoProgress).ok()?;
    let trace = if traced { gotopsy::runtime::flight::recover(&p).ok() } else { None };
    Some((a, trace))
}

/// The executable's function tables (`.gopclntab`: pcHeader, function names,
/// files, pc-value tables, `_func` records) with the input's bytes written
/// over them: records of `[offset (4 bytes), length, bytes…]` within the
/// section, after 8 bytes that pick the pcs looked up. The first byte picks
/// the build, as for [`walkers`]. The names, files and lines, frame sizes,
/// pcdata and inlining of a window of 32 functions and of the functions of 64
/// pcs are read.
pub fn pclntab(data: &[u8]) {
    let _ = pclntab_funcs(data);
}

/// How many functions the tables [`pclntab`] read hold (`None`: refused).
pub fn pclntab_funcs(data: &[u8]) -> Option<usize> {
    static PROCS: std::sync::OnceLock<Vec<(gotopsy::runtime::Process, gotopsy::exe::SectionInfo)>> =
        std::sync::OnceLock::new();
    let procs = PROCS.get_or_init(|| {
        bases()[..2]
            .iter()
            .map(|b| {
                let p = gotopsy::runtime::Process::from_parts(b.core.clone(), b.exe.clone(), &Default::default())
                    .expect("fixture");
                let sec = p.exe.sections.get(".gopclntab").cloned().expect(".gopclntab");
                (p, sec)
            })
            .collect()
    });
    let (&pick, rest) = data.split_first()?;
    let (p, sec) = &procs[usize::from(pick & 1)];
    let (seed, mut rest) = rest.split_at(rest.len().min(8));
    let seed = seed.iter().fold(0u64, |s, &b| s.wrapping_mul(131).wrapping_add(u64::from(b)));
    let mut image = p.image.clone();
    let start = sec.addr.wrapping_add(p.bias);
    while let [a, b, c, d, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (bytes, next) = tail.split_at(n);
        let off = u64::from(u32::from_le_bytes([*a, *b, *c, *d])) % sec.size.max(1);
        image.replace(gotopsy::Addr(start.wrapping_add(off)), bytes);
        rest = next;
    }
    let md = p.global("runtime.firstmoduledata")?;
    let tab = gotopsy::exe::pclntab::Pclntab::from_moduledata(&image, md, &p.layout.moduledata, p.layout.func.clone())
        .ok()?;
    let probe = |f: gotopsy::exe::pclntab::Func<'_>, pc: gotopsy::Addr| {
        let _ = (f.name(), f.args(), f.deferreturn(), f.flag(), f.func_id(), f.start_line());
        let _ = (f.sp_delta(pc), f.file_line(pc), f.pcdata(0, pc), f.pcdata(2, pc), f.funcdata(0), f.funcdata(3));
        let _ = f.inlined_call(&image, f.pcdata(2, pc));
    };
    // A window of 32 functions, and 64 pcs across the text (a little past its end too).
    let n = tab.len();
    let first = (seed % n.max(1) as u64) as usize;
    for f in (first..first.saturating_add(32)).filter_map(|i| tab.func(i)) {
        let entry = f.entry;
        probe(f, entry.add(seed % 64));
    }
    let text = tab.func(0).map_or(gotopsy::Addr(0), |f| f.entry);
    let last = n.checked_sub(1).and_then(|i| tab.func(i));
    let span = last.map_or(0, |f| f.entry.0.wrapping_sub(text.0)).saturating_add(4096);
    for k in 0..64u32 {
        let pc = text.add(seed.rotate_left(k) % span);
        if let Some(f) = tab.find_func(pc) {
            probe(f, pc);
        }
    }
    Some(n)
}

/// The sections [`dwarf`]'s input records, in [`DWARF_SECTIONS`] order.
pub fn dwarf_sections(data: &[u8]) -> Vec<Vec<u8>> {
    let mut parts: Vec<Vec<u8>> = vec![Vec::new(); DWARF_SECTIONS.len()];
    let mut rest = data;
    while let [i, lo, hi, tail @ ..] = rest {
        let n = usize::from(u16::from_le_bytes([*lo, *hi])).min(tail.len());
        let (bytes, next) = tail.split_at(n);
        parts[usize::from(*i) % DWARF_SECTIONS.len()].extend_from_slice(bytes);
        rest = next;
    }
    parts
}

/// The DWARF index over sections in [`DWARF_SECTIONS`] order.
pub fn dwarf_index(parts: &[Vec<u8>]) -> Result<gotopsy::exe::dwarf::DwarfIndex, String> {
    gotopsy::exe::dwarf::DwarfIndex::from_sections(|name| {
        let i = DWARF_SECTIONS.iter().position(|s| *s == name);
        Ok(i.and_then(|i| parts.get(i))
            .map_or_else(|| std::sync::Arc::from(&[][..]), |p| std::sync::Arc::from(p.as_slice())))
    })
}

/// The sections the dwarf target's records name, by index.
pub const DWARF_SECTIONS: [&str; 11] = [
    ".debug_info",
    ".debug_abbrev",
    ".debug_str",
    ".debug_line_str",
    ".debug_loclists",
    ".debug_loc",
    ".debug_rnglists",
    ".debug_ranges",
    ".debug_addr",
    ".debug_str_offsets",
    ".debug_line",
];

/// The DWARF index over sections from the input (records of `[section
/// index, length (2 bytes), bytes…]`, appended per section; seeds cut from
/// the fixtures' executables by `fuzz/make-dwarf-seeds.py`), then asked what
/// gotopsy asks: the runtime's layouts, globals, map variables, parameter
/// locations, constants.
pub fn dwarf(data: &[u8]) {
    let _ = dwarf_names(data);
}

/// How many names the index built from [`dwarf`]'s input holds (`None`: refused).
pub fn dwarf_names(data: &[u8]) -> Option<usize> {
    let d = dwarf_index(&dwarf_sections(data)).ok()?;
    let _ = gotopsy::runtime::layout::RuntimeLayout::from_dwarf(&d);
    let _ = (d.map_globals(), d.globals_with_type(|t| t.starts_with('*')));
    for name in ["runtime.g", "runtime.hmap", "internal/runtime/maps.Map", "main.main", "runtime.allgs"] {
        if let Some(t) = d.type_named(name) {
            let _ = (d.type_info(t), d.resolve(t), d.array_of(t), d.field_path_in(t, "m.curg"));
        }
        let _ = (d.struct_named(name), d.field_size(name, "sched.sp"), d.global(name), d.constant(name));
    }
    for f in ["main.main", "main.writer", "main.iterate", "runtime.mapaccess1", "runtime.mapassign_faststr"] {
        for pc in [0x401000u64, 0x47a000, 0x4a0000] {
            let _ = (d.map_vars_at(f, pc), d.param_location(f, 0, pc), d.param_location(f, 1, pc));
        }
    }
    Some(d.len())
}
