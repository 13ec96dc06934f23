//! What a core says without its executable (issue 11, point 6): the
//! process (pid, command line, threads), the signal that stopped it, the Go
//! version and build IDs when the core holds the executable's pages that
//! carry them — everything else (goroutines, stacks, maps) needs the
//! executable's pclntab. The result is an [`Analysis`] like any other, with
//! no goroutines and a `no-executable` warning that says what to pass.

use super::{secrets, Analysis, MapsAnalysis, Target, SCHEMA_VERSION};
use crate::addr::Addr;
use crate::corefile::{notes, CoreFile};
use crate::runtime::crash::{signal_name, Crash, CrashKind};
use crate::warning::{Warning, WarningKind};

/// What the core alone says, in a report made without the executable
/// (`core_alone` in the JSON).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct CoreAlone {
    /// The executable's path as the core records it.
    pub recorded_executable: Option<String>,
    /// The threads (`NT_PRSTATUS`), in the core's order.
    pub threads: Vec<CoreThread>,
    /// The file-backed mappings (`NT_FILE`).
    pub mappings: Vec<CoreMapping>,
}

/// A thread of the core and its registers.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct CoreThread {
    /// The kernel's thread id.
    pub lwp: u32,
    /// The signal that stopped it, if any.
    pub signal: Option<String>,
    /// Program counter.
    pub pc: Addr,
    /// Stack pointer.
    pub sp: Addr,
    /// Frame pointer register.
    pub fp: Addr,
    /// Link register (arm64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr: Option<Addr>,
    /// The register Go keeps `g` in.
    pub g: Addr,
}

/// A file mapped into the process.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct CoreMapping {
    /// First address.
    pub start: Addr,
    /// End address (exclusive).
    pub end: Addr,
    /// Offset in the file.
    pub file_offset: u64,
    /// The file's path when the process died.
    pub path: String,
}

impl CoreAlone {
    fn of(core: &CoreFile) -> CoreAlone {
        CoreAlone {
            recorded_executable: core.recorded_executable(),
            threads: core
                .threads
                .iter()
                .map(|t| CoreThread {
                    lwp: t.lwp,
                    signal: (t.signal != 0).then(|| signal_name(u32::from(t.signal))),
                    pc: Addr(t.regs.pc),
                    sp: Addr(t.regs.sp),
                    fp: Addr(t.regs.fp),
                    lr: t.regs.lr.map(Addr),
                    g: Addr(t.regs.g),
                })
                .collect(),
            mappings: core
                .files
                .iter()
                .map(|f| CoreMapping {
                    start: f.range.start,
                    end: f.range.end,
                    file_offset: f.file_offset,
                    path: f.path.clone(),
                })
                .collect(),
        }
    }
}

/// What `.go.buildinfo` starts with.
const BUILDINFO_MAGIC: &[u8] = b"\xff Go buildinf:";

/// Most bytes of the executable's mappings searched for its build info.
const MAX_SEARCH: u64 = 64 << 20;

/// The analysis of `core` alone; `why` says why there is no executable.
pub fn core_only(core: &CoreFile, why: &str) -> Analysis {
    let ids = build_ids(core);
    let info = build_info(core);
    let crash = Crash {
        signal: crate::runtime::crash::core_signal(core),
        kind: if core.is_snapshot() { CrashKind::Snapshot } else { CrashKind::Signal },
        ..Default::default()
    };
    let mut warnings = vec![Warning::new(
        WarningKind::NoExecutable,
        format!(
            "{why}: only what the core alone says is shown (threads, signal, mappings); goroutines, stacks and maps need the executable: pass it with --exe{}",
            match (&ids.0, &ids.1) {
                (Some(go), _) => format!(" (its Go build ID is {go})"),
                (None, Some(gnu)) => format!(" (its GNU build ID is {gnu})"),
                (None, None) => String::new(),
            }
        ),
    )];
    warnings.extend(core.warnings.iter().cloned());
    Analysis {
        schema_version: SCHEMA_VERSION.to_string(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        target: Target {
            go_version: info.as_ref().map(|b| b.go_version.clone()).unwrap_or_default(),
            goarch: Some(core.arch.goarch().to_string()),
            goexperiment: info.as_ref().and_then(|b| b.goexperiment.clone()),
            main_package: info.as_ref().and_then(|b| b.path.clone()),
            executable: String::new(),
            core: core.path.display().to_string(),
            core_compression: core.compression,
            pie: false,
            load_bias: Addr(0),
            go_build_id: ids.0,
            gnu_build_id: ids.1,
            pid: core.process.as_ref().map(|i| i.pid),
            command: core.process.as_ref().map(|i| secrets::mask_command(&i.psargs)),
            threads: core.threads.len(),
        },
        crash,
        clock_ns: 0,
        goroutines: Vec::new(),
        maps_analysis: MapsAnalysis::Unavailable,
        maps: Vec::new(),
        iterators: Vec::new(),
        findings: Vec::new(),
        dead_iterator_slots: 0,
        trace: None,
        warnings,
        signal_handlers: Vec::new(),
        core_alone: Some(CoreAlone::of(core)),
    }
}

/// The mappings of the executable the core records.
fn exe_mappings(core: &CoreFile) -> Vec<&notes::FileMapping> {
    let Some(rec) = core.recorded_executable() else { return Vec::new() };
    core.files.iter().filter(|f| f.path == rec).collect()
}

/// The Go and GNU build IDs from the notes on the executable's first page,
/// when the core holds that page (the kernel dumps the first page of ELF
/// mappings by default; qemu-user does not).
fn build_ids(core: &CoreFile) -> (Option<String>, Option<String>) {
    let (mut go, mut gnu) = (None, None);
    let Some(first) = exe_mappings(core).into_iter().find(|f| f.file_offset == 0) else { return (go, gnu) };
    let Some(page) = core.bytes_at(first.range.start, 4096) else { return (go, gnu) };
    let u16_at = |o: usize| page.get(o..o.saturating_add(2)).and_then(|b| b.try_into().ok()).map(u16::from_le_bytes);
    let u64_at = |o: usize| page.get(o..o.saturating_add(8)).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes);
    if !page.starts_with(b"\x7fELF") {
        return (go, gnu);
    }
    let (Some(phoff), Some(size), Some(n)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38)) else { return (go, gnu) };
    for i in 0..usize::from(n).min(64) {
        let Some(at) = usize::try_from(phoff).ok().and_then(|o| o.checked_add(i.checked_mul(usize::from(size))?))
        else {
            break;
        };
        let kind = page.get(at..at.saturating_add(4)).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes);
        let (Some(4), Some(off), Some(len)) = (kind, u64_at(at.saturating_add(8)), u64_at(at.saturating_add(32)))
        else {
            continue;
        };
        let Some(bytes) =
            usize::try_from(off).ok().zip(usize::try_from(len).ok()).and_then(|(o, l)| page.get(o..o.checked_add(l)?))
        else {
            continue;
        };
        for note in notes::parse_notes(bytes).0 {
            match (note.name, note.kind) {
                (b"Go", 4) => go = Some(String::from_utf8_lossy(note.desc).into_owned()),
                (b"GNU", 3) => gnu = Some(note.desc.iter().map(|b| format!("{b:02x}")).collect()),
                _ => {}
            }
        }
    }
    (go, gnu)
}

/// The build info (`.go.buildinfo`), searched for on 16-byte boundaries in
/// the core's copies of the executable's mappings (its data segment is
/// written, so the kernel dumps it).
fn build_info(core: &CoreFile) -> Option<crate::exe::buildinfo::BuildInfo> {
    build_info_within(core, MAX_SEARCH)
}

/// Where the build info is searched for: the executable's mappings, or
/// without file mappings (qemu-user cores have no NT_FILE) the segments in address order.
fn search_ranges(core: &CoreFile) -> Vec<crate::addr::AddrRange> {
    let ranges: Vec<crate::addr::AddrRange> = exe_mappings(core).iter().map(|f| f.range).collect();
    if ranges.is_empty() {
        core.segments.iter().map(|s| s.range).collect()
    } else {
        ranges
    }
}

/// [`build_info`] searching at most `max` bytes.
fn build_info_within(core: &CoreFile, max: u64) -> Option<crate::exe::buildinfo::BuildInfo> {
    let mut searched = 0u64;
    for range in search_ranges(core) {
        let mut at = range.start;
        while at < range.end && searched < max {
            // The bound holds within one readable run too (a segment may be gigabytes).
            let want = range.end.0.saturating_sub(at.0).min(max.saturating_sub(searched));
            let Some(bytes) = core.bytes_at(at, want) else { break };
            if bytes.is_empty() {
                break;
            }
            if let Some(i) =
                (0..bytes.len()).step_by(16).find(|&i| bytes.get(i..).is_some_and(|b| b.starts_with(BUILDINFO_MAGIC)))
            {
                return bytes.get(i..).and_then(crate::exe::buildinfo::parse);
            }
            searched = searched.saturating_add(bytes.len() as u64);
            at = at.add(bytes.len() as u64);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn the_build_info_search_keeps_its_bound_inside_one_mapping() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/go1.27.3/fatal.core.zst");
        assert!(path.exists(), "the fixture {} is missing", path.display());
        let core = CoreFile::open(&path).unwrap();
        let found = build_info_within(&core, MAX_SEARCH).expect("the core holds its build info");
        assert_eq!(found.go_version, "go1.27.3");
        // Where it lies, counted as the search counts: bytes of the mappings before it.
        let mut before = 0u64;
        'outer: for range in search_ranges(&core) {
            let mut at = range.start;
            while at < range.end {
                let Some(bytes) = core.bytes_at(at, range.end.0 - at.0) else { break };
                if let Some(i) = bytes.windows(BUILDINFO_MAGIC.len()).position(|w| w == BUILDINFO_MAGIC) {
                    before += i as u64;
                    break 'outer;
                }
                before += bytes.len() as u64;
                at = at.add(bytes.len() as u64);
            }
        }
        // A bound that ends inside the magic stops the search, though the rest of that mapping is readable.
        assert!(build_info_within(&core, before + 8).is_none(), "the bound is not kept ({before} bytes before it)");
        assert!(build_info_within(&core, before + 4096).is_some());
    }
}
