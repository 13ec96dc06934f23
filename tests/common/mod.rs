//! Fixture access for integration tests: decompresses each committed
//! executable and core once into `target/fixture-cache/` and hands out paths.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

/// Go versions gotopsy supports; each must have at least one fixture variant.
pub const SUPPORTED_GO: &[&str] =
    &["go1.21.13", "go1.22.10", "go1.23.9", "go1.24.11", "go1.25.5", "go1.26.6", "go1.27.3"];

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures_dir() -> PathBuf {
    root().join("fixtures")
}

/// Variant directories (`go1.21.13`, `go1.27.3-pie`, …), sorted: every one
/// with a core (`go1.26.6-stripped` has only the trace program's).
pub fn variants() -> Vec<String> {
    let has_core = |d: &Path| {
        fs::read_dir(d)
            .is_ok_and(|mut r| r.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".core.zst"))))
    };
    let mut v: Vec<String> = fs::read_dir(fixtures_dir())
        .expect("fixtures/ exists")
        .filter_map(|e| e.ok())
        .filter(|e| has_core(&e.path()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Scenarios of a variant (names of `*.core.zst`).
pub fn scenarios(variant: &str) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(fixtures_dir().join(variant))
        .expect("variant dir")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_string_lossy().strip_suffix(".core.zst").map(str::to_string))
        .collect();
    v.sort();
    v
}

fn decompress(src: &Path, dst: &Path) -> PathBuf {
    // Decompress again when the fixture is newer than the cached copy (regenerated).
    let mtime = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    let fresh = matches!((mtime(src), mtime(dst)), (Some(s), Some(d)) if d >= s);
    if !fresh {
        fs::create_dir_all(dst.parent().unwrap()).unwrap();
        let data = zstd::decode_all(fs::File::open(src).unwrap()).unwrap();
        // Write under a name unique to this process and call, then rename:
        // tests run in parallel, in processes and in threads.
        static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = dst.with_extension(format!("tmp{}-{n}", std::process::id()));
        fs::write(&tmp, data).unwrap();
        fs::rename(&tmp, dst).unwrap();
    }
    dst.to_path_buf()
}

fn cache() -> PathBuf {
    root().join("target").join("fixture-cache")
}

/// The crashzoo scenario a fixture ran: `kernel-64k-fatal` and `kernel-fatal`
/// (runs under an arm64 kernel, fixtures/generate-arm64-kernel.sh) ran `fatal`.
pub fn crashzoo_scenario(fixture: &str) -> &str {
    let s = fixture.strip_prefix("kernel-").unwrap_or(fixture);
    s.strip_prefix("64k-").unwrap_or(s)
}

/// True when the variant has that scenario (some variants run only a subset).
pub fn has(variant: &str, scenario: &str) -> bool {
    fixtures_dir().join(variant).join(format!("{scenario}.core.zst")).exists()
}

/// The decompressed executable of a variant.
pub fn exe(variant: &str) -> PathBuf {
    decompress(&fixtures_dir().join(variant).join("crashzoo.zst"), &cache().join(variant).join("crashzoo"))
}

/// The executable a scenario runs: `crashcgo` for `cgo`, else `crashzoo`.
pub fn exe_for(variant: &str, scenario: &str) -> PathBuf {
    let prog = match scenario {
        "cgo" => "crashcgo",
        "tracemapwrites" | "tracestartonly" => "crashtrace",
        "iterfuncs" => "crashiter",
        "sigquit" | "sigabrt" | "snapshot" => "crashhang",
        _ => "crashzoo",
    };
    decompress(&fixtures_dir().join(variant).join(format!("{prog}.zst")), &cache().join(variant).join(prog))
}

/// The decompressed core of a scenario.
pub fn core(variant: &str, scenario: &str) -> PathBuf {
    decompress(
        &fixtures_dir().join(variant).join(format!("{scenario}.core.zst")),
        &cache().join(variant).join(format!("{scenario}.core")),
    )
}

/// The compressed core (gotopsy opens it directly too).
pub fn core_zst(variant: &str, scenario: &str) -> PathBuf {
    fixtures_dir().join(variant).join(format!("{scenario}.core.zst"))
}

/// What the runtime printed as it died.
pub fn printed(variant: &str, scenario: &str) -> String {
    let path = fixtures_dir().join(variant).join(format!("{scenario}.txt.zst"));
    let bytes = zstd::decode_all(fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap();
    String::from_utf8(bytes).unwrap()
}

/// Variants built with DWARF and a symbol table (all but the `-stripped`
/// ones, linked with `-ldflags="-s -w"`), for tests that compare against them.
pub fn variants_with_dwarf() -> Vec<String> {
    variants().into_iter().filter(|v| !v.ends_with("-stripped")).collect()
}

/// Variants that run only some scenarios (fixtures/generate.sh's `variant_scenarios`).
pub fn subset(variant: &str) -> Option<&'static [&'static str]> {
    const ARM64: &[&str] = &["zoo", "nilderef", "fatal", "preempt", "mapiterwrite", "mapreadwrite", "mapstale"];
    match variant {
        "go1.27.3-mapsplitgroup" => {
            Some(&["mapiterwrite", "mapstale", "mapinsertrange", "mapstack", "mapbig", "mapreflect"])
        }
        "go1.21.13-arm64" | "go1.24.11-arm64" | "go1.24.11-noswissmap-arm64" => Some(ARM64),
        "go1.27.3-stripped" => Some(&["zoo", "mapiterwrite"]),
        "go1.21.13-stripped" | "go1.25.5-noswissmap-stripped" => Some(&["mapiterwrite"]),
        // The trace program alone (a -s -w build's flight recorder).
        "go1.26.6-stripped" => Some(&["tracemapwrites"]),
        _ => None,
    }
}

/// Goroutines the runtime printed inside its map functions (the one that threw included).
pub fn printed_in_map_code(variant: &str, scenario: &str) -> std::collections::BTreeSet<u64> {
    let tb = gotopsy::crashlog::parse(&printed(variant, scenario));
    let map_fn = |f: &str| {
        f.starts_with("runtime.mapassign")
            || f.starts_with("runtime.mapaccess")
            || f.starts_with("runtime.mapiter")
            || f.starts_with("runtime.mapdelete")
            || f.starts_with("internal/runtime/maps.")
    };
    tb.goroutines.iter().filter(|g| g.frames.iter().any(|f| map_fn(&f.function))).map(|g| g.id).collect()
}

/// A copy of `exe` without DWARF, as `-ldflags=-w` or `objcopy --strip-debug`
/// leaves it for every reader: its `.debug_*` sections renamed in the section
/// name table (`.xdbug_*`), nothing else changed (so the core still matches).
pub fn without_dwarf(exe: &std::path::Path) -> PathBuf {
    let out = exe.with_extension("nodwarf");
    if out.exists() {
        return out;
    }
    let b = hide_dwarf(fs::read(exe).unwrap(), exe);
    let tmp = out.with_extension("nodwarf.tmp");
    fs::write(&tmp, &b).unwrap();
    fs::rename(&tmp, &out).unwrap();
    out
}

/// The section headers of a 64-bit ELF file: (offset of each header, its type).
fn section_headers(b: &[u8]) -> Vec<usize> {
    let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap()) as usize;
    let (shoff, shentsize, shnum) = (u64_at(0x28), u16_at(0x3a), u16_at(0x3c));
    (0..shnum).map(|i| shoff + i * shentsize).collect()
}

/// `exe`'s bytes with its symbol table gone for every reader (`SHT_SYMTAB`
/// sections made `SHT_NULL`) and its DWARF hidden: what `objcopy
/// --strip-all` leaves, where no objcopy for the file's machine is installed.
fn strip_in_place(b: Vec<u8>, exe: &std::path::Path) -> Vec<u8> {
    let mut b = hide_dwarf(b, exe);
    let mut tables = 0;
    for h in section_headers(&b) {
        if b[h + 4..h + 8] == 2u32.to_le_bytes() {
            b[h + 4..h + 8].copy_from_slice(&0u32.to_le_bytes());
            tables += 1;
        }
    }
    assert!(tables >= 1, "{}: no symbol table to strip", exe.display());
    b
}

fn hide_dwarf(mut b: Vec<u8>, exe: &std::path::Path) -> Vec<u8> {
    let u16_at = |b: &[u8], o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as usize;
    let u64_at = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap()) as usize;
    assert_eq!(&b[..5], b"\x7fELF\x02", "{}: not a 64-bit ELF", exe.display());
    let (shoff, shentsize, shstrndx) = (u64_at(&b, 0x28), u16_at(&b, 0x3a), u16_at(&b, 0x3e));
    let hdr = shoff + shstrndx * shentsize;
    let (off, size) = (u64_at(&b, hdr + 0x18), u64_at(&b, hdr + 0x20));
    let mut renamed = 0;
    for i in off..off + size - 7 {
        if &b[i..i + 7] == b".debug_" {
            b[i..i + 7].copy_from_slice(b".xdbug_");
            renamed += 1;
        }
    }
    assert!(renamed >= 3, "{}: only {renamed} DWARF sections", exe.display());
    b
}

/// A copy of `exe` without its symbol table and DWARF, made by `objcopy
/// --strip-all` (binutils; `aarch64-linux-gnu-objcopy` for arm64 builds;
/// `.ci/run` installs both when missing; without them, [`strip_in_place`]),
/// as `-ldflags="-s -w"` builds come.
pub fn stripped(exe: &std::path::Path) -> PathBuf {
    let out = exe.with_extension("stripped");
    if out.exists() {
        return out;
    }
    let head = fs::read(exe).unwrap();
    // e_machine 183: EM_AARCH64.
    let tool = if head.get(18..20) == Some(&[183, 0]) { "aarch64-linux-gnu-objcopy" } else { "objcopy" };
    let tmp = exe.with_extension(format!("stripped.{}", std::process::id()));
    match std::process::Command::new(tool).arg("--strip-all").arg(exe).arg(&tmp).status() {
        Ok(status) => assert!(status.success(), "{tool} --strip-all {} failed", exe.display()),
        // No objcopy for this machine (a fresh host without binutils-aarch64-linux-gnu):
        // the same effect for every reader, made here.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("{tool} not installed: stripping {} in place of it", exe.display());
            fs::write(&tmp, strip_in_place(head, exe)).unwrap();
        }
        Err(e) => panic!("{tool}: {e}"),
    }
    fs::rename(&tmp, &out).unwrap();
    out
}
