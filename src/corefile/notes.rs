//! ELF core notes of linux (amd64, arm64): `NT_PRSTATUS`, `NT_PRPSINFO`, `NT_AUXV`, `NT_FILE`.
//! Every field is read with bounds checks; a malformed note is skipped with a warning.

use crate::addr::{Addr, AddrRange};
use crate::arch::Arch;
pub use crate::arch::Regs;

/// `NT_PRSTATUS`: a thread's registers.
pub const NT_PRSTATUS: u32 = 1;
/// `NT_PRPSINFO`: process name and arguments.
pub const NT_PRPSINFO: u32 = 3;
/// `NT_AUXV`: the auxiliary vector.
pub const NT_AUXV: u32 = 6;
/// `NT_SIGINFO`: the `siginfo` of the signal that wrote the core (kernel cores).
pub const NT_SIGINFO: u32 = 0x5349_4749;
/// `NT_FILE`: file-backed mappings.
pub const NT_FILE: u32 = 0x4649_4c45;

/// `AT_PHDR` auxv key.
pub const AT_PHDR: u64 = 3;
/// `AT_ENTRY` auxv key.
pub const AT_ENTRY: u64 = 9;
/// `AT_EXECFN` auxv key.
pub const AT_EXECFN: u64 = 31;

/// One thread of the dead process.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ThreadState {
    /// The kernel's thread id (LWP), which Go stores as `m.procid`.
    pub lwp: u32,
    /// The signal that stopped the thread (`pr_cursig`).
    pub signal: u16,
    /// Its registers.
    pub regs: Regs,
}

/// A file mapped into the process (`NT_FILE`).
#[derive(Clone, Debug, serde::Serialize)]
pub struct FileMapping {
    /// Mapped range.
    pub range: AddrRange,
    /// Offset in the file, in bytes.
    pub file_offset: u64,
    /// The file's path when the process died.
    pub path: String,
}

/// `NT_PRPSINFO`: who the process was.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ProcessInfo {
    /// Process id.
    pub pid: u32,
    /// Command name (at most 15 bytes).
    pub fname: String,
    /// Command line (at most 80 bytes).
    pub psargs: String,
}

/// One raw note.
pub struct Note<'a> {
    /// Owner name ("CORE", "LINUX", …).
    pub name: &'a [u8],
    /// Note type.
    pub kind: u32,
    /// Descriptor bytes.
    pub desc: &'a [u8],
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off.checked_add(4)?)?.try_into().ok()?))
}

fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(off..off.checked_add(8)?)?.try_into().ok()?))
}

fn align4(n: usize) -> Option<usize> {
    n.checked_add(3).map(|x| x & !3)
}

/// Splits a `PT_NOTE` segment into notes; stops at the first malformed one.
pub fn parse_notes(seg: &[u8]) -> (Vec<Note<'_>>, Option<String>) {
    let mut out = Vec::new();
    let mut off = 0usize;
    while off.checked_add(12).is_some_and(|end| end <= seg.len()) {
        let (Some(namesz), Some(descsz), Some(kind)) =
            (u32_at(seg, off), u32_at(seg, off.saturating_add(4)), u32_at(seg, off.saturating_add(8)))
        else {
            break;
        };
        let name_start = off.saturating_add(12);
        let Some(desc_start) = align4(namesz as usize).and_then(|n| name_start.checked_add(n)) else { break };
        let Some(next) = align4(descsz as usize).and_then(|n| desc_start.checked_add(n)) else { break };
        let (Some(name), Some(desc)) = (
            seg.get(name_start..name_start.saturating_add(namesz as usize)),
            seg.get(desc_start..desc_start.saturating_add(descsz as usize)),
        ) else {
            return (out, Some(format!("note at offset {off} runs past its segment")));
        };
        let name = name.get(..name.iter().rposition(|&b| b != 0).map_or(0, |i| i.saturating_add(1))).unwrap_or(name);
        out.push(Note { name, kind, desc });
        off = next;
    }
    (out, None)
}

/// Decodes `NT_PRSTATUS` (`struct elf_prstatus`: on every 64-bit linux the
/// register block `pr_reg` starts 112 bytes in; its layout is the architecture's).
pub fn parse_prstatus(d: &[u8], arch: &dyn Arch) -> Option<ThreadState> {
    let cursig = u16::from_le_bytes(d.get(12..14)?.try_into().ok()?);
    let lwp = u32_at(d, 32)?;
    let regs = arch.prstatus_regs(d.get(112..)?)?;
    Some(ThreadState { lwp, signal: cursig, regs })
}

/// Decodes `NT_PRPSINFO` (`struct elf_prpsinfo`, the same on amd64 and arm64).
pub fn parse_prpsinfo(d: &[u8]) -> Option<ProcessInfo> {
    let cstr = |b: &[u8]| {
        let text = b.split(|&c| c == 0).next().unwrap_or_default();
        String::from_utf8_lossy(text).trim_end().to_string()
    };
    Some(ProcessInfo { pid: u32_at(d, 24)?, fname: cstr(d.get(40..56)?), psargs: cstr(d.get(56..136)?) })
}

/// The fields of a `siginfo_t` gotopsy reads (the same on amd64 and arm64).
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SigInfo {
    /// `si_signo`.
    pub signo: i32,
    /// `si_code`: `SI_USER` (0), `SI_TKILL` (-6), `SI_KERNEL` (0x80), or a fault's code.
    pub code: i32,
    /// `si_pid` (meaningful for signals a process sent).
    pub pid: i32,
    /// `si_uid`.
    pub uid: u32,
}

/// Decodes a `siginfo_t` (`NT_SIGINFO`, or one in a signal frame).
pub fn parse_siginfo(d: &[u8]) -> Option<SigInfo> {
    let i = |o: usize| u32_at(d, o).map(|v| v as i32);
    Some(SigInfo { signo: i(0)?, code: i(8)?, pid: i(16)?, uid: u32_at(d, 20)? })
}

/// Decodes `NT_AUXV` into (key, value) pairs up to `AT_NULL`.
pub fn parse_auxv(d: &[u8]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    for pair in d.chunks_exact(16) {
        let (Some(k), Some(v)) = (u64_at(pair, 0), u64_at(pair, 8)) else { break };
        if k == 0 {
            break;
        }
        out.push((k, v));
    }
    out
}

/// Decodes `NT_FILE`.
pub fn parse_nt_file(d: &[u8]) -> Vec<FileMapping> {
    let (Some(count), Some(page)) = (u64_at(d, 0), u64_at(d, 8)) else { return Vec::new() };
    // Each entry takes 24 bytes; a count the note cannot hold is a lie.
    if count > (d.len() as u64) / 24 {
        return Vec::new();
    }
    let count = count as usize;
    // count ≤ len / 24: the products below stay within the note.
    let mut names = d.get(count.saturating_mul(24).saturating_add(16)..).unwrap_or(&[]).split(|&b| b == 0);
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let e = i.saturating_mul(24).saturating_add(16);
        let (Some(start), Some(end), Some(pgoff)) =
            (u64_at(d, e), u64_at(d, e.saturating_add(8)), u64_at(d, e.saturating_add(16)))
        else {
            break;
        };
        let path = names.next().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default();
        out.push(FileMapping {
            range: AddrRange::new(Addr(start), Addr(end)),
            file_offset: pgoff.saturating_mul(page),
            path,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(name: &[u8], kind: u32, desc: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&(name.len() as u32 + 1).to_le_bytes());
        v.extend_from_slice(&(desc.len() as u32).to_le_bytes());
        v.extend_from_slice(&kind.to_le_bytes());
        v.extend_from_slice(name);
        v.push(0);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v.extend_from_slice(desc);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    #[test]
    fn parses_prstatus_and_auxv() {
        let mut pr = vec![0u8; 336];
        pr[12..14].copy_from_slice(&6u16.to_le_bytes());
        pr[32..36].copy_from_slice(&4242u32.to_le_bytes());
        pr[112 + 16 * 8..112 + 17 * 8].copy_from_slice(&0x401000u64.to_le_bytes());
        pr[112 + 19 * 8..112 + 20 * 8].copy_from_slice(&0xc000100000u64.to_le_bytes());
        let mut aux = Vec::new();
        for (k, v) in [(AT_ENTRY, 0x401000u64), (0, 0)] {
            aux.extend_from_slice(&k.to_le_bytes());
            aux.extend_from_slice(&v.to_le_bytes());
        }
        let mut seg = note(b"CORE", NT_PRSTATUS, &pr);
        seg.extend(note(b"CORE", NT_AUXV, &aux));
        let (notes, err) = parse_notes(&seg);
        assert!(err.is_none());
        assert_eq!(notes.len(), 2);
        assert_eq!(notes[0].name, b"CORE");
        let t = parse_prstatus(notes[0].desc, &crate::arch::AMD64).unwrap();
        assert_eq!((t.lwp, t.signal, t.regs.pc, t.regs.sp), (4242, 6, 0x401000, 0xc000100000));
        assert_eq!(parse_auxv(notes[1].desc), vec![(AT_ENTRY, 0x401000)]);
    }

    #[test]
    fn malformed_notes_do_not_panic() {
        let mut seg = note(b"CORE", NT_PRSTATUS, &[0u8; 8]);
        seg[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        let (notes, err) = parse_notes(&seg);
        assert!(notes.is_empty() && err.is_some());
        assert!(parse_prstatus(&[0u8; 100], &crate::arch::AMD64).is_none());
        assert!(parse_prstatus(&[0u8; 336], &crate::arch::ARM64).is_none(), "arm64's block is 392 bytes");
        let mut f = Vec::new();
        f.extend_from_slice(&u64::MAX.to_le_bytes());
        f.extend_from_slice(&4096u64.to_le_bytes());
        assert!(parse_nt_file(&f).is_empty());
    }

    #[test]
    fn parses_nt_file() {
        let mut d = Vec::new();
        for w in [1u64, 4096, 0x400000, 0x401000, 2] {
            d.extend_from_slice(&w.to_le_bytes());
        }
        d.extend_from_slice(b"/srv/app\0");
        let m = parse_nt_file(&d);
        assert_eq!(m.len(), 1);
        assert_eq!((m[0].range.start, m[0].file_offset, m[0].path.as_str()), (Addr(0x400000), 8192, "/srv/app"));
    }
}
