//! Every fixture's goroutines must equal the runtime's own `GOTRACEBACK=crash`
//! traceback: same ids, statuses, frames (print name, file, line), elision and
//! `created by`. For goroutines the runtime printed as running, its frames must
//! be the outermost of ours (ours add the crash machinery on top).

mod common;

use gotopsy::crashlog::{self, PrintedGoroutine};
use gotopsy::runtime::goroutines::{read_goroutines, Goroutine, ReadOptions};
use gotopsy::runtime::{crash, OpenOptions, Process};

/// (call with arguments, file, line, `+off fp sp pc` for physical frames).
type Key = (String, String, u32, Option<(u64, u64, u64, u64)>);

fn ours_keys(g: &Goroutine) -> Vec<Key> {
    g.frames
        .iter()
        .map(|f| {
            let regs = (!f.inlined).then_some((f.pc.0 - f.entry.0, f.fp.0, f.sp.0, f.pc.0));
            (format!("{}({})", f.print_name(), f.args), f.file.to_string(), f.line as u32, regs)
        })
        .collect()
}

fn printed_keys(t: &PrintedGoroutine) -> Vec<Key> {
    t.frames
        .iter()
        .map(|f| {
            let regs = f.pc.map(|pc| (f.offset.unwrap_or(0), f.fp.unwrap_or(0), f.sp.unwrap_or(0), pc));
            (format!("{}({})", f.function, f.args), f.file.clone(), f.line, regs)
        })
        .collect()
}

/// Compares one goroutine; returns a description of the first difference.
fn compare(t: &PrintedGoroutine, g: &Goroutine) -> Result<(), String> {
    if *t.status() != *g.status {
        return Err(format!("status: printed {:?}, ours {:?}", t.status(), g.status));
    }
    if let Some(c) = &t.created_by {
        let ours = g.created_by.as_ref().ok_or("created_by missing")?;
        let o = (
            gotopsy::runtime::symbolize::print_name(&ours.function).into_owned(),
            ours.file.to_string(),
            ours.line as u32,
            ours.goroutine,
        );
        let p = (c.function.clone(), c.file.clone(), c.line, c.goroutine.unwrap_or(0));
        if o != p {
            return Err(format!("created by: printed {p:?}, ours {o:?}"));
        }
    }
    let ours = ours_keys(g);
    let printed = printed_keys(t);
    if t.running_elsewhere {
        return if ours.is_empty() {
            Err(format!("running on another thread but no frames: {:?}", g.stack_error))
        } else {
            Ok(())
        };
    }
    if t.status() == "running" {
        // The printed stack is the outermost part of ours.
        if ours.len() < printed.len() || ours[ours.len() - printed.len()..] != printed[..] {
            return Err(format!("running stack: printed {printed:#?}\nours {ours:#?}"));
        }
        return Ok(());
    }
    match t.elided {
        None => {
            if ours != printed {
                return Err(format!("frames: printed {printed:#?}\nours {ours:#?} (error {:?})", g.stack_error));
            }
        }
        Some((at, n)) => {
            let tail = printed.len() - at;
            if ours.len() != printed.len() + n as usize {
                return Err(format!("elided stack: printed {} + {n} elided, ours {}", printed.len(), ours.len()));
            }
            if ours[..at] != printed[..at] || ours[ours.len() - tail..] != printed[at..] {
                return Err("elided stack: frames differ".into());
            }
        }
    }
    Ok(())
}

#[test]
fn every_supported_go_version_has_a_fixture() {
    let variants = common::variants();
    for v in common::SUPPORTED_GO {
        assert!(variants.iter().any(|x| x == v || x.starts_with(&format!("{v}-"))), "no fixture for {v}");
    }
}

#[test]
fn cgo_fixtures_exist() {
    for v in ["go1.21.13", "go1.27.3"] {
        assert!(common::scenarios(v).iter().any(|s| s == "cgo"), "no cgo fixture for {v}");
    }
}

#[test]
fn goroutines_equal_the_runtime_traceback() {
    oracle(false);
}

/// The same on copies of every fixture's executables stripped of their
/// symbol table and DWARF (`objcopy --strip-all`, as `-ldflags="-s -w"`
/// builds come): the module data, `allm`, `allgs`, `mheap_` and `sched` are
/// found by what they hold (`src/runtime/stripped.rs`).
#[test]
fn stripped_executables_give_the_runtime_traceback() {
    oracle(true);
}

fn oracle(stripped: bool) {
    let mut failures = Vec::new();
    let mut checked = 0;
    for v in common::variants() {
        // A gcore snapshot has no oracle: the live process printed nothing (tests/signals.rs).
        for sc in common::scenarios(&v).into_iter().filter(|s| s != "snapshot") {
            let exe = common::exe_for(&v, &sc);
            let exe = if stripped { common::stripped(&exe) } else { exe };
            let core = common::core(&v, &sc);
            let p = match Process::open(
                &core,
                &OpenOptions { exe: Some(exe), force: false, ignore_dwarf: false, symbols: None },
            ) {
                Ok(p) => p,
                Err(e) => {
                    failures.push(format!("{v}/{sc}: open: {e}"));
                    continue;
                }
            };
            if stripped {
                // What was found by content is where the symbol table says it is.
                let unstripped = gotopsy::exe::Executable::open(&common::exe_for(&v, &sc)).unwrap();
                for name in
                    ["runtime.firstmoduledata", "runtime.allgs", "runtime.allm", "runtime.mheap_", "runtime.sched"]
                {
                    let want = unstripped.symbol(name).map(|(a, _)| a.add(p.bias));
                    let got = p.found_globals.iter().find(|(n, _)| *n == name).map(|&(_, a)| a);
                    // A build linked with -s -w has no symbols to check against: found is all we can ask.
                    if got.is_none() || (unstripped.has_symbols() && got != want) {
                        failures.push(format!("{v}/{sc}: {name} found at {got:?}, the symbol table says {want:?}"));
                    }
                }
            }
            let gs = read_goroutines(&p, ReadOptions::default()).expect("goroutines");
            let tb = crashlog::parse(&common::printed(&v, &sc));
            let mut ours: Vec<u64> = gs.list.iter().map(|g| g.id).collect();
            let mut theirs: Vec<u64> = tb.goroutines.iter().map(|g| g.id).collect();
            ours.sort();
            theirs.sort();
            if ours != theirs {
                failures.push(format!("{v}/{sc}: goroutine ids: printed {theirs:?}, ours {ours:?}"));
            }
            for t in &tb.goroutines {
                let Some(g) = gs.list.iter().find(|g| g.id == t.id) else { continue };
                checked += 1;
                if let Err(e) = compare(t, g) {
                    failures.push(format!("{v}/{sc}: goroutine {}: {e}", t.id));
                }
            }
            // The crash as the runtime announced it.
            let c = crash::detect(&p, &gs);
            if let Some(f) = &tb.fatal_error {
                if c.kind != "fatal error" || c.message.as_deref() != Some(f.as_str()) {
                    failures
                        .push(format!("{v}/{sc}: crash: printed fatal error {f:?}, ours {} {:?}", c.kind, c.message));
                }
            } else if let Some(pm) = &tb.panic {
                if c.kind != "panic" || c.message.as_deref() != Some(pm.as_str()) {
                    failures.push(format!("{v}/{sc}: crash: printed panic {pm:?}, ours {} {:?}", c.kind, c.message));
                }
            }
        }
    }
    assert!(checked > 100, "too few goroutines compared: {checked}");
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

/// `gotopsy goroutines` prints a crash as the runtime did: the same first
/// line (`fatal error: …`, `panic: …`), the crashing goroutine first, from
/// the frame the runtime's printout starts at, with the same header, frames,
/// arguments, offsets and fp/sp/pc — on every fixture.
#[test]
fn goroutines_prints_the_crash_as_the_runtime_did() {
    let mut checked = 0;
    for v in common::variants() {
        // A gcore snapshot has no oracle: the live process printed nothing (tests/signals.rs).
        for sc in common::scenarios(&v).into_iter().filter(|s| s != "snapshot") {
            let printed = common::printed(&v, &sc);
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_gotopsy"))
                .args(["goroutines", common::core(&v, &sc).to_str().unwrap()])
                .args(["--exe", common::exe_for(&v, &sc).to_str().unwrap()])
                .output()
                .expect("runs");
            assert_eq!(out.status.code(), Some(0), "{v}/{sc}: {}", String::from_utf8_lossy(&out.stderr));
            let ours = String::from_utf8_lossy(&out.stdout);
            let first = |t: &str| t.lines().next().unwrap_or_default().to_string();
            if printed.starts_with("fatal error: ") || printed.starts_with("panic: ") {
                assert_eq!(first(&ours), first(&printed), "{v}/{sc}: first line");
            }
            let theirs = crashlog::parse(&printed);
            let mine = crashlog::parse(&ours);
            let Some(crashed) = theirs.goroutines.iter().find(|g| {
                g.status_full.starts_with("running")
                    && !g.frames.is_empty()
                    && printed.contains(&format!("\n\ngoroutine {} ", g.id))
                    && printed.find(&format!("goroutine {} ", g.id)) == printed.find("goroutine ")
            }) else {
                continue;
            };
            let ours_first = mine.goroutines.first().unwrap_or_else(|| panic!("{v}/{sc}: no goroutine printed"));
            assert_eq!(ours_first.id, crashed.id, "{v}/{sc}: the crashing goroutine comes first");
            assert_eq!(ours_first.frames, crashed.frames, "{v}/{sc}: goroutine {}", crashed.id);
            assert_eq!(
                (ours_first.gp, &ours_first.m, &ours_first.status_full),
                (crashed.gp, &crashed.m, &crashed.status_full),
                "{v}/{sc}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 60, "{checked} crashes compared");
}

/// The committed fixtures stay within the brief's budget (80 MiB), and the
/// manifest names exactly the cores on disk (a core added or removed by hand,
/// not by fixtures/generate.sh, fails here).
#[test]
fn fixtures_fit_their_budget_and_their_manifest() {
    fn walk(dir: &std::path::Path, total: &mut u64) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            if t.is_dir() {
                walk(&e.path(), total);
            } else if t.is_file() {
                *total += e.metadata().unwrap().len();
            }
        }
    }
    let mut total = 0;
    walk(&common::fixtures_dir(), &mut total);
    assert!(total < 80 * 1024 * 1024, "fixtures take {total} bytes, over 80 MiB");
    let manifest = std::fs::read_to_string(common::fixtures_dir().join("manifest.tsv")).unwrap();
    let mut listed: Vec<String> = manifest
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            format!("{}/{}", f[0], f[4])
        })
        .collect();
    listed.sort();
    let mut on_disk: Vec<String> = common::variants()
        .into_iter()
        .flat_map(|v| common::scenarios(&v).into_iter().map(move |s| format!("{v}/{s}")))
        .collect();
    on_disk.sort();
    assert_eq!(listed, on_disk, "fixtures/manifest.tsv and the cores on disk differ");
}
