//! The executable: ELF sections, symbols, segments, build IDs and build info,
//! plus the Go metadata readers (pclntab, DWARF) built on them.

pub mod buildinfo;
pub mod dwarf;
pub mod pclntab;

pub use buildinfo::BuildInfo;

use crate::addr::Addr;
use crate::corefile::{map_file, Compression};
use crate::error::{Error, Result};
use memmap2::Mmap;
use object::{Object, ObjectSection, ObjectSegment, ObjectSymbol};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// A loadable segment of the executable.
#[derive(Clone, Debug)]
pub struct ExeSegment {
    /// `PF_W` was set.
    pub writable: bool,
    /// Link-time ("stated") address.
    pub vaddr: u64,
    /// Bytes in memory.
    pub memsz: u64,
    /// File offset.
    pub offset: u64,
    /// Bytes in the file.
    pub filesz: u64,
}

/// A section's stated address and size.
#[derive(Clone, Debug)]
pub struct SectionInfo {
    /// Link-time address.
    pub addr: u64,
    /// Size in bytes.
    pub size: u64,
}

/// A Go executable, memory-mapped.
pub struct Executable {
    /// Path as given.
    pub path: PathBuf,
    /// How the file was stored.
    pub compression: Compression,
    /// The mapped (decompressed) bytes.
    pub map: Arc<Mmap>,
    /// ELF entry point (stated).
    pub entry: u64,
    /// True for `ET_DYN` (PIE).
    pub is_pie: bool,
    /// `PT_LOAD` segments.
    pub segments: Vec<ExeSegment>,
    /// Sections by name.
    pub sections: HashMap<String, SectionInfo>,
    symbols: HashMap<String, (u64, u64)>,
    /// The machine it was built for.
    pub arch: &'static dyn crate::arch::Arch,
    /// The Go build ID (always present in Go binaries built by `go build`).
    pub go_build_id: Option<String>,
    /// The GNU build-id note, hex (Go 1.24+ only).
    pub gnu_build_id: Option<String>,
    /// Build information, when `.go.buildinfo` is present.
    pub build_info: Option<BuildInfo>,
    dwarf: OnceLock<std::result::Result<dwarf::DwarfIndex, String>>,
    by_address: OnceLock<Vec<(u64, u64, String)>>,
    /// A separate file the symbols and DWARF come from (`--symbols`).
    debug: Option<(PathBuf, Arc<Mmap>)>,
}

impl Executable {
    /// Opens and parses an executable (zstd or gzip compressed files too).
    pub fn open(path: &Path) -> Result<Executable> {
        let (map, compression) = map_file(path)?;
        let map = Arc::new(map);
        let bad = |reason: String| Error::BadExecutable { path: path.to_path_buf(), reason };
        let file = object::File::parse(&**map).map_err(|e| bad(format!("not an ELF executable: {e}")))?;
        let arch = crate::arch::for_object_architecture(file.architecture()).map_err(bad)?;
        let is_pie = matches!(file.kind(), object::ObjectKind::Dynamic);
        let segments = file
            .segments()
            .map(|s| {
                let (offset, filesz) = s.file_range();
                let writable = matches!(s.flags(), object::SegmentFlags::Elf { p_flags } if p_flags & 2 != 0);
                ExeSegment { writable, vaddr: s.address(), memsz: s.size(), offset, filesz }
            })
            .collect();
        let mut sections = HashMap::new();
        for s in file.sections() {
            if let Ok(name) = s.name() {
                sections.insert(name.to_string(), SectionInfo { addr: s.address(), size: s.size() });
            }
        }
        let mut symbols = HashMap::new();
        for s in file.symbols() {
            if let Ok(name) = s.name() {
                if !name.is_empty() {
                    symbols.entry(name.to_string()).or_insert((s.address(), s.size()));
                }
            }
        }
        let section_data = |name: &str| file.section_by_name(name).and_then(|s| s.uncompressed_data().ok());
        let go_build_id = section_data(".note.go.buildid")
            .and_then(|d| note_desc(&d, b"Go", 4))
            .map(|d| String::from_utf8_lossy(&d).into_owned());
        let gnu_build_id = section_data(".note.gnu.build-id")
            .and_then(|d| note_desc(&d, b"GNU", 3))
            .map(|d| d.iter().map(|b| format!("{b:02x}")).collect());
        let build_info = section_data(".go.buildinfo").and_then(|d| buildinfo::parse(&d));
        if build_info.is_none() && go_build_id.is_none() && !symbols.contains_key("runtime.main") {
            return Err(bad("no Go build information, build ID or runtime symbols: not a Go program".into()));
        }
        Ok(Executable {
            path: path.to_path_buf(),
            arch,
            compression,
            entry: file.entry(),
            is_pie,
            segments,
            sections,
            symbols,
            debug: None,
            go_build_id,
            gnu_build_id,
            build_info,
            map,
            dwarf: OnceLock::new(),
            by_address: OnceLock::new(),
        })
    }

    /// The `len` bytes the file places at stated address `stated` (data the
    /// program starts with), with the load bias added where a PIE's relative
    /// relocations say so; `None` when the file holds no bytes there.
    pub fn initial_bytes(&self, stated: u64, len: usize, bias: u64) -> Option<Vec<u8>> {
        let end = stated.checked_add(len as u64)?;
        let seg = self.segments.iter().find(|s| s.vaddr <= stated && end <= s.vaddr.saturating_add(s.filesz))?;
        let off = usize::try_from(seg.offset.checked_add(stated.checked_sub(seg.vaddr)?)?).ok()?;
        let mut out = self.map.get(off..off.checked_add(len)?)?.to_vec();
        if self.is_pie {
            let file = object::File::parse(&**self.map).ok()?;
            let want = self.arch.relative_relocation();
            for (at, r) in file.dynamic_relocations().into_iter().flatten() {
                let object::RelocationFlags::Elf { r_type } = r.flags() else { continue };
                if r_type != want || at < stated || at.saturating_add(8) > end {
                    continue;
                }
                let i = at.saturating_sub(stated) as usize;
                let v = (r.addend() as u64).wrapping_add(bias);
                out.get_mut(i..i.saturating_add(8))?.copy_from_slice(&v.to_le_bytes());
            }
        }
        Some(out)
    }

    /// True for a debug file (`objcopy --only-keep-debug`, a debuginfod
    /// `.debug` or `debuginfo`): sections listed but no code or tables in the file.
    pub fn is_debug_only(&self) -> bool {
        let pclntab = [".gopclntab", ".data.rel.ro.gopclntab"].iter().find_map(|n| self.sections.get(*n));
        pclntab.is_none_or(|s| self.initial_bytes(s.addr, 8, 0).is_none())
    }

    /// True when the executable has a symbol table (not `-ldflags=-s`, not `strip`ped).
    pub fn has_symbols(&self) -> bool {
        !self.symbols.is_empty()
    }

    /// Stated address and size of a symbol.
    pub fn symbol(&self, name: &str) -> Option<(Addr, u64)> {
        self.symbols.get(name).map(|&(a, s)| (Addr(a), s))
    }

    /// Package-level variables of `size` bytes from the symbol table: those
    /// in the writable data sections (`.data`, `.noptrdata`, `.bss`,
    /// `.noptrbss`), as (name, stated address), sorted by name. What the
    /// analysis knows of globals when there is no DWARF.
    pub fn variables_of_size(&self, size: u64) -> Vec<(&str, Addr)> {
        let data: Vec<&SectionInfo> =
            [".data", ".noptrdata", ".bss", ".noptrbss"].iter().filter_map(|n| self.sections.get(*n)).collect();
        let in_data = |a: u64| data.iter().any(|s| a.checked_sub(s.addr).is_some_and(|o| o < s.size));
        let mut out: Vec<(&str, Addr)> = self
            .symbols
            .iter()
            .filter(|(n, &(a, sz))| {
                sz == size && a != 0 && in_data(a) && !n.starts_with("go:") && !n.starts_with("type:")
            })
            .map(|(n, &(a, _))| (n.as_str(), Addr(a)))
            .collect();
        out.sort();
        out
    }

    /// The symbol whose extent holds stated address `a`, and `a`'s offset in it.
    pub fn symbol_at(&self, a: Addr) -> Option<(&str, u64)> {
        let table = self.by_address.get_or_init(|| {
            let mut v: Vec<(u64, u64, String)> = self
                .symbols
                .iter()
                .filter(|(_, &(addr, _))| addr != 0)
                .map(|(n, &(addr, size))| (addr, size, n.clone()))
                .collect();
            v.sort();
            v
        });
        let i = table.partition_point(|(addr, _, _)| *addr <= a.0).checked_sub(1)?;
        let (addr, size, name) = table.get(i)?;
        let off = a.0.checked_sub(*addr)?;
        (off < (*size).max(1)).then_some((name.as_str(), off))
    }

    /// The Go version (e.g. `go1.27.3`), from build info.
    pub fn go_version(&self) -> Option<&str> {
        self.build_info.as_ref().map(|b| b.version())
    }

    /// Takes the symbol table and DWARF from `dbg`: the unstripped build, or
    /// the `.debug` file (`objcopy --only-keep-debug`) of this executable.
    /// Refused unless both carry the same Go build ID or GNU build-id.
    pub fn attach_symbols(&mut self, dbg: Executable) -> std::result::Result<(), String> {
        let same = |a: &Option<String>, b: &Option<String>| a.is_some() && a == b;
        if !same(&self.go_build_id, &dbg.go_build_id) && !same(&self.gnu_build_id, &dbg.gnu_build_id) {
            return Err(format!(
                "its Go build ID {} is not the executable's {}: give the .debug file or unstripped build of {}",
                dbg.go_build_id.as_deref().unwrap_or("(none)"),
                self.go_build_id.as_deref().unwrap_or("(none)"),
                self.path.display()
            ));
        }
        if dbg.symbols.is_empty() && dbg.dwarf().is_err() {
            return Err(format!("{} has neither a symbol table nor DWARF", dbg.path.display()));
        }
        self.symbols = dbg.symbols;
        self.dwarf = OnceLock::new();
        self.by_address = OnceLock::new();
        self.debug = Some((dbg.path, dbg.map));
        Ok(())
    }

    /// The file symbols and DWARF were taken from, when not the executable (`--symbols`).
    pub fn symbols_file(&self) -> Option<&Path> {
        self.debug.as_ref().map(|(p, _)| p.as_path())
    }

    /// The DWARF index, built on first use. `Err` says why there is none
    /// (stripped with `-ldflags=-w`, or malformed).
    pub fn dwarf(&self) -> std::result::Result<&dwarf::DwarfIndex, String> {
        self.dwarf
            .get_or_init(|| {
                let map = self.debug.as_ref().map_or(&self.map, |(_, m)| m);
                let file = object::File::parse(&***map).map_err(|e| e.to_string())?;
                dwarf::DwarfIndex::load(&file)
            })
            .as_ref()
            .map_err(|e| e.clone())
    }

    /// Raw bytes of a section (decompressed).
    pub fn section_bytes(&self, name: &str) -> Option<Vec<u8>> {
        let file = object::File::parse(&**self.map).ok()?;
        let s = file.section_by_name(name)?;
        s.uncompressed_data().ok().map(|c| c.into_owned())
    }
}

/// Finds the descriptor of the note with `name` and `kind` in a note section.
fn note_desc(sec: &[u8], name: &[u8], kind: u32) -> Option<Vec<u8>> {
    let (notes, _) = crate::corefile::notes::parse_notes(sec);
    notes.into_iter().find(|n| n.name == name && n.kind == kind).map(|n| n.desc.to_vec())
}
