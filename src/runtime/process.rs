//! A dead Go process: core + executable + memory image + runtime metadata.

use super::layout::RuntimeLayout;
use crate::addr::{Addr, AddrRange};
use crate::corefile::notes::{AT_ENTRY, AT_PHDR};
use crate::corefile::CoreFile;
use crate::error::{Error, Result};
use crate::exe::pclntab::Pclntab;
use crate::exe::Executable;
use crate::memory::{Backing, Memory, ProcessImage, ReadExt, RegionSource};
use crate::warning::{Warning, WarningKind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Options for [`Process::open`].
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// The executable; `None` uses the path recorded in the core.
    pub exe: Option<PathBuf>,
    /// Analyze even when the core and the executable do not match.
    pub force: bool,
    /// Act as if the executable had no DWARF (exercises the fallback layouts).
    pub ignore_dwarf: bool,
    /// Symbols and DWARF from this file (the unstripped build or its `.debug`
    /// file) for a stripped executable (`--symbols`).
    pub symbols: Option<PathBuf>,
}

/// A core dump of a Go process with its executable, ready to be read.
pub struct Process {
    /// The machine the process ran on.
    pub arch: &'static dyn crate::arch::Arch,
    /// What showed the executable is the core's (`Unverified` also under `--force` after a mismatch).
    pub exe_match: ExeMatch,
    /// The core file.
    pub core: CoreFile,
    /// The executable.
    pub exe: std::sync::Arc<Executable>,
    /// The dead process's memory.
    pub image: ProcessImage,
    /// Load bias: actual minus stated addresses (0 unless PIE).
    pub bias: u64,
    /// Runtime data layout from DWARF.
    pub layout: RuntimeLayout,
    /// Function and line tables.
    pub pclntab: Pclntab,
    /// Go version, e.g. `go1.27.3`.
    pub go_version: String,
    /// `runtime.gStatusStrings`.
    pub status_strings: Vec<Arc<str>>,
    /// `runtime.waitReasonStrings`.
    pub wait_reason_strings: Vec<Arc<str>>,
    /// Problems that did not stop the analysis.
    pub warnings: Vec<crate::warning::Warning>,
    /// Layouts and globals come from DWARF (false: fallback tables and symbols).
    pub uses_dwarf: bool,
    /// Globals found by what they hold, for an executable without symbols
    /// ([`super::stripped`]): (name, actual address).
    pub found_globals: Vec<(&'static str, Addr)>,
    /// The tracer's layout and `runtime.trace`'s address, worked out once
    /// when a trace is first recovered ([`super::trace_layout::tracer`]).
    pub(super) tracer: std::sync::OnceLock<std::result::Result<(super::trace_layout::TraceLayout, Addr), String>>,
}

impl Process {
    /// Opens a core and its executable.
    pub fn open(core_path: &Path, opts: &OpenOptions) -> Result<Process> {
        let core = CoreFile::open(core_path)?;
        let exe_path = match &opts.exe {
            Some(p) => p.clone(),
            None => {
                let rec = core.recorded_executable().ok_or_else(|| Error::NoExecutable {
                    core: core_path.to_path_buf(),
                    reason: "the core records no executable path".into(),
                })?;
                // As recorded, else next to the core (a core copied off its host with its executable).
                let p = PathBuf::from(&rec);
                let dir = core_path.parent().unwrap_or(Path::new("."));
                let candidates =
                    [Some(p.clone()), p.is_relative().then(|| dir.join(&p)), p.file_name().map(|n| dir.join(n))];
                match candidates.into_iter().flatten().find(|c| c.is_file()) {
                    Some(c) => c,
                    None => {
                        return Err(Error::NoExecutable {
                            core: core_path.to_path_buf(),
                            reason: format!("the recorded executable {rec} does not exist here nor next to the core"),
                        })
                    }
                }
            }
        };
        let mut exe = Executable::open(&exe_path)?;
        if let Some(sym) = &opts.symbols {
            let dbg = Executable::open(sym)?;
            exe.attach_symbols(dbg).map_err(|why| Error::BadExecutable { path: sym.clone(), reason: why })?;
        }
        let p = Self::from_parts(core, exe, opts)?;
        if opts.exe.is_none() && p.exe_match == ExeMatch::Unverified && !opts.force {
            return Err(Error::NoExecutable {
                core: core_path.to_path_buf(),
                reason: format!(
                    "the core holds nothing to check the recorded executable {} against (no build ID, first page or read-only data); pass it with --exe",
                    p.exe.path.display()
                ),
            });
        }
        Ok(p)
    }

    /// Builds the process from an already opened core and executable.
    /// `exe` may be shared (`Arc`): a scan of many cores of one build parses
    /// it, and indexes its DWARF, once.
    pub fn from_parts(
        core: CoreFile,
        exe: impl Into<std::sync::Arc<Executable>>,
        opts: &OpenOptions,
    ) -> Result<Process> {
        let exe: std::sync::Arc<Executable> = exe.into();
        let force = opts.force;
        if core.arch.goarch() != exe.arch.goarch() {
            return Err(Error::ArchMismatch {
                core: core.path.clone(),
                exe: exe.path.clone(),
                core_arch: core.arch.goarch(),
                exe_arch: exe.arch.goarch(),
            });
        }
        let arch = core.arch;
        let mut warnings = core.warnings.clone();
        let bias = load_bias(&core, &exe);
        let image = build_image(&core, &exe, bias);
        let exe_match = check_match(&core, &exe, &image, bias).map(|(m, damaged)| {
            if let Some(text) = damaged {
                warnings.push(Warning::new(WarningKind::DamagedCore, text));
            }
            m
        });
        if let Err(reason) = &exe_match {
            let reason = reason.clone();
            if !force {
                return Err(Error::Mismatch { core: core.path.clone(), exe: exe.path.clone(), reason });
            }
            warnings.push(Warning::new(
                WarningKind::ExecutableMismatch,
                format!(
                    "core and executable do not match ({reason}): analyzing anyway (--force); the stacks may be wrong"
                ),
            ));
        }
        let rt_err = |what: String| Error::Runtime { path: exe.path.clone(), what };
        let dwarf = if opts.ignore_dwarf { Err("ignored (--no-dwarf)".to_string()) } else { exe.dwarf() };
        let uses_dwarf = dwarf.is_ok();
        let layout = match dwarf {
            Ok(d) => RuntimeLayout::from_dwarf(d).map_err(rt_err)?,
            Err(why) => {
                let minor = exe.build_info.as_ref().and_then(|b| b.major_minor()).map(|v| v.1);
                let layout = minor.and_then(super::layout_fallback::fallback_layout).ok_or_else(|| {
                    rt_err(format!(
                        "no DWARF ({why}) and no built-in layout for {}",
                        exe.go_version().unwrap_or("this Go version")
                    ))
                })?;
                warnings.push(Warning::new(WarningKind::MissingRuntimeData, format!(
                    "no DWARF ({why}): runtime, map and heap layouts from gotopsy's built-in table for {}; maps are named only by the symbol table's variables (no frame variables or struct fields), and a map argument the runtime kept in a register is found by its shape in the caller's frame",
                    exe.go_version().unwrap_or("?")
                )));
                layout
            }
        };
        let dwarf = if uses_dwarf { exe.dwarf().ok() } else { None };
        if let Some((n, first)) = dwarf.and_then(|d| d.damage()) {
            warnings.push(Warning::new(
                WarningKind::MissingRuntimeData,
                format!("the executable's DWARF is damaged: {n} of its units could not be read in full (first: {first}); names, layouts and variables in them are missing"),
            ));
        }
        let global = |name: &str| global_address(&exe, dwarf, bias, name);
        let stripped = is_stripped(&exe);
        let md = match global("runtime.firstmoduledata") {
            Some(md) => md,
            None if stripped => super::stripped::find_moduledata(&exe, &layout.moduledata)
                .map(|md| md.add(bias))
                .map_err(|why| rt_err(format!("no symbol table, and the module data was not found: {why}")))?,
            None => return Err(rt_err("no runtime.firstmoduledata".into())),
        };
        // The module data's table pointers never change after the program
        // starts: read them from the executable's initial copy, and say so when
        // the core's copy (damaged memory) disagrees.
        let (md_mem, damaged) = initial_moduledata(&exe, &image, md, bias, &layout.moduledata, exe_match.is_err());
        if let Some(w) = damaged {
            warnings.push(w);
        }
        let pclntab = Pclntab::from_moduledata(&md_mem, md, &layout.moduledata, layout.func.clone())
            .map_err(|e| Error::Runtime { path: core.path.clone(), what: format!("pclntab: {e}") })?;
        drop(md_mem);
        let go_version = match exe.go_version() {
            Some(v) => v.to_string(),
            None => global("runtime.buildVersion").and_then(|a| image.read_go_string(a).ok()).unwrap_or_default(),
        };
        // [N]string arrays: the count from DWARF's array type, else from the symbol's size.
        let strings = |name: &str| -> Vec<Arc<str>> {
            let count = dwarf
                .and_then(|d| d.global(name))
                .and_then(|(_, ty)| ty.and_then(|t| dwarf.and_then(|d| d.resolve(t))).and_then(|t| t.count))
                .or_else(|| exe.symbol(name).map(|(_, size)| size / 16))
                .unwrap_or(0)
                .min(4096);
            let Some(addr) = global(name) else { return Vec::new() };
            (0..count)
                .map(|i| image.read_go_string(addr.add(i.saturating_mul(16))).unwrap_or_default().into())
                .collect()
        };
        let mut status_strings = strings("runtime.gStatusStrings");
        let mut wait_reason_strings = strings("runtime.waitReasonStrings");
        if stripped {
            let minor = crate::exe::buildinfo::parse_major_minor(&go_version).map(|v| v.1);
            if let Some((st, wr)) = minor.and_then(super::strings_builtin::builtin_strings) {
                status_strings = st.iter().map(|&s| s.into()).collect();
                wait_reason_strings = wr.iter().map(|&s| s.into()).collect();
            }
        }
        if wait_reason_strings.is_empty() {
            warnings.push(Warning::new(
                WarningKind::MissingRuntimeData,
                "runtime.waitReasonStrings not found: wait reasons shown as numbers",
            ));
        }
        let mut p = Process {
            exe_match: exe_match.unwrap_or(ExeMatch::Unverified),
            arch,
            core,
            exe,
            image,
            bias,
            layout,
            pclntab,
            go_version,
            status_strings,
            wait_reason_strings,
            warnings,
            uses_dwarf,
            found_globals: Vec::new(),
            tracer: std::sync::OnceLock::new(),
        };
        if stripped {
            let (found, w) = super::stripped::discover(&p, &|g| super::goroutines::plausible_g(&p, g));
            p.found_globals = found;
            p.found_globals.push(("runtime.firstmoduledata", md));
            p.warnings.extend(w);
        }
        Ok(p)
    }

    /// Actual address of a runtime global, from DWARF or the symbol table.
    pub fn global(&self, name: &str) -> Option<Addr> {
        global_address(&self.exe, self.dwarf().ok(), self.bias, name)
            .or_else(|| self.found_globals.iter().find(|(n, _)| *n == name).map(|&(_, a)| a))
    }

    /// True when the executable has no symbol table (`-ldflags="-s -w"`,
    /// `objcopy --strip-all`): the runtime's globals are found by what they
    /// hold ([`super::stripped`]).
    pub fn is_stripped(&self) -> bool {
        is_stripped(&self.exe)
    }

    /// The executable's DWARF, unless absent or ignored.
    pub fn dwarf(&self) -> std::result::Result<&crate::exe::dwarf::DwarfIndex, String> {
        if !self.uses_dwarf {
            return Err("the executable has no DWARF (or it is ignored)".into());
        }
        self.exe.dwarf()
    }

    /// (major, minor) of the Go version, e.g. (1, 27).
    pub fn go_major_minor(&self) -> (u32, u32) {
        crate::exe::buildinfo::parse_major_minor(&self.go_version).unwrap_or((1, 0))
    }

    /// Memory of the process.
    pub fn mem(&self) -> &dyn Memory {
        &self.image
    }

    /// Drops the core's pages that have been read from this process's resident
    /// memory (they stay in the page cache), so that reading a 100 GB core keeps
    /// a bounded footprint. Views into the core stay valid: pages fault back in.
    pub fn release_core_pages(&self) {
        // SAFETY: the map is a private, read-only file mapping: DONTNEED only
        // drops our copy of the pages, which read back unchanged from the file.
        let _ = unsafe { self.core.map.unchecked_advise(memmap2::UncheckedAdvice::DontNeed) };
    }
}

/// Actual address of a global: its DWARF location when DWARF is used, else
/// its symbol, shifted by the load bias.
fn global_address(
    exe: &Executable,
    dwarf: Option<&crate::exe::dwarf::DwarfIndex>,
    bias: u64,
    name: &str,
) -> Option<Addr> {
    let stated = dwarf.and_then(|d| d.global(name).map(|(a, _)| a)).or_else(|| exe.symbol(name).map(|(a, _)| a))?;
    Some(stated.add(bias))
}

/// Actual minus stated addresses: `AT_ENTRY − e_entry` (Go links PIE at
/// 0x400000 too, so where a mapping starts says nothing), else via `AT_PHDR`.
fn load_bias(core: &CoreFile, exe: &Executable) -> u64 {
    if !exe.is_pie {
        return 0;
    }
    if let Some(entry) = core.auxv(AT_ENTRY) {
        return entry.wrapping_sub(exe.entry);
    }
    if let (Some(phdr), Some(first)) = (core.auxv(AT_PHDR), exe.segments.iter().find(|s| s.offset == 0)) {
        // AT_PHDR points at the program headers, 64 bytes into the first segment.
        return phdr.wrapping_sub(first.vaddr.wrapping_add(64));
    }
    0
}

fn build_image(core: &CoreFile, exe: &Executable, bias: u64) -> ProcessImage {
    let mut im = ProcessImage::new();
    let cb = im.add_backing(core.map.clone() as Backing);
    for s in &core.segments {
        im.add_mapping(s.range);
        im.add_region(RegionSource::Core, s.range.start, s.file_size, cb, s.file_offset);
    }
    let eb = im.add_backing(exe.map.clone() as Backing);
    for s in &exe.segments {
        if s.filesz > 0 {
            let at = Addr(s.vaddr.wrapping_add(bias));
            im.add_region(RegionSource::Executable, at, s.filesz, eb, s.offset);
            if !s.writable {
                // Text, the pclntab, type data: the file's bytes are the truth.
                im.prefer_executable(AddrRange::new(at, at.add(s.filesz)));
            }
        }
        im.add_mapping(AddrRange::new(
            Addr(s.vaddr.wrapping_add(bias)),
            Addr(s.vaddr.wrapping_add(bias).wrapping_add(s.memsz)),
        ));
    }
    im
}

/// The process's memory with the executable's initial copy of the module
/// data's table fields at `md` (relocated for PIE), and a warning naming the
/// fields where the core's copy differs or cannot be read. Without an initial
/// copy in the file, the core's memory as it is.
fn initial_moduledata<'a>(
    exe: &Executable,
    image: &'a ProcessImage,
    md: Addr,
    bias: u64,
    ml: &crate::exe::pclntab::ModuleDataLayout,
    mismatched: bool,
) -> (crate::memory::Patched<'a>, Option<Warning>) {
    // (name, offset, words): the fields Pclntab::from_moduledata reads.
    let fields = [
        ("pcHeader", ml.pc_header, 1),
        ("funcnametab", ml.funcnametab, 3),
        ("cutab", ml.cutab, 3),
        ("filetab", ml.filetab, 3),
        ("pctab", ml.pctab, 3),
        ("pclntable", ml.pclntable, 3),
        ("ftab", ml.ftab, 3u64),
        ("minpc", ml.minpc, 1),
        ("maxpc", ml.maxpc, 1),
        ("text", ml.text, 1),
        ("gofunc", ml.gofunc, 1),
    ];
    let len = fields.iter().map(|&(_, off, words)| off.saturating_add(words.saturating_mul(8))).max().unwrap_or(0);
    let Some(initial) = usize::try_from(len).ok().and_then(|n| exe.initial_bytes(md.0.wrapping_sub(bias), n, bias))
    else {
        return (crate::memory::Patched::new(image, md, Vec::new()), None);
    };
    let mut differ = Vec::new();
    for (name, off, words) in fields {
        let (o, n) = (off as usize, words.saturating_mul(8) as usize);
        let mut core = vec![0u8; n];
        let same =
            image.read(md.add(off), &mut core).is_ok() && initial.get(o..o.saturating_add(n)) == Some(core.as_slice());
        if !same {
            differ.push(name);
        }
    }
    let w = (!differ.is_empty()).then(|| {
        let why = if mismatched {
            "the executable is another build (--force): its function tables are used, and names may be wrong"
        } else {
            "the executable's copy is used (the core's memory there is damaged)"
        };
        let kind = if mismatched { WarningKind::ExecutableMismatch } else { WarningKind::DamagedCore };
        Warning::new(
            kind,
            format!(
                "the core's runtime.firstmoduledata at {md} is unreadable or differs from the executable's in {}: {why}",
                differ.join(", ")
            ),
        )
    });
    (crate::memory::Patched::new(image, md, initial), w)
}

/// What showed that a core was written by a process of an executable.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ExeMatch {
    /// The Go build ID note in the core's copy of the first page.
    BuildId,
    /// The executable's first page, as the core holds it.
    FirstPage,
    /// A read-only segment the core holds (qemu-user cores hold no text, but
    /// keep read-only data such as the pclntab), at this address.
    ReadOnlySegment(Addr),
    /// The core's copy of the module data's first words (its build ID note
    /// being damaged).
    ModuleData,
    /// Nothing in the core to compare.
    Unverified,
}

/// How the executable was matched, and a note when the core's copy of the
/// build ID was damaged.
type Matched = (ExeMatch, Option<String>);

/// Checks that the core was written by a process of this executable: the Go
/// build ID note (in the first page, which kernel cores keep) must be the same
/// bytes, else the first page, else a read-only segment the core holds; and the
/// entry point must be the executable's.
fn check_match(core: &CoreFile, exe: &Executable, image: &ProcessImage, bias: u64) -> Result<Matched, String> {
    if let Some(entry) = core.auxv(AT_ENTRY) {
        if entry != exe.entry.wrapping_add(bias) {
            return Err(format!("the process entered at {entry:#x}, the executable's entry is {:#x}", exe.entry));
        }
    }
    let mut note_damaged = false;
    if let (Some(sec), Some(id)) = (exe.sections.get(".note.go.buildid"), &exe.go_build_id) {
        let mut buf = vec![0u8; sec.size.min(4096) as usize];
        if image.read_core_only(Addr(sec.addr.wrapping_add(bias)), &mut buf).is_ok() {
            let (notes, _) = crate::corefile::notes::parse_notes(&buf);
            let in_core = notes
                .iter()
                .find(|n| n.name == b"Go" && n.kind == 4)
                .map(|n| String::from_utf8_lossy(n.desc).into_owned());
            match in_core {
                Some(c) if &c == id => return Ok((ExeMatch::BuildId, None)),
                Some(c) => return Err(format!("Go build ID in the core is {c}, the executable's is {id}")),
                // The page is there but holds no Go note where the executable has
                // one: the core's memory is damaged there (another build has its
                // own note). The read-only pages decide.
                None => note_damaged = true,
            }
        }
    }
    if note_damaged {
        // The module data's first words (table pointers and lengths, section
        // bounds) never change after start and differ between builds.
        let md_same = exe.symbol("runtime.firstmoduledata").and_then(|(a, _)| {
            let initial = exe.initial_bytes(a.0, MODULEDATA_WORDS, bias)?;
            let mut b = vec![0u8; MODULEDATA_WORDS];
            image.read_core_only(Addr(a.0.wrapping_add(bias)), &mut b).ok()?;
            Some(initial == b)
        });
        if md_same == Some(true) {
            return Ok((
                ExeMatch::ModuleData,
                Some("the core's copy of the executable's Go build ID note is damaged (no note where the executable has one); the core's runtime.firstmoduledata agrees with the executable's, so it is used".into()),
            ));
        }
        return match compare_pages(exe, image, bias) {
            (same, differ, Some(at)) if same > 0 && same >= differ.saturating_mul(2) => Ok((
                ExeMatch::ReadOnlySegment(at),
                Some(format!(
                    "the core's copy of the executable's Go build ID note is damaged (no note where the executable has one); {same} of {} of the executable's read-only pages the core holds match it, so it is used",
                    same.saturating_add(differ)
                )),
            )),
            (same, differ, _) => Err(format!(
                "the core has no Go build ID where the executable has one, and {differ} of {} read-only pages differ",
                same.saturating_add(differ)
            )),
        };
    }
    // No build ID in the core to compare: the first page, else the first page
    // of each read-only segment the core holds bytes of.
    let mut compared = None;
    for seg in exe.segments.iter().filter(|s| s.filesz > 0 && (s.offset == 0 || !s.writable)) {
        let at = Addr(seg.vaddr.wrapping_add(bias));
        let mut buf = vec![0u8; seg.filesz.min(4096) as usize];
        if image.read_core_only(at, &mut buf).is_err() {
            continue;
        }
        let file = usize::try_from(seg.offset).ok().and_then(|o| exe.map.get(o..o.checked_add(buf.len())?));
        if file != Some(buf.as_slice()) {
            return Err(if seg.offset == 0 {
                "the executable's first page differs from the one in the core".into()
            } else {
                format!("the executable's read-only segment at {at} differs from the core's copy")
            });
        }
        compared.get_or_insert(if seg.offset == 0 { ExeMatch::FirstPage } else { ExeMatch::ReadOnlySegment(at) });
    }
    Ok((compared.unwrap_or(ExeMatch::Unverified), None))
}

/// Bytes of the module data compared when the build ID note is damaged.
const MODULEDATA_WORDS: usize = 256;

/// Pages sampled per read-only segment by [`compare_pages`].
const PAGES_PER_SEGMENT: u64 = 16;

/// Compares up to [`PAGES_PER_SEGMENT`] evenly spaced pages of each of the
/// executable's read-only segments with the core's copies, leaving out pages
/// that are all zeroes in the file (any build has those): how many are the
/// same, how many differ, and the first segment compared.
fn compare_pages(exe: &Executable, image: &ProcessImage, bias: u64) -> (u64, u64, Option<Addr>) {
    let (mut same, mut differ, mut first) = (0u64, 0u64, None);
    let mut buf = vec![0u8; 4096];
    for seg in exe.segments.iter().filter(|s| s.filesz >= 4096 && !s.writable) {
        let pages = seg.filesz / 4096;
        let step = (pages / PAGES_PER_SEGMENT).max(1);
        for i in (0..pages).step_by(usize::try_from(step).unwrap_or(1)).take(PAGES_PER_SEGMENT as usize) {
            let (Some(off), Some(va)) =
                (seg.offset.checked_add(i.saturating_mul(4096)), seg.vaddr.checked_add(i.saturating_mul(4096)))
            else {
                continue;
            };
            let Some(file) = usize::try_from(off).ok().and_then(|o| exe.map.get(o..o.checked_add(4096)?)) else {
                continue;
            };
            if file.iter().all(|&b| b == 0) || image.read_core_only(Addr(va.wrapping_add(bias)), &mut buf).is_err() {
                continue;
            }
            first.get_or_insert(Addr(seg.vaddr.wrapping_add(bias)));
            if file == buf.as_slice() {
                same = same.saturating_add(1);
            } else {
                differ = differ.saturating_add(1);
            }
        }
    }
    (same, differ, first)
}

/// No symbol table: neither the module data's symbol nor `runtime.main`'s.
fn is_stripped(exe: &Executable) -> bool {
    exe.symbol("runtime.firstmoduledata").is_none() && exe.symbol("runtime.main").is_none()
}
