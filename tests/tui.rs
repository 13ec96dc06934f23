//! The terminal UI: key handling on the app state (no terminal), every view
//! drawn on ratatui's TestBackend (snapshots) for three builds, and the real
//! binary in tmux.

mod common;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use gotopsy::model::{Analysis, AnalyzeOptions, NoProgress};
use gotopsy::runtime::decode::{Inspector, Shown};
use gotopsy::runtime::{OpenOptions, Process};
use gotopsy::tui::app::{Action, App, View};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::sync::Arc;

fn analysis(v: &str, s: &str) -> Arc<Analysis> {
    let opts = OpenOptions { exe: Some(common::exe_for(v, s)), ..Default::default() };
    let p = Process::open(&common::core(v, s), &opts).expect("opens");
    let mut a = gotopsy::analyze(&p, &AnalyzeOptions::default(), &NoProgress).expect("analyzes");
    a.target.core = format!("fixtures/{v}/{s}.core.zst");
    a.target.executable = format!("fixtures/{v}/crashzoo.zst");
    Arc::new(a)
}

/// The UI over a core, its memory readable as `gotopsy tui CORE` has it.
fn app_for(v: &str, s: &str, a: Arc<Analysis>, show_values: bool) -> App {
    let opts = OpenOptions { exe: Some(common::exe_for(v, s)), ..Default::default() };
    let p = Process::open(&common::core(v, s), &opts).expect("opens");
    let mut app = App::with_analysis(a);
    app.inspector = Some(Arc::new(Inspector::new(Arc::new(p), show_values)));
    app
}

fn key(app: &mut App, c: KeyCode) -> Action {
    app.key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn typed(app: &mut App, s: &str) {
    for c in s.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn screen(app: &mut App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| gotopsy::tui::ui::draw(f, app)).unwrap();
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

#[test]
fn keys_walk_from_the_crash_to_the_racing_goroutines() {
    let a = analysis("go1.27.3", "mapiterwrite");
    let mut app = App::with_analysis(a.clone());
    assert_eq!(app.view, View::Overview);
    // The overview's first link is the crashing goroutine, then the writer.
    let crashed = a.crash.goroutine.unwrap();
    assert_eq!(app.overview_links()[0].goroutine, crashed);
    let writer = a.findings[0].goroutines.iter().find(|r| r.role == "writer").unwrap().id;
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view, View::Stack);
    assert_eq!(app.stack_of.and_then(|i| app.goroutine(i)).map(|g| g.id), Some(writer));
    // Enter on `created by` opens the parent; Esc comes back.
    key(&mut app, KeyCode::Char('G'));
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.stack_of.and_then(|i| app.goroutine(i)).map(|g| g.id), Some(1));
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.stack_of.and_then(|i| app.goroutine(i)).map(|g| g.id), Some(writer));
    // `y` copies the stack in the runtime's format.
    match key(&mut app, KeyCode::Char('y')) {
        Action::Copy(t) => assert!(t.starts_with(&format!("goroutine {writer} ")), "{t}"),
        other => panic!("y gave {other:?}"),
    }
    // Tab cycles; from the overview it goes to Goroutines.
    key(&mut app, KeyCode::Char('1'));
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.view, View::Goroutines);
    key(&mut app, KeyCode::BackTab);
    assert_eq!(app.view, View::Overview);
    // The filter: every key is text while typing (q too), applied as typed; Esc clears it.
    key(&mut app, KeyCode::Char('2'));
    let all = app.rows.len();
    key(&mut app, KeyCode::Char('/'));
    typed(&mut app, "fn:iterateAll");
    assert!(app.typing);
    assert_eq!(app.rows.len(), 1);
    key(&mut app, KeyCode::Enter);
    assert!(!app.typing);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.stack_of.and_then(|i| app.goroutine(i)).map(|g| g.id), Some(crashed));
    key(&mut app, KeyCode::Char('2'));
    key(&mut app, KeyCode::Char('/'));
    key(&mut app, KeyCode::Char('q'));
    assert_eq!(app.filter, "fn:iterateAllq", "q is text while typing");
    key(&mut app, KeyCode::Esc);
    assert!(app.filter.is_empty() && !app.typing);
    assert_eq!(app.rows.len(), all);
    // id: and state: narrow; b toggles flat and grouped.
    key(&mut app, KeyCode::Char('b'));
    assert!(!app.grouped);
    assert_eq!(app.rows.len(), a.goroutines.len());
    key(&mut app, KeyCode::Char('/'));
    typed(&mut app, &format!("id:{writer}"));
    assert_eq!(app.rows.len(), 1);
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('/'));
    typed(&mut app, "state:runnable");
    assert!(app
        .rows
        .iter()
        .all(|r| app.row_goroutine(r).and_then(|i| app.goroutine(i)).is_some_and(|g| g.status.contains("runnable"))));
    key(&mut app, KeyCode::Esc);
    // ? shows help, any key closes it; w saves; q quits.
    key(&mut app, KeyCode::Char('?'));
    assert!(app.help);
    key(&mut app, KeyCode::Char('x'));
    assert!(!app.help);
    assert_eq!(key(&mut app, KeyCode::Char('w')), Action::Save);
    assert_eq!(key(&mut app, KeyCode::Char('q')), Action::Quit);
    assert_eq!(app.key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)), Action::Quit);
}

#[test]
fn every_view_draws_on_three_builds() {
    for (v, s) in [("go1.21.13", "mapiterwrite"), ("go1.24.11-noswissmap", "mapstale"), ("go1.27.3", "fatal")] {
        let a = analysis(v, s);
        let mut app = app_for(v, s, a.clone(), false);
        let first = screen(&mut app, 120, 36);
        assert!(first.contains(a.crash.message.as_deref().unwrap_or("?")), "{v}/{s}: the overview shows the crash");
        insta::assert_snapshot!(format!("{v}-{s}-1-overview"), first);
        for (k, name) in
            [('2', "2-goroutines"), ('3', "3-stack-empty"), ('4', "4-maps"), ('5', "5-memory"), ('6', "6-trace")]
        {
            key(&mut app, KeyCode::Char(k));
            insta::assert_snapshot!(format!("{v}-{s}-{name}"), screen(&mut app, 120, 36));
        }
        // The memory view: the crashing goroutine's g (the roots' first), then a map header.
        key(&mut app, KeyCode::Char('5'));
        key(&mut app, KeyCode::Enter);
        insta::assert_snapshot!(format!("{v}-{s}-5-memory-g"), screen(&mut app, 120, 36));
        key(&mut app, KeyCode::Esc);
        key(&mut app, KeyCode::Char('4'));
        key(&mut app, KeyCode::Enter);
        assert_eq!(app.view, View::Memory, "{v}/{s}: Enter on a map opens its header in memory");
        insta::assert_snapshot!(format!("{v}-{s}-5-memory-map"), screen(&mut app, 120, 36));
        key(&mut app, KeyCode::Esc);
        key(&mut app, KeyCode::Char('1'));
        key(&mut app, KeyCode::Enter);
        insta::assert_snapshot!(format!("{v}-{s}-3-stack"), screen(&mut app, 120, 36));
        key(&mut app, KeyCode::Char('?'));
        insta::assert_snapshot!(format!("{v}-{s}-help"), screen(&mut app, 80, 24));
    }
}

#[test]
fn two_hundred_thousand_rows_cost_a_screenful() {
    // Drawing builds only the rows that fit: the zoo's goroutines, repeated, scroll at once.
    let a = analysis("go1.27.3", "zoo");
    let mut big = (*a).clone();
    let one = big.goroutines.clone();
    while big.goroutines.len() < 200_000 {
        big.goroutines.extend(one.iter().cloned());
    }
    let mut app = App::with_analysis(Arc::new(big));
    key(&mut app, KeyCode::Char('2'));
    key(&mut app, KeyCode::Char('b'));
    key(&mut app, KeyCode::Char('G'));
    let s = screen(&mut app, 120, 36);
    assert!(s.contains("rows, flat"), "{s}");
    assert_eq!(app.sel, app.rows.len() - 1);
}

/// The real binary in tmux: the first screen names the fatal error and both
/// racing goroutines with their roles, the keyboard opens the writer's
/// stack, `q` quits and gives the terminal back.
#[test]
fn tmux_end_to_end() {
    use std::process::Command;
    if Command::new("tmux").arg("-V").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "tmux is missing: .ci/run installs it (apt-get install tmux)");
        eprintln!("\n\n*** SKIPPED tmux_end_to_end: tmux is not installed here (apt-get install tmux) ***\n");
        return;
    }
    let sock = format!("gotopsy-test-{}", std::process::id());
    let tmux = |args: &[&str]| Command::new("tmux").args(["-L", &sock]).args(args).output().expect("tmux runs");
    let core = common::core("go1.27.3", "mapiterwrite");
    let exe = common::exe("go1.27.3");
    let cmd = format!(
        "{} tui {} --exe {}; echo gotopsy-exited-$?; sleep 30",
        env!("CARGO_BIN_EXE_gotopsy"),
        core.display(),
        exe.display()
    );
    tmux(&["new-session", "-d", "-s", "t", "-x", "160", "-y", "48", &cmd]);
    let capture = || String::from_utf8_lossy(&tmux(&["capture-pane", "-t", "t", "-p"]).stdout).into_owned();
    let wait_for = |needle: &str| -> String {
        for _ in 0..100 {
            let s = capture();
            if s.contains(needle) {
                return s;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let s = capture();
        tmux(&["kill-server"]);
        panic!("{needle:?} never appeared:\n{s}");
    };
    // A capture can see a frame half written to the terminal: wait for each line.
    wait_for("concurrent map iteration and map write");
    wait_for("iterator: goroutine 7 at main.iterateAll (crashzoo/main.go:254)");
    let first = wait_for("writer: goroutine 8 at main.mapIterWrite.func2 (crashzoo/main.go:245)");
    assert!(first.contains("concurrent map iteration and map write"), "{first}");
    tmux(&["send-keys", "-t", "t", "j", "Enter"]);
    let stack = wait_for("goroutine 8 [runnable]");
    assert!(stack.contains("runtime.mapassign_fast64("), "{stack}");
    tmux(&["send-keys", "-t", "t", "q"]);
    let after = wait_for("gotopsy-exited-0");
    assert!(!after.contains("1 Overview"), "the terminal is restored: {after}");
    tmux(&["kill-server"]);
}

/// `--source-root` finds the build's files (`-trimpath` paths are
/// `module/dir/file.go`; absolute build paths lose their leading
/// directories), the stack view shows the lines around the frame's, and `e`
/// asks for `$EDITOR` at that file and line.
#[test]
fn source_lines_and_the_editor() {
    let a = analysis("go1.27.3", "fatal");
    let mut app = App::with_analysis(a.clone());
    app.source_roots = vec![common::fixtures_dir().join("programs")];
    let want = common::fixtures_dir().join("programs/crashzoo/main.go");
    assert_eq!(app.source_of("crashzoo/main.go").as_deref(), Some(want.as_path()));
    assert_eq!(app.source_of("/home/builder/src/crashzoo/main.go").as_deref(), Some(want.as_path()));
    assert_eq!(app.source_of("runtime/panic.go"), None);
    // The writer's stack, its user frame selected.
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Enter);
    let g = app.stack_of.and_then(|i| app.goroutine(i)).unwrap().clone();
    let uf = g.frames.iter().position(|f| &*f.function == "main.concurrentMapWrites.func1").unwrap();
    app.frame_sel = uf;
    let s = screen(&mut app, 120, 40);
    assert!(s.contains("  213 \t\t\t\tm[j%1000] = i") || s.contains("  213                 m[j%1000] = i"), "{s}");
    match key(&mut app, KeyCode::Char('e')) {
        Action::Edit(path, line) => {
            assert_eq!(path, want);
            assert_eq!(line, 213);
        }
        other => panic!("e gave {other:?}"),
    }
    // A frame whose file is not there says so.
    app.frame_sel = 0;
    assert_eq!(key(&mut app, KeyCode::Char('e')), Action::None);
    assert!(app.status.as_deref().unwrap_or("").contains("not found locally"));
}

/// The mouse: a click on a tab opens that view, a click on a goroutine row
/// selects it and a second click opens its stack; the wheel scrolls.
#[test]
fn mouse_clicks_and_wheel() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let click = |column: u16, row: u16| MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column,
        row,
        modifiers: KeyModifiers::NONE,
    };
    let a = analysis("go1.27.3", "zoo");
    let mut app = App::with_analysis(a);
    let s = screen(&mut app, 120, 36);
    let tabs = s.lines().next().unwrap();
    let col = |title: &str| u16::try_from(tabs.find(title).unwrap()).unwrap();
    app.mouse(click(col("4 Maps"), 0));
    assert_eq!(app.view, View::Maps);
    app.mouse(click(col("2 Goroutines"), 0));
    assert_eq!(app.view, View::Goroutines);
    screen(&mut app, 120, 36);
    let top = app.rows_top;
    app.mouse(click(10, top + 2));
    assert_eq!(app.sel, 2);
    app.mouse(click(10, top + 2));
    assert_eq!(app.view, View::Stack, "a second click opens the goroutine");
    app.mouse(click(col("2 Goroutines"), 0));
    app.mouse(MouseEvent { kind: MouseEventKind::ScrollDown, column: 5, row: 5, modifiers: KeyModifiers::NONE });
    assert_eq!(app.sel, 5);
}

/// No view shows a map's keys or values: the crashiter core's maps hold the
/// string "three", which appears on no screen, whether or not the analysis
/// read the entries (`--show-values`; the TUI has no entries view yet).
#[test]
fn no_view_shows_map_values_by_default() {
    let (v, s) = ("go1.27.3", "iterfuncs");
    for show_values in [false, true] {
        let opts = OpenOptions { exe: Some(common::exe_for(v, s)), ..Default::default() };
        let p = Process::open(&common::core(v, s), &opts).expect("opens");
        let a = gotopsy::analyze(&p, &AnalyzeOptions { show_values, ..Default::default() }, &NoProgress).unwrap();
        let read = a.maps.iter().flat_map(|m| m.entries.iter().flatten()).any(|e| e.value == "three");
        assert_eq!(read, show_values, "the analysis read the entries only when asked");
        // The memory view holds keys and values back by the same flag.
        let mut app = app_for(v, s, Arc::new(a), show_values);
        let mut all = screen(&mut app, 160, 60);
        for k in ['2', '3', '4', '5', '6'] {
            key(&mut app, KeyCode::Char(k));
            all.push_str(&screen(&mut app, 160, 60));
            for _ in 0..8 {
                key(&mut app, KeyCode::Down);
                key(&mut app, KeyCode::Enter);
                all.push_str(&screen(&mut app, 160, 60));
            }
        }
        assert!(!all.contains("three"), "show_values={show_values}: a screen shows a map value");
    }
}

/// The memory view walks from a map's header to the group holding its
/// entries; the string value "three" shows there only with `--show-values`,
/// and its bytes are masked in the hex view without it.
#[test]
fn the_memory_view_shows_values_only_when_asked() {
    let (v, s) = ("go1.27.3", "iterfuncs");
    for show_values in [false, true] {
        let opts = OpenOptions { exe: Some(common::exe_for(v, s)), ..Default::default() };
        let p = Process::open(&common::core(v, s), &opts).expect("opens");
        let a = gotopsy::analyze(&p, &AnalyzeOptions { show_values: true, ..Default::default() }, &NoProgress).unwrap();
        let h = a
            .maps
            .iter()
            .find(|m| m.entries.iter().flatten().any(|e| e.value == "three"))
            .map(|h| (h.address, h.type_name.clone()))
            .expect("the map holding \"three\"");
        let mut app = App::with_analysis(Arc::new(a));
        let insp = Arc::new(Inspector::new(Arc::new(p), show_values));
        app.inspector = Some(insp.clone());
        app.open_memory(insp.map_header(h.0, h.1.as_deref()));
        assert_eq!(app.view, View::Memory);
        // Follow dirPtr (a small map's one group, or the directory) down to the slots.
        let mut screens = String::new();
        for _ in 0..4 {
            let page = app.mem.last().unwrap();
            if page.decoded.rows.iter().any(|r| r.secret) {
                break;
            }
            let at =
                page.decoded.rows.iter().position(|r| {
                    r.follow.is_some() && (r.name == "dirPtr" || r.name == "[0]" || r.name == "groups.data")
                });
            let at = at.unwrap_or_else(|| panic!("no way down from {}", page.decoded.target.label));
            app.mem.last_mut().unwrap().sel = at;
            key(&mut app, KeyCode::Enter);
        }
        let page = app.mem.last().unwrap();
        let slot = page.decoded.rows.iter().position(|r| r.secret && r.type_name == "string").expect("a string slot");
        assert_eq!(page.decoded.rows[slot].shown == Shown::Hidden, !show_values, "show_values={show_values}");
        // Show every slot of the group.
        for i in 0..page.decoded.rows.len() {
            app.mem.last_mut().unwrap().sel = i;
            screens.push_str(&screen(&mut app, 160, 48));
        }
        assert_eq!(screens.contains("three"), show_values, "show_values={show_values}: \"three\" on screen");
        if !show_values {
            assert!(screens.contains("held back"), "a held-back slot says why");
            assert!(screens.contains("··"), "the hex view masks the slots");
        }
    }
}

/// Every view on every fixture of every build (issue 9's "done when"): the
/// overview shows the crash, the goroutine list counts them all, the stack
/// view of the crashing goroutine starts with its innermost function, the
/// maps view counts the maps, and the memory, trace and help views draw —
/// at a wide and a narrow size.
#[test]
fn every_view_works_on_every_fixture() {
    let mut drawn = 0;
    for v in common::variants() {
        for s in common::scenarios(&v) {
            let a = analysis(&v, &s);
            for (w, h) in [(160, 48), (80, 24)] {
                let mut app = app_for(&v, &s, a.clone(), false);
                let first = screen(&mut app, w, h);
                if let Some(m) = a.crash.message.as_deref().filter(|_| w == 160) {
                    let shown: String = m.chars().take(40).collect();
                    assert!(first.contains(&shown), "{v}/{s}: the overview shows the crash {m:?}:\n{first}");
                }
                key(&mut app, KeyCode::Char('2'));
                let list = screen(&mut app, w, h);
                assert!(list.contains("rows"), "{v}/{s}: the goroutine list:\n{list}");
                key(&mut app, KeyCode::Char('4'));
                let maps = screen(&mut app, w, h);
                if w == 160 {
                    assert!(maps.contains(&format!("{} maps", a.maps.len())), "{v}/{s}: the maps view:\n{maps}");
                }
                for k in ['5', '6', '?'] {
                    key(&mut app, KeyCode::Char(k));
                    screen(&mut app, w, h);
                    key(&mut app, KeyCode::Esc);
                }
                // Every structure the memory view starts from opens (or says why not) and draws,
                // and so does every structure its first pointers lead to.
                key(&mut app, KeyCode::Char('5'));
                for r in 0..app.memory_roots().len() {
                    app.mem.clear();
                    app.mem_root_sel = r;
                    key(&mut app, KeyCode::Enter);
                    let opened = screen(&mut app, w, h);
                    let Some(page) = app.mem.last() else { continue };
                    assert!(
                        opened.contains(&page.decoded.target.type_name.chars().take(20).collect::<String>()),
                        "{v}/{s}: the memory view:\n{opened}"
                    );
                    let follows: Vec<usize> = page
                        .decoded
                        .rows
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| r.follow.is_some())
                        .map(|(i, _)| i)
                        .take(3)
                        .collect();
                    for i in follows {
                        if let Some(p) = app.mem.last_mut() {
                            p.sel = i;
                        }
                        key(&mut app, KeyCode::Enter);
                        screen(&mut app, w, h);
                        key(&mut app, KeyCode::Esc);
                    }
                }
                if w == 160 && common::variants_with_dwarf().contains(&v) && !app.memory_roots().is_empty() {
                    assert!(app.memory_roots()[0].target.is_ok(), "{v}/{s}: the g opens with DWARF");
                }
                app.mem.clear();
                if let Some(g) = a.crashing_goroutine() {
                    key(&mut app, KeyCode::Char('1'));
                    key(&mut app, KeyCode::Enter);
                    let stack = screen(&mut app, w, h);
                    let top = g.frames.first().map(|f| f.function.to_string()).unwrap_or_default();
                    let top: String = top.chars().take(30).collect();
                    assert!(stack.contains(&format!("goroutine {} [", g.id)), "{v}/{s}: the stack view:\n{stack}");
                    // At 80×24 the view scrolls to the frame it selects.
                    assert!(
                        w != 160 || stack.contains(&top),
                        "{v}/{s}: the stack view of goroutine {} shows {top}:\n{stack}",
                        g.id
                    );
                }
                drawn += 1;
            }
        }
    }
    assert!(drawn >= 200, "only {drawn} fixture screens drawn");
}

/// The memory view's keys: Enter on a root opens it, Enter on a pointer
/// follows it, `s` opens the span holding the structure, Esc goes back one
/// step at a time, down to the roots; a saved report says it has no memory.
#[test]
fn memory_keys_follow_pointers_and_come_back() {
    let (v, s) = ("go1.27.3", "mapiterwrite");
    let a = analysis(v, s);
    let mut app = app_for(v, s, a.clone(), false);
    let g = a.goroutines.iter().find(|g| g.mp().is_some()).unwrap();
    app.open_stack(a.goroutines.iter().position(|x| x.id == g.id).unwrap());
    key(&mut app, KeyCode::Char('5'));
    assert!(app.mem.is_empty());
    assert!(app.memory_roots()[0].label.contains(&format!("goroutine {}", g.id)), "the stack's goroutine comes first");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.mem.last().unwrap().decoded.target.address, g.address);
    // j down to g.m and follow it.
    let m_row = app.mem.last().unwrap().decoded.rows.iter().position(|r| r.name == "m").unwrap();
    for _ in 0..m_row {
        key(&mut app, KeyCode::Char('j'));
    }
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.mem.len(), 2);
    assert_eq!(app.mem.last().unwrap().decoded.target.type_name, "runtime.m");
    assert_eq!(Some(app.mem.last().unwrap().decoded.target.address), g.mp());
    // Enter on a field that is no pointer says so and stays.
    key(&mut app, KeyCode::Char('g'));
    let before = app.mem.len();
    let first = app.mem.last().unwrap().decoded.rows[0].clone();
    key(&mut app, KeyCode::Enter);
    if first.follow.is_none() {
        assert_eq!(app.mem.len(), before);
        assert!(app.status.is_some());
    }
    // Esc back to the g, s to its span, Esc, Esc to the roots.
    while app.mem.len() > 1 {
        key(&mut app, KeyCode::Esc);
    }
    key(&mut app, KeyCode::Char('s'));
    assert_eq!(app.mem.last().unwrap().decoded.target.type_name, "runtime.mspan");
    let sc = screen(&mut app, 160, 48);
    assert!(sc.contains("mSpanInUse") && sc.contains("size class"), "{sc}");
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Esc);
    assert!(app.mem.is_empty());
    assert_eq!(app.view, View::Memory);
    // A saved report: no memory, said on screen and on Enter in the maps view.
    let mut report = App::with_analysis(a);
    report.from_report = true;
    key(&mut report, KeyCode::Char('5'));
    assert!(screen(&mut report, 120, 36).contains("saved report holds no memory"));
    key(&mut report, KeyCode::Char('4'));
    key(&mut report, KeyCode::Enter);
    assert!(report.status.as_deref().is_some_and(|s| s.contains("no memory")));
}

#[test]
fn the_trace_view_draws_the_goroutines_timeline_and_reads_the_trace_again_for_others() {
    use gotopsy::model::TraceSource;
    let mut watched_drawn = 0;
    // The trace file (1.23's lost its last generation to the crash), and the
    // trace the core still holds.
    for (v, from_core) in [("go1.23.9", false), ("go1.27.3", false), ("go1.27.3", true)] {
        let source = if from_core {
            TraceSource::FromCore
        } else {
            TraceSource::File(common::fixtures_dir().join(v).join("tracemapwrites.trace.zst"))
        };
        let opts = OpenOptions { exe: Some(common::exe_for(v, "tracemapwrites")), ..Default::default() };
        let p = Process::open(&common::core(v, "tracemapwrites"), &opts).expect("opens");
        let ao = AnalyzeOptions { trace: Some(source.clone()), ..Default::default() };
        let a = Arc::new(gotopsy::analyze(&p, &ao, &NoProgress).expect("analyzes"));
        let t = a.trace.as_ref().expect("trace joined");
        let crashed = a.crash.goroutine.expect("crashing goroutine");
        let mut app = App::with_analysis(a.clone());
        app.inspector = Some(Arc::new(Inspector::new(Arc::new(p), false)));
        app.trace_source = Some(source.clone());
        // The crashing goroutine's timeline was kept by the analysis (when
        // it is in the trace: the files lost their last generation to the crash).
        key(&mut app, KeyCode::Char('6'));
        assert_eq!(app.current_goroutine().map(|g| g.id), Some(crashed), "{v}");
        if let Some(tg) = t.goroutines.get(&crashed) {
            assert!(!tg.timeline.is_empty(), "{v}: the crashing goroutine is watched");
            assert_eq!(app.wants_trace_detail(), None, "{v}");
            let s = screen(&mut app, 120, 36);
            assert!(
                s.contains("timeline:") && s.contains("(end of the trace)") && s.contains("█ running"),
                "{v}:\n{s}"
            );
            let row = s.lines().skip_while(|l| !l.contains("timeline:")).nth(1).unwrap_or("");
            assert!(row.contains(['█', '▒', '·', 's']), "{v}: the timeline row has cells:\n{s}");
            insta::assert_snapshot!(format!("{v}-tracemapwrites-6-trace-from-core"), s);
            watched_drawn += 1;
        }
        // Another goroutine of the trace, which no finding names: the trace view asks for it.
        let other = a
            .goroutines
            .iter()
            .position(|g| t.goroutines.get(&g.id).is_some_and(|tg| tg.timeline.is_empty() && tg.transitions > 2))
            .expect("an unwatched goroutine in the trace");
        let id = a.goroutines[other].id;
        app.stack_of = Some(other);
        assert_eq!(app.wants_trace_detail(), Some(id), "{v}");
        assert!(screen(&mut app, 120, 36).contains("timeline: none kept"), "{v}");
        app.trace_pending = Some(id);
        assert_eq!(app.wants_trace_detail(), None, "{v}: one read at a time");
        assert!(screen(&mut app, 120, 36).contains("reading the trace again"), "{v}");
        let p = Arc::clone(app.inspector.as_ref().unwrap().process());
        let tg = gotopsy::model::trace_goroutine(&p, &source, id).expect("reads").expect("in the trace");
        assert_eq!(tg.transitions, t.goroutines[&id].transitions, "{v}: the same history");
        assert!(!tg.timeline.is_empty() && !tg.last_events.is_empty(), "{v}");
        app.trace_pending = None;
        app.trace_detail.insert(id, Ok(Some(tg)));
        assert_eq!(app.wants_trace_detail(), None, "{v}");
        let s = screen(&mut app, 80, 24);
        assert!(s.contains(&format!("goroutine {id}:")) && s.contains("(end of the trace)"), "{v}:\n{s}");
        let how = if from_core { "from-core" } else { "file" };
        insta::assert_snapshot!(format!("{v}-tracemapwrites-6-trace-{how}-goroutine-{id}"), s);
        // A saved report cannot read the trace again, and says so.
        let mut saved = App::with_analysis(a.clone());
        saved.stack_of = Some(other);
        key(&mut saved, KeyCode::Char('6'));
        assert_eq!(saved.wants_trace_detail(), None);
        assert!(screen(&mut saved, 120, 36).contains("kept only for the findings'"), "{v}");
    }
    assert!(watched_drawn >= 1, "no build's crashing goroutine is in its trace");
}
