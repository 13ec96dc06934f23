//! The fuzz targets (`fuzz/targets.rs`) over every committed corpus input and
//! regression (`fuzz/corpus/<target>/`, `fuzz/regressions/<target>/`), on the
//! stable toolchain: a smoke run of each target in CI, and every crash the
//! fuzzer ever found kept as a test. The fuzzing itself: `docs/security.md`.

#[path = "../fuzz/targets.rs"]
mod targets;

mod common;

fn run(target: &str, f: fn(&[u8])) {
    let mut n = 0;
    for dir in ["corpus", "regressions"] {
        let d = common::root().join("fuzz").join(dir).join(target);
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd {
            let p = e.unwrap().path();
            let data = std::fs::read(&p).unwrap();
            f(&data);
            // Cut short and bit-flipped, as the fuzzer would start.
            for cut in [0, 1, data.len() / 3, data.len() / 2] {
                f(&data[..cut.min(data.len())]);
            }
            let mut flipped = data.clone();
            for i in (0..flipped.len()).step_by(97) {
                flipped[i] ^= 0x5a;
            }
            f(&flipped);
            n += 1;
        }
    }
    assert!(n >= 2, "fuzz/corpus/{target}: {n} inputs (the corpus is committed with the fuzz targets)");
}

#[test]
fn core_file() {
    run("core_file", targets::core_file);
}

#[test]
fn build_info() {
    run("build_info", targets::build_info);
}

#[test]
fn trace() {
    run("trace", targets::trace);
}

/// The fuzzer's slow unit: a 16 KB Go 1.21 trace naming a goroutine id near
/// 4 million made the reader allocate a 1.2 GB table (0.7 s); now a map entry.
#[test]
fn a_huge_goroutine_id_costs_no_table_that_size() {
    let data = std::fs::read(common::root().join("fuzz/regressions/trace/v1-huge-goroutine-id")).unwrap();
    let before = peak_rss_kb();
    targets::trace(&data);
    let grew = peak_rss_kb().saturating_sub(before);
    assert!(grew < 256 << 10, "peak RSS grew by {grew} KB reading a {} byte trace", data.len());
}

/// This process's peak resident set (`VmHWM`), in KB.
fn peak_rss_kb() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.split_whitespace().next()?.parse().ok()).unwrap()
}

#[test]
fn crash_log() {
    run("crash_log", targets::crash_log);
}

#[test]
fn saved_report() {
    run("saved_report", targets::saved_report);
}

#[test]
fn walkers() {
    run("walkers", targets::walkers);
}

/// The walkers' target damages the core it says it does: zeroing 1 KiB
/// around every anchor changes the report and is warned of.
#[test]
fn the_walkers_target_damages_the_core() {
    let json = |a: &gotopsy::Analysis| {
        let mut v = Vec::new();
        a.write_json(&mut v).unwrap();
        v
    };
    for pick in [0u8, 1, 4] {
        let whole = targets::damaged(&[pick]).expect("the undamaged core is analyzed");
        let mut input = vec![pick];
        for anchor in 0..=255u8 {
            for off in [0u16, 255, 510, 765] {
                input.extend([anchor, (1024 + off) as u8, ((1024 + off) >> 8) as u8, 255]);
                input.extend([0u8; 255]);
            }
        }
        let hit = targets::damaged(&input).expect("the damaged core gives a report");
        assert_ne!(json(&whole), json(&hit), "base {pick}: zeroing every anchor changed nothing");
        assert!(hit.warnings.len() > whole.warnings.len(), "base {pick}: no warning of the damage");
    }
}

#[test]
fn pclntab() {
    run("pclntab", targets::pclntab);
}

/// The pclntab target reads the real tables, and its damage reaches them: a
/// pcHeader whose magic is overwritten is refused.
#[test]
fn the_pclntab_target_reads_the_tables_it_damages() {
    for pick in [0u8, 1] {
        let whole = targets::pclntab_funcs(&[pick, 0, 0, 0, 0, 0, 0, 0, 0]).expect("the undamaged tables are read");
        assert!(whole > 1000, "base {pick}: only {whole} functions");
        let no_magic = [pick, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0];
        assert_eq!(targets::pclntab_funcs(&no_magic), None, "base {pick}: a pcHeader without its magic was read");
    }
}

#[test]
fn dwarf() {
    run("dwarf", targets::dwarf);
}

/// The dwarf target's seeds are real DWARF: the index built from them holds
/// the names of the units cut from the fixtures.
#[test]
fn the_dwarf_seeds_index_real_units() {
    for seed in ["go1.21.13-main", "go1.27.3-main"] {
        let data = std::fs::read(common::root().join("fuzz/corpus/dwarf").join(seed)).unwrap();
        let n = targets::dwarf_names(&data).expect("the seed's sections are indexed");
        assert!(n > 20, "{seed}: only {n} names indexed");
    }
}

/// A unit whose line program is cut off is left out of the DWARF index, not
/// the whole index: the other units' names stay, and the damage is told.
#[test]
fn a_damaged_dwarf_unit_loses_only_itself() {
    let data = std::fs::read(common::root().join("fuzz/corpus/dwarf/go1.27.3-first")).unwrap();
    let mut parts = targets::dwarf_sections(&data);
    let index = targets::dwarf_index;
    let whole = index(&parts).unwrap();
    assert!(whole.damage().is_none());
    let line = targets::DWARF_SECTIONS.iter().position(|s| *s == ".debug_line").unwrap();
    let keep = parts[line].len() * 3 / 4;
    parts[line].truncate(keep);
    let cut = index(&parts).expect("the units before the cut are indexed");
    let (n, first) = cut.damage().expect("the damage is told");
    assert!(n >= 1 && first.contains("DWARF unit"), "{n}: {first}");
    assert!(!cut.is_empty() && cut.len() < whole.len(), "{} of {} names", cut.len(), whole.len());
}

/// The traced base's trace is recovered from the undamaged core, and read.
#[test]
fn the_walkers_traced_base_holds_a_trace() {
    let (_, trace) = targets::damaged_with_trace(&[4]).expect("the traced core is analyzed");
    let t = trace.expect("the flight recorder's trace is recovered");
    let summary = gotopsy::trace::read(&t.bytes).expect("the recovered trace reads");
    assert!(!summary.goroutines.is_empty(), "no goroutine in the recovered trace");
}
