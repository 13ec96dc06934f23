//! The core file: ELF program headers and notes of a linux core dump (amd64, arm64).

mod input;
pub mod notes;

pub use input::{
    decompression_progress, map_file, open_input, read_decompressed, set_max_decompressed, Compression, Input,
};
pub use notes::{FileMapping, ProcessInfo, Regs, ThreadState};

use crate::addr::{Addr, AddrRange};
use crate::error::{Error, Result};
use crate::warning::{Warning, WarningKind};
use goblin::elf::{header, program_header, Elf, ProgramHeader};
use memmap2::Mmap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A `PT_LOAD` segment of the core.
#[derive(Clone, Debug)]
pub struct CoreSegment {
    /// Mapped range in the process.
    pub range: AddrRange,
    /// Where its bytes start in the core file.
    pub file_offset: u64,
    /// How many bytes the core holds (may be less than the range: filtered or truncated).
    pub file_size: u64,
    /// `PF_R|PF_W|PF_X` bits.
    pub flags: u32,
}

/// A parsed core dump. Owns the memory map (shared: a clone maps nothing
/// again); reading target memory goes through [`crate::memory::ProcessImage`].
#[derive(Clone)]
pub struct CoreFile {
    /// Path as given.
    pub path: PathBuf,
    /// The machine it was written on.
    pub arch: &'static dyn crate::arch::Arch,
    /// How the file was stored.
    pub compression: Compression,
    /// The mapped bytes (decompressed).
    pub map: Arc<Mmap>,
    /// `PT_LOAD` segments.
    pub segments: Vec<CoreSegment>,
    /// Threads, in note order (the first is the one that received the fatal signal).
    pub threads: Vec<ThreadState>,
    /// Auxiliary vector.
    pub auxv: Vec<(u64, u64)>,
    /// File-backed mappings.
    pub files: Vec<FileMapping>,
    /// Process name and arguments.
    pub process: Option<ProcessInfo>,
    /// `NT_SIGINFO`: the signal that wrote the core (kernel cores; none in
    /// qemu-user cores and in snapshots of live processes).
    pub siginfo: Option<notes::SigInfo>,
    /// Things that were wrong with the core but did not stop reading it.
    pub warnings: Vec<crate::warning::Warning>,
    /// The file ends before its segments do (cut short by a full disk, a
    /// ulimit, or a compressed stream that broke off).
    pub truncated: bool,
}

/// More program headers than a core could sensibly have (bounds allocation).
const MAX_PHDRS: usize = 1 << 22;

impl CoreFile {
    /// Opens and parses a core (`-`: standard input), decompressing zstd,
    /// gzip, xz or lz4 input; a cut compressed core is read as far as it goes.
    pub fn open(path: &Path) -> Result<CoreFile> {
        let input = open_input(path)?;
        let mut core = Self::parse(path, Arc::new(input.map), input.compression)?;
        if let Some(why) = input.cut {
            core.truncated = true;
            core.warnings.insert(
                0,
                Warning::new(WarningKind::TruncatedCore, format!("{why}: the core is read as far as it decompressed")),
            );
        }
        Ok(core)
    }

    /// Parses a core held in memory (fuzzing, tests): the bytes are copied
    /// into an anonymous mapping; `name` stands for the path in errors.
    pub fn from_bytes(name: &Path, bytes: &[u8]) -> Result<CoreFile> {
        let io = |source| Error::Io { path: name.to_path_buf(), source };
        if bytes.is_empty() {
            return Err(Error::NotACore { path: name.to_path_buf(), reason: "empty".into() });
        }
        let mut m = memmap2::MmapMut::map_anon(bytes.len()).map_err(io)?;
        m.copy_from_slice(bytes);
        let map = m.make_read_only().map_err(io)?;
        Self::parse(name, Arc::new(map), Compression::None)
    }

    fn parse(path: &Path, map: Arc<Mmap>, compression: Compression) -> Result<CoreFile> {
        let bad = |reason: String| Error::NotACore { path: path.to_path_buf(), reason };
        let data: &[u8] = &map;
        if data.len() < header::header64::SIZEOF_EHDR || !data.starts_with(b"\x7fELF") {
            return Err(bad("no ELF header".into()));
        }
        let hdr = Elf::parse_header(data).map_err(|e| bad(format!("bad ELF header: {e}")))?;
        if hdr.e_ident[header::EI_CLASS] != header::ELFCLASS64 || hdr.e_ident[header::EI_DATA] != header::ELFDATA2LSB {
            return Err(bad("not a 64-bit little-endian ELF file".into()));
        }
        if hdr.e_type != header::ET_CORE {
            return Err(bad(format!("ELF type is {}, not a core dump", header::et_to_str(hdr.e_type))));
        }
        let arch = crate::arch::for_elf_machine(hdr.e_machine).map_err(bad)?;
        let mut phnum = hdr.e_phnum as usize;
        if hdr.e_phnum == 0xffff {
            // PN_XNUM: the real count is in section header 0's sh_info.
            let off = usize::try_from(hdr.e_shoff).ok().and_then(|o| o.checked_add(44));
            phnum = off
                .and_then(|off| data.get(off..off.checked_add(4)?))
                .and_then(|b| b.try_into().ok())
                .map(u32::from_le_bytes)
                .ok_or_else(|| bad("PN_XNUM set but section header 0 is missing".into()))? as usize;
        }
        let phoff = hdr.e_phoff as usize;
        let needed =
            phnum.checked_mul(program_header::program_header64::SIZEOF_PHDR).and_then(|n| n.checked_add(phoff));
        if phnum > MAX_PHDRS || needed.is_none_or(|n| n > data.len()) {
            return Err(bad(format!("program headers ({phnum}) run past the end of the file (truncated?)")));
        }
        let ctx = goblin::container::Ctx::new(goblin::container::Container::Big, goblin::container::Endian::Little);
        let phdrs = ProgramHeader::parse(data, phoff, phnum, ctx).map_err(|e| bad(format!("program headers: {e}")))?;

        let mut core = CoreFile {
            path: path.to_path_buf(),
            arch,
            compression,
            map: map.clone(),
            segments: Vec::new(),
            threads: Vec::new(),
            auxv: Vec::new(),
            files: Vec::new(),
            process: None,
            siginfo: None,
            warnings: Vec::new(),
            truncated: false,
        };
        let flen = data.len() as u64;
        for ph in &phdrs {
            match ph.p_type {
                program_header::PT_LOAD => {
                    let avail = flen.saturating_sub(ph.p_offset).min(ph.p_filesz);
                    if avail < ph.p_filesz {
                        core.truncated = true;
                        core.warnings.push(Warning::new(
                            WarningKind::TruncatedCore,
                            format!(
                                "segment at {:#x} is cut short: {} of {} bytes in the file (truncated core)",
                                ph.p_vaddr, avail, ph.p_filesz
                            ),
                        ));
                    }
                    core.segments.push(CoreSegment {
                        range: AddrRange::new(Addr(ph.p_vaddr), Addr(ph.p_vaddr.saturating_add(ph.p_memsz))),
                        file_offset: ph.p_offset,
                        file_size: avail,
                        flags: ph.p_flags,
                    });
                }
                program_header::PT_NOTE => {
                    let start = ph.p_offset.min(flen) as usize;
                    let end = ph.p_offset.saturating_add(ph.p_filesz).min(flen) as usize;
                    core.read_notes(data.get(start..end).unwrap_or_default());
                }
                _ => {}
            }
        }
        if core.segments.is_empty() {
            return Err(bad("no memory segments".into()));
        }
        if core.threads.is_empty() {
            core.warnings.push(Warning::new(WarningKind::CoreFile, "no thread registers (NT_PRSTATUS) in the core"));
        }
        Ok(core)
    }

    fn read_notes(&mut self, seg: &[u8]) {
        let (list, err) = notes::parse_notes(seg);
        if let Some(e) = err {
            self.warnings.push(Warning::new(WarningKind::CoreFile, e));
        }
        for n in list {
            if n.name != b"CORE" {
                continue;
            }
            match n.kind {
                notes::NT_PRSTATUS => match notes::parse_prstatus(n.desc, self.arch) {
                    Some(t) => self.threads.push(t),
                    None => self.warnings.push(Warning::new(WarningKind::CoreFile, "short NT_PRSTATUS note skipped")),
                },
                notes::NT_PRPSINFO => self.process = notes::parse_prpsinfo(n.desc),
                notes::NT_AUXV => self.auxv = notes::parse_auxv(n.desc),
                notes::NT_SIGINFO => self.siginfo = notes::parse_siginfo(n.desc),
                notes::NT_FILE => self.files = notes::parse_nt_file(n.desc),
                _ => {}
            }
        }
    }

    /// True for a snapshot of a live process (`gcore`, `gdb generate-core-file`):
    /// no thread stopped by a signal, and no `NT_SIGINFO` but the debugger's
    /// own stop (gdb writes one per thread: `SIGSTOP`, `SI_KERNEL`).
    pub fn is_snapshot(&self) -> bool {
        const SIGSTOP: i32 = 19;
        self.siginfo.is_none_or(|s| s.signo == SIGSTOP)
            && !self.threads.is_empty()
            && self.threads.iter().all(|t| t.signal == 0)
    }

    /// Value of an auxiliary-vector entry.
    pub fn auxv(&self, key: u64) -> Option<u64> {
        self.auxv.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    /// The path of the main executable as the process had it mapped: the file
    /// mapped over the entry point (`NT_FILE`), else the first file mapped, else
    /// the string `AT_EXECFN` points at (qemu-user cores have no `NT_FILE`).
    pub fn recorded_executable(&self) -> Option<String> {
        let by_entry = self.auxv(notes::AT_ENTRY).and_then(|e| self.files.iter().find(|f| f.range.contains(Addr(e))));
        by_entry.or_else(|| self.files.first()).map(|f| f.path.clone()).or_else(|| self.exec_fn())
    }

    /// The program's path as `execve` got it: the string at `AT_EXECFN` (on the
    /// initial stack, which cores hold).
    pub fn exec_fn(&self) -> Option<String> {
        let at = Addr(self.auxv(notes::AT_EXECFN)?);
        let bytes = self.bytes_at(at, 4096)?;
        let end = bytes.iter().position(|&b| b == 0)?;
        let s = std::str::from_utf8(bytes.get(..end)?).ok()?;
        (!s.is_empty()).then(|| s.to_string())
    }

    /// Up to `max` bytes the core holds from `addr` on, within one segment.
    pub(crate) fn bytes_at(&self, addr: Addr, max: u64) -> Option<&[u8]> {
        let seg = self.segments.iter().find(|s| s.range.contains(addr))?;
        let rel = addr.checked_sub(seg.range.start)?;
        if rel >= seg.file_size {
            return None;
        }
        let start = seg.file_offset.checked_add(rel)?;
        let end = start.checked_add(seg.file_size.checked_sub(rel)?.min(max))?;
        self.map.get(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
    }
}
