//! Criterion benchmarks of `analyze`'s phases.
//!
//! The 100,000-goroutine core is generated, not committed:
//! `benches/make-bench-core.sh` writes it to `target/bench/`. Without it, only
//! the committed fixture core is benchmarked.

use criterion::{criterion_group, criterion_main, Criterion};
use gotopsy::runtime::goroutines::{read_goroutines, ReadOptions};
use gotopsy::runtime::{OpenOptions, Process};
use std::path::{Path, PathBuf};

fn fixture(variant: &str, scenario: &str) -> (PathBuf, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    (
        root.join(format!("fixtures/{variant}/{scenario}.core.zst")),
        root.join(format!("fixtures/{variant}/crashzoo.zst")),
    )
}

fn bench_core(c: &mut Criterion, name: &str, core: &Path, exe: &Path, samples: usize) {
    let opts = OpenOptions { exe: Some(exe.to_path_buf()), force: false, ignore_dwarf: false, symbols: None };
    let mut g = c.benchmark_group(name);
    g.sample_size(samples);
    let p = match Process::open(core, &opts) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("skipping {name}: {e}");
            return;
        }
    };
    g.bench_function("open", |b| b.iter(|| Process::open(core, &opts).map(|p| p.pclntab.len())));
    g.bench_function("read_goroutines", |b| {
        b.iter(|| read_goroutines(&p, ReadOptions::default()).map(|g| g.list.len()))
    });
    g.bench_function("analyze_json", |b| {
        b.iter(|| {
            let a = gotopsy::analyze(&p, &Default::default(), &gotopsy::model::NoProgress).expect("analysis");
            a.write_json(&mut std::io::sink()).expect("json");
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    let (core, exe) = fixture("go1.27.3", "zoo");
    bench_core(c, "fixture_zoo_go1.27", &core, &exe, 20);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    let (core, exe) = (root.join("bench100k.core"), root.join("bench100k"));
    if core.exists() {
        bench_core(c, "bench100k", &core, &exe, 10);
    } else {
        eprintln!("skipping bench100k: run benches/make-bench-core.sh first");
    }
}

criterion_group!(all, benches);
criterion_main!(all);
