//! Drawing the UI from its state: nothing here changes the state but the
//! size of a page. Lists draw only the rows that fit, so a million
//! goroutines cost what a screenful does.

use super::app::{App, Row, Sort, View, VIEWS};
use crate::analysis::Severity;
use crate::model::{Analysis, Goroutine};
use crate::report::text::{map_title, role_text, user_frame_text};
use crate::runtime::decode::Shown;
use crate::runtime::symbolize::print_name;
use crate::trace::{GoState, TraceGoroutine};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Tabs, Wrap};
use ratatui::Frame;

fn severity_style(s: Severity) -> Style {
    match s {
        Severity::Critical => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        Severity::Warning => Style::new().fg(Color::Yellow),
        Severity::Info => Style::new().fg(Color::Cyan),
    }
}

fn selected() -> Style {
    Style::new().add_modifier(Modifier::REVERSED)
}

/// Draws the whole screen.
pub fn draw(f: &mut Frame<'_>, app: &mut App) {
    let [tabs, body, status] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1), Constraint::Length(1)]).areas(f.area());
    let titles: Vec<&str> = VIEWS.iter().map(|v| v.title()).collect();
    let sel = VIEWS.iter().position(|v| *v == app.view).unwrap_or(0);
    f.render_widget(Tabs::new(titles).select(sel).highlight_style(selected()).divider("|"), tabs);
    app.page = body.height.saturating_sub(2) as usize;
    match app.analysis.clone() {
        None => {
            let p =
                Paragraph::new(vec![Line::from("gotopsy"), Line::from(""), Line::from(format!("{}…", app.progress))])
                    .block(Block::new().borders(Borders::ALL).title("analyzing"));
            f.render_widget(p, body);
        }
        Some(a) => match app.view {
            View::Overview => overview(f, app, &a, body),
            View::Goroutines => goroutines(f, app, &a, body),
            View::Stack => stack(f, app, &a, body),
            View::Maps => maps(f, app, &a, body),
            View::Memory => memory(f, app, body),
            View::Trace => trace(f, app, &a, body),
        },
    }
    let line = if app.typing {
        Line::from(vec![Span::styled("/", Style::new().add_modifier(Modifier::BOLD)), Span::raw(app.filter.clone())])
    } else if let Some(s) = &app.status {
        Line::from(s.clone())
    } else if app.view == View::Memory {
        Line::from("q quit  ? help  1-6 views  Enter open / follow a pointer  Esc back  s the mspan holding it  w save")
    } else {
        Line::from("q quit  ? help  1-6 views  Tab next  Enter open  Esc back  / filter  b group  s sort  w save")
    };
    f.render_widget(Paragraph::new(line).style(Style::new().add_modifier(Modifier::DIM)), status);
    if app.help {
        help(f, f.area());
    }
}

fn block(title: String) -> Block<'static> {
    Block::new().borders(Borders::ALL).title(title)
}

fn overview(f: &mut Frame<'_>, app: &App, a: &Analysis, area: Rect) {
    let mut lines: Vec<Line<'static>> = Vec::new();
    let c = &a.crash;
    let mut crash = format!("{}", c.kind);
    if let Some(m) = &c.message {
        crash.push_str(&format!(": {m}"));
    }
    lines
        .push(Line::from(vec![Span::styled("crash    ", Style::new().add_modifier(Modifier::BOLD)), Span::raw(crash)]));
    if let Some(g) = c.goroutine {
        let at = c.user_frame.as_ref().map(|u| format!(" at {}", user_frame_text(u))).unwrap_or_default();
        lines.push(Line::from(format!("         goroutine {g}{at}")));
    }
    if let Some(s) = &c.signal {
        lines.push(Line::from(format!("         core written on {}", s.name)));
    }
    if let Some(fl) = &c.fault {
        lines.push(Line::from(format!("fault    {} addr={} pc={}", fl.signal.name, fl.addr, fl.pc)));
    }
    let t = &a.target;
    lines.push(Line::from(format!(
        "program  {} ({}{}), build ID {}",
        t.executable,
        t.go_version,
        t.goexperiment.as_deref().map(|e| format!(", GOEXPERIMENT={e}")).unwrap_or_default(),
        t.go_build_id.as_deref().unwrap_or("?")
    )));
    let states: Vec<String> = app.state_counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    lines.push(Line::from(format!("goroutines {}: {}", a.goroutines.len(), states.join(", "))));
    for w in a.warnings.iter().filter(|w| w.kind.matters()) {
        lines.push(Line::styled(format!("warning: {w}"), Style::new().fg(Color::Yellow)));
    }
    let minor = a.warnings.iter().filter(|w| !w.kind.matters()).count();
    if minor > 0 {
        lines.push(Line::styled(
            format!("{minor} other warning(s): see `gotopsy analyze`"),
            Style::new().add_modifier(Modifier::DIM),
        ));
    }
    lines.push(Line::from(""));
    let links = app.overview_links();
    let mut findings: Vec<&crate::analysis::Finding> = a.findings.iter().collect();
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    if findings.is_empty() {
        lines.push(Line::from("no findings"));
    }
    for fd in findings {
        lines.push(Line::from(vec![
            Span::styled(format!("[{}] ", fd.severity), severity_style(fd.severity)),
            Span::styled(format!("{}: ", fd.kind), Style::new().add_modifier(Modifier::BOLD)),
            Span::raw(fd.summary.clone()),
        ]));
        if let Some(m) = map_title(a, fd) {
            lines.push(Line::from(format!("    {m}")));
        }
        for r in &fd.goroutines {
            let on = links.get(app.overview_sel).is_some_and(|l| l.goroutine == r.id);
            let text = format!("    {}", role_text(r));
            lines.push(if on { Line::styled(text, selected()) } else { Line::from(text) });
        }
    }
    if let Some(g) = c.goroutine {
        let on = links.get(app.overview_sel).is_some_and(|l| l.goroutine == g);
        let text = format!("crashing goroutine {g}: Enter opens its stack");
        lines.push(Line::from(""));
        lines.push(if on { Line::styled(text, selected()) } else { Line::from(text) });
    }
    let p = Paragraph::new(lines).block(block("overview".into())).wrap(Wrap { trim: false });
    f.render_widget(p, area);
}

fn wait_text(g: &Goroutine) -> String {
    g.wait_minutes.filter(|&m| m > 0).map(|m| format!("{m} min")).unwrap_or_default()
}

fn goroutines(f: &mut Frame<'_>, app: &mut App, a: &Analysis, area: Rect) {
    let height = area.height.saturating_sub(3) as usize;
    // Below the border and the column headings.
    app.rows_top = area.y.saturating_add(2);
    if app.sel < app.offset {
        app.offset = app.sel;
    } else if height > 0 && app.sel >= app.offset.saturating_add(height) {
        app.offset = app.sel.saturating_add(1).saturating_sub(height);
    }
    let mode = if app.grouped { "grouped by stack (b: flat)" } else { "flat (b: grouped)" };
    let sort = match app.sort {
        Sort::Id => "id",
        Sort::State => "state",
        Sort::Wait => "wait",
    };
    let filter = if app.filter.is_empty() { String::new() } else { format!(", filter {:?}", app.filter) };
    let title = format!("{} rows, {mode}, sorted by {sort}{filter}", app.rows.len());
    let mut lines: Vec<Line<'static>> = vec![Line::styled(
        if app.grouped {
            format!("{:>8}  {:<10} {:<22} {:<8} user frame", "count", "first id", "state", "wait")
        } else {
            format!("{:>10}  {:<22} {:<8} user frame", "id", "state", "wait")
        },
        Style::new().add_modifier(Modifier::BOLD),
    )];
    for (n, row) in app.rows.iter().enumerate().skip(app.offset).take(height) {
        let Some(g) = app.row_goroutine(row).and_then(|i| a.goroutines.get(i)) else { continue };
        let uf = app
            .user_frame(g)
            .map(|u| user_frame_text(&u))
            .unwrap_or_else(|| g.frames.first().map(|fr| print_name(&fr.function).into_owned()).unwrap_or_default());
        let text = match row {
            Row::Group(k) => {
                let count = app.groups.get(*k).map_or(0, |g| g.members.len());
                format!("{count:>8}  {:<10} {:<22} {:<8} {uf}", g.id, g.status.to_string(), wait_text(g))
            }
            Row::Goroutine(_) => format!("{:>10}  {:<22} {:<8} {uf}", g.id, g.status.to_string(), wait_text(g)),
        };
        lines.push(if n == app.sel { Line::styled(text, selected()) } else { Line::from(text) });
    }
    f.render_widget(Paragraph::new(lines).block(block(title)), area);
}

fn stack(f: &mut Frame<'_>, app: &mut App, a: &Analysis, area: Rect) {
    let Some(g) = app.stack_of.and_then(|i| a.goroutines.get(i)) else {
        f.render_widget(
            Paragraph::new("no goroutine selected: Enter on one in 1 Overview or 2 Goroutines")
                .block(block("stack".into())),
            area,
        );
        return;
    };
    let [list, side] = Layout::vertical([Constraint::Min(3), Constraint::Length(9)]).areas(area);
    let height = list.height.saturating_sub(2) as usize;
    let rows = g.frames.len().saturating_add(1);
    const PER: usize = 2;
    let first = app.frame_sel.saturating_add(1).saturating_mul(PER).saturating_sub(height) / PER;
    let mut lines: Vec<Line<'static>> = Vec::new();
    for (i, fr) in g.frames.iter().enumerate().skip(first) {
        if lines.len().saturating_add(PER) > height {
            break;
        }
        let name = format!("{}{}({})", if fr.inlined { "  inlined " } else { "" }, print_name(&fr.function), fr.args);
        let pos = format!(
            "      {}:{}{}",
            fr.file,
            fr.line,
            if fr.inlined { String::new() } else { format!(" +{:#x}", fr.offset()) }
        );
        if i == app.frame_sel {
            lines.push(Line::styled(name, selected()));
        } else if fr.system_stack {
            lines.push(Line::styled(name, Style::new().add_modifier(Modifier::DIM)));
        } else {
            lines.push(Line::from(name));
        }
        lines.push(Line::styled(pos, Style::new().add_modifier(Modifier::DIM)));
    }
    if lines.len() < height {
        let created = match &g.created_by {
            Some(c) => format!(
                "created by {}{} at {}:{} (Enter opens it)",
                print_name(&c.function),
                if c.goroutine != 0 { format!(" in goroutine {}", c.goroutine) } else { String::new() },
                c.file,
                c.line
            ),
            None => "created by: not recorded".into(),
        };
        lines.push(if app.frame_sel == rows.saturating_sub(1) {
            Line::styled(created, selected())
        } else {
            Line::from(created)
        });
    }
    let title = format!(
        "goroutine {} [{}] — {} frames",
        g.id,
        crate::report::traceback::status_with_suffixes(g),
        g.frames.len()
    );
    f.render_widget(Paragraph::new(lines).block(block(title)), list);
    // The selected frame's map iterators and the map names its frame holds.
    let mut side_lines: Vec<Line<'static>> = Vec::new();
    for it in a.iterators.iter().filter(|it| it.goroutine == g.id && it.frame == app.frame_sel) {
        side_lines
            .push(Line::from(format!("iterator at {} over map {}: {}, {}", it.address, it.map, it.state, it.liveness)));
    }
    if let Some(fr) = g.frames.get(app.frame_sel) {
        for h in &a.maps {
            for n in
                h.names.iter().filter(|n| n.goroutine == Some(g.id) && n.function.as_deref() == Some(&*fr.function))
            {
                side_lines.push(Line::from(format!(
                    "map variable {} ({}): {}, {} entries, at {}",
                    n.name,
                    n.kind,
                    h.type_name.as_deref().unwrap_or("map"),
                    h.len,
                    h.address
                )));
            }
        }
    }
    // The source around the selected frame's line, when the file is found locally.
    if let Some(fr) = g.frames.get(app.frame_sel) {
        let (file, line) = (fr.file.to_string(), fr.line);
        if let Some(text) = app.source_of(&file).and_then(|p| std::fs::read_to_string(p).ok()) {
            let first = usize::try_from(line).unwrap_or(1).saturating_sub(2).max(1);
            for (n, l) in text.lines().enumerate().skip(first.saturating_sub(1)).take(5) {
                let n = n.saturating_add(1);
                let l = format!("{n:>5} {}", l.replace('\t', "    "));
                side_lines.push(if i64::try_from(n).ok() == Some(i64::from(line)) {
                    Line::styled(l, Style::new().add_modifier(Modifier::BOLD))
                } else {
                    Line::styled(l, Style::new().add_modifier(Modifier::DIM))
                });
            }
        }
    }
    if side_lines.is_empty() {
        side_lines.push(Line::styled(
            "no map iterator or map variable in this frame; no source found (--source-root DIR)",
            Style::new().add_modifier(Modifier::DIM),
        ));
    }
    f.render_widget(Paragraph::new(side_lines).block(block("selected frame".into())), side);
}

fn maps(f: &mut Frame<'_>, app: &App, a: &Analysis, area: Rect) {
    let [list, detail] = Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
    let height = list.height.saturating_sub(2) as usize;
    let total = a.maps.len().saturating_add(a.iterators.len());
    let first = app.map_sel.saturating_add(1).saturating_sub(height);
    let mut lines: Vec<Line<'static>> = Vec::new();
    for i in (first..total).take(height) {
        let (text, stale) = if let Some(h) = a.maps.get(i) {
            let names: Vec<&str> = h.names.iter().map(|n| n.name.as_str()).collect();
            (
                format!(
                    "map {} {} len {} {}{}",
                    h.address,
                    h.type_name.as_deref().unwrap_or("?"),
                    h.len,
                    h.layout,
                    if names.is_empty() { String::new() } else { format!(" ({})", names.join(", ")) }
                ),
                h.writing,
            )
        } else if let Some(it) = a.iterators.get(i.saturating_sub(a.maps.len())) {
            let by = it.held_by.clone().unwrap_or_else(|| format!("goroutine {}", it.goroutine));
            (format!("iterator {} {by}: {} over {}", it.address, it.state, it.map), it.state.is_stale())
        } else {
            continue;
        };
        let style = match (i == app.map_sel, stale) {
            (true, _) => selected(),
            (false, true) => Style::new().fg(Color::Yellow),
            _ => Style::new(),
        };
        lines.push(Line::styled(text, style));
    }
    if total == 0 {
        let why = match a.maps_analysis {
            crate::model::MapsAnalysis::Skipped => "maps were not analyzed (--no-maps)",
            crate::model::MapsAnalysis::Unavailable => "maps could not be analyzed (see the warnings)",
            crate::model::MapsAnalysis::Done => "no map is on any stack",
        };
        lines.push(Line::from(why));
    }
    f.render_widget(
        Paragraph::new(lines).block(block(format!("{} maps, {} iterators", a.maps.len(), a.iterators.len()))),
        list,
    );
    let mut d: Vec<Line<'static>> = Vec::new();
    if let Some(h) = a.maps.get(app.map_sel) {
        d.push(Line::from(format!("map header at {}", h.address)));
        d.push(Line::from(format!("type {}", h.type_name.as_deref().unwrap_or("?"))));
        d.push(Line::from(format!("len {}, layout {}, writing {}", h.len, h.layout, h.writing)));
        if let (Some(b), Some(bk)) = (h.b, h.buckets) {
            d.push(Line::from(format!(
                "B {b}, buckets {bk}, oldbuckets {}",
                h.oldbuckets.map(|o| o.to_string()).unwrap_or_default()
            )));
        }
        if let Some(dl) = h.dir_len {
            d.push(Line::from(format!(
                "directory {} of {dl}, global depth {}",
                h.dir_ptr.map(|p| p.to_string()).unwrap_or_default(),
                h.global_depth.unwrap_or(0)
            )));
        }
        for n in &h.names {
            d.push(Line::from(format!("name {} ({})", n.name, n.kind)));
        }
    } else if let Some(it) = a.iterators.get(app.map_sel.saturating_sub(a.maps.len())) {
        d.push(Line::from(format!("iterator at {} in {}", it.address, it.function)));
        d.push(Line::from(format!("state {}, {}", it.state, it.liveness)));
        for e in &it.evidence {
            d.push(Line::from(format!("- {e}")));
        }
        if let Some(h) = a.maps.iter().find(|h| h.address == it.map) {
            d.push(Line::from(""));
            d.push(Line::from(format!(
                "its map: {} len {}, writing {}",
                h.type_name.as_deref().unwrap_or("?"),
                h.len,
                h.writing
            )));
            if let (Some(b), Some(bk)) = (h.b, h.buckets) {
                d.push(Line::from(format!(
                    "h.B {b}, h.buckets {bk}, h.oldbuckets {}",
                    h.oldbuckets.map(|o| o.to_string()).unwrap_or_default()
                )));
            }
            if let Some(gd) = h.global_depth {
                d.push(Line::from(format!("globalDepth {gd}, dirLen {}", h.dir_len.unwrap_or(0))));
            }
        }
    }
    f.render_widget(Paragraph::new(d).block(block("detail".into())).wrap(Wrap { trim: false }), detail);
}

fn memory(f: &mut Frame<'_>, app: &App, area: Rect) {
    if app.inspector.is_none() {
        let text = if app.from_report {
            "A saved report holds no memory: open the core (gotopsy tui CORE) to read runtime structures."
        } else {
            "The core's memory cannot be read here (no executable matched it): the report shows what the core alone says."
        };
        f.render_widget(Paragraph::new(text).block(block("memory".into())).wrap(Wrap { trim: false }), area);
        return;
    }
    let Some(page) = app.mem.last() else {
        memory_roots(f, app, area);
        return;
    };
    let d = &page.decoded;
    let wide = area.width >= 140;
    let [fields, hex] = if wide {
        Layout::horizontal([Constraint::Min(60), Constraint::Length(74)]).areas(area)
    } else {
        Layout::vertical([Constraint::Percentage(65), Constraint::Percentage(35)]).areas(area)
    };
    let height = fields.height.saturating_sub(3) as usize;
    let first = page.sel.saturating_add(1).saturating_sub(height);
    let mut lines: Vec<Line<'static>> = vec![Line::styled(
        format!(
            "{} bytes, {}{}",
            d.size,
            d.location,
            d.truncated.as_ref().map(|t| format!("; {t}")).unwrap_or_default()
        ),
        Style::new().add_modifier(Modifier::DIM),
    )];
    let name_w = d
        .rows
        .iter()
        .skip(first)
        .take(height)
        .map(|r| r.name.chars().count().saturating_add(usize::from(r.depth).saturating_mul(2)))
        .max()
        .unwrap_or(0)
        .min(36);
    for (i, r) in d.rows.iter().enumerate().skip(first).take(height) {
        let value = match &r.shown {
            Shown::Value(v) => v.clone(),
            Shown::Heading => String::new(),
            Shown::Hidden => format!("({} bytes held back: --show-values)", r.size),
            Shown::Unreadable => "(not in the core)".into(),
        };
        let name = format!("{}{}", "  ".repeat(usize::from(r.depth)), r.name.rsplit('.').next().unwrap_or(&r.name));
        let mut text = format!("{name:<name_w$}  {:<24} {value}", r.type_name);
        if let Some(n) = &r.note {
            text.push_str(&format!("  ({n})"));
        }
        if r.follow.is_some() {
            text.push_str("  →");
        }
        let style = if i == page.sel {
            selected()
        } else if r.shown == Shown::Hidden || r.shown == Shown::Unreadable {
            Style::new().add_modifier(Modifier::DIM)
        } else if r.shown == Shown::Heading {
            Style::new().add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        lines.push(Line::styled(text, style));
    }
    let depth =
        if app.mem.len() > 1 { format!(" ({} back with Esc)", app.mem.len().saturating_sub(1)) } else { String::new() };
    let t = &d.target;
    let title = if t.label.starts_with(&t.type_name) || t.label.contains(" × ") {
        format!("{}{depth}", t.label)
    } else {
        format!("{} at {}: {}{depth}", t.type_name, t.address, t.label)
    };
    f.render_widget(Paragraph::new(lines).block(block(title)), fields);
    hex_view(f, app, d, page.sel, hex);
}

/// The structure's bytes, 16 a line, the selected field's reversed; bytes
/// held back without `--show-values` are `··`, bytes not in the core `??`.
fn hex_view(f: &mut Frame<'_>, app: &App, d: &crate::runtime::decode::Decoded, sel: usize, area: Rect) {
    let (lo, hi) = d.rows.get(sel).map_or((0, 0), |r| (r.offset, r.offset.saturating_add(r.size)));
    let height = area.height.saturating_sub(2) as usize;
    let nlines = d.bytes.len().div_ceil(16);
    let first = ((lo / 16) as usize).saturating_sub(height / 2).min(nlines.saturating_sub(height));
    let hidden = |o: u64| d.hidden.iter().any(|&(h, l)| h <= o && o < h.saturating_add(l));
    let show_ascii = app.shows_values();
    let mut lines: Vec<Line<'static>> = Vec::new();
    for l in (first..nlines).take(height) {
        let base = (l as u64).saturating_mul(16);
        let mut spans = vec![Span::styled(format!("{:>5x} ", base), Style::new().add_modifier(Modifier::DIM))];
        let mut ascii = String::new();
        for k in 0..16u64 {
            let o = base.saturating_add(k);
            let Some(b) = d.bytes.get(o as usize) else { break };
            let text = match (b, hidden(o)) {
                (_, true) => "··".to_string(),
                (None, false) => "??".to_string(),
                (Some(b), false) => format!("{b:02x}"),
            };
            ascii.push(match b {
                Some(c) if !hidden(o) && c.is_ascii_graphic() => char::from(*c),
                _ => '.',
            });
            let style = if lo <= o && o < hi { selected() } else { Style::new() };
            spans.push(Span::styled(text, style));
            spans.push(Span::raw(if k == 7 { "  " } else { " " }));
        }
        if show_ascii {
            spans.push(Span::styled(ascii, Style::new().add_modifier(Modifier::DIM)));
        }
        lines.push(Line::from(spans));
    }
    f.render_widget(Paragraph::new(lines).block(block(format!("hex, {} bytes", d.bytes.len()))), area);
}

fn memory_roots(f: &mut Frame<'_>, app: &App, area: Rect) {
    let roots = app.memory_roots();
    let mut lines: Vec<Line<'static>> = vec![Line::styled(
        "Enter opens a structure; in it, Enter follows a pointer, Esc goes back, s opens the mspan holding it",
        Style::new().add_modifier(Modifier::DIM),
    )];
    for (i, r) in roots.iter().enumerate() {
        let text = match &r.target {
            Ok(t) => format!("{}  ({} at {})", r.label, t.type_name, t.address),
            Err(why) => format!("{}: {why}", r.label),
        };
        lines.push(if i == app.mem_root_sel { Line::styled(text, selected()) } else { Line::from(text) });
    }
    if roots.is_empty() {
        lines.push(Line::from("nothing to open: no goroutine, map or iterator in the analysis"));
    }
    f.render_widget(Paragraph::new(lines).block(block("memory: runtime structures".into())), area);
}

fn trace(f: &mut Frame<'_>, app: &App, a: &Analysis, area: Rect) {
    let Some(t) = &a.trace else {
        f.render_widget(
            Paragraph::new("no trace: open with --trace FILE or --trace-from-core").block(block("trace".into())),
            area,
        );
        return;
    };
    let g = app.current_goroutine();
    let mut lines: Vec<Line<'static>> = vec![Line::from(format!(
        "trace {}: {} of the core's goroutines and {} threads appear in it",
        t.trace_version, t.matched_goroutines, t.matched_threads
    ))];
    match g.and_then(|g| app.trace_of(g.id).map(|tg| (g, tg))) {
        None => lines.push(Line::from("the selected goroutine is not in the trace")),
        Some((g, tg)) => {
            let ms = |ns: u64| ns as f64 / 1e6;
            lines.push(Line::from(format!(
                "goroutine {}: last {:?}, {} transitions",
                g.id, tg.state_at_end, tg.transitions
            )));
            lines.push(Line::from(format!(
                "running {:.3} ms, runnable {:.3} ms, blocked {:.3} ms, in syscalls {:.3} ms",
                ms(tg.running_ns),
                ms(tg.runnable_ns),
                ms(tg.blocked_ns),
                ms(tg.syscall_ns)
            )));
            for (why, ns) in &tg.blocked_by_reason {
                let why = if why.is_empty() { "(no reason given)" } else { why };
                lines.push(Line::from(format!("  blocked on {why}: {:.3} ms", ms(*ns))));
            }
            lines.push(Line::from(""));
            lines.extend(timeline_lines(app, g.id, tg, t.duration_ns, area.width.saturating_sub(2) as usize));
            if !tg.last_events.is_empty() {
                lines.push(Line::from(""));
                lines.push(Line::from("last events before the end of the trace:"));
            }
            for e in &tg.last_events {
                let why = e.reason.as_deref().filter(|r| !r.is_empty()).map(|r| format!(" ({r})"));
                lines.push(Line::from(format!(
                    "  {:.3} ms {:?} -> {:?}{}",
                    ms(e.time_ns),
                    e.from,
                    e.to,
                    why.unwrap_or_default()
                )));
            }
        }
    }
    f.render_widget(Paragraph::new(lines).block(block("trace".into())), area);
}

/// A goroutine state's cell in the timeline: a glyph that reads without
/// colour, and a colour.
fn state_cell(s: Option<GoState>) -> (char, Style) {
    match s {
        Some(GoState::Running) => ('█', Style::new().fg(Color::Green)),
        Some(GoState::Runnable) => ('▒', Style::new().fg(Color::Yellow)),
        Some(GoState::Syscall) => ('s', Style::new().fg(Color::Magenta)),
        Some(GoState::Waiting) => ('·', Style::new().fg(Color::Blue)),
        Some(GoState::NotExist) => ('x', Style::new().fg(Color::DarkGray)),
        Some(GoState::Undetermined) | None => (' ', Style::new()),
    }
}

/// The one-line timeline of a goroutine's states over the trace, its time
/// axis and legend; or why there is none yet.
fn timeline_lines(app: &App, id: u64, tg: &TraceGoroutine, duration_ns: u64, width: usize) -> Vec<Line<'static>> {
    if tg.timeline.is_empty() {
        let why = match app.trace_detail.get(&id) {
            _ if app.trace_pending == Some(id) => "timeline: reading the trace again for this goroutine…".to_string(),
            Some(Err(e)) => format!("timeline: the trace could not be read again: {e}"),
            Some(Ok(_)) => "timeline: no transitions of this goroutine in the trace".to_string(),
            None if app.trace_source.is_none() || app.inspector.is_none() => {
                "timeline: kept only for the findings' and the crashing goroutines in a saved report".to_string()
            }
            None => "timeline: none kept".to_string(),
        };
        return vec![Line::from(why)];
    }
    let width = width.clamp(8, 400);
    let spans: Vec<Span<'static>> = super::timeline::cells(&tg.timeline, duration_ns, width)
        .into_iter()
        .map(|s| {
            let (c, style) = state_cell(s);
            Span::styled(c.to_string(), style)
        })
        .collect();
    let end = format!("{:.3} ms (end of the trace)", duration_ns as f64 / 1e6);
    let from = tg.timeline.first().map_or(0, |s| s.start_ns);
    let start = if tg.timeline_cut {
        format!("from {:.3} ms (older transitions not kept)", from as f64 / 1e6)
    } else {
        "0 ms".to_string()
    };
    let gap = width.saturating_sub(start.chars().count().saturating_add(end.chars().count())).max(1);
    let legend: Vec<Span<'static>> = [GoState::Running, GoState::Runnable, GoState::Syscall, GoState::Waiting]
        .into_iter()
        .flat_map(|s| {
            let (c, style) = state_cell(Some(s));
            let name = match s {
                GoState::Running => "running",
                GoState::Runnable => "runnable",
                GoState::Syscall => "syscall",
                _ => "blocked",
            };
            [Span::styled(c.to_string(), style), Span::raw(format!(" {name}  "))]
        })
        .chain(std::iter::once(Span::raw("(blank: not in the trace yet)")))
        .collect();
    vec![
        Line::from("timeline:"),
        Line::from(spans),
        Line::from(format!("{start}{}{end}", " ".repeat(gap))),
        Line::from(legend),
    ]
}

/// Every key, in the help overlay.
pub const HELP: &[(&str, &str)] = &[
    ("1-6", "Overview, Goroutines, Stack, Maps, Memory, Trace"),
    ("Tab / Shift-Tab", "next / previous view"),
    ("j k ↑ ↓", "move"),
    ("g G Home End", "first / last"),
    ("Ctrl-d Ctrl-u PgDn PgUp", "half page / page"),
    ("Enter", "open: a goroutine, the parent (created by), a map or iterator in memory, a pointer"),
    ("Esc", "back (stack, memory), or clear the filter"),
    ("/", "filter as you type: text, id:N, state:S, fn:F"),
    ("b", "goroutines grouped by stack or flat"),
    ("s", "sort by id, state, wait; in Memory: the mspan holding the structure"),
    ("y", "copy the stack in the runtime's format (OSC 52)"),
    ("e", "open $EDITOR at the frame's file and line"),
    ("w", "save the analysis as JSON"),
    ("?", "this help"),
    ("q Ctrl-c", "quit"),
];

fn help(f: &mut Frame<'_>, area: Rect) {
    let w = area.width.min(76);
    let h = (HELP.len() as u16).saturating_add(2).min(area.height);
    let r = Rect {
        x: area.x.saturating_add(area.width.saturating_sub(w) / 2),
        y: area.y.saturating_add(area.height.saturating_sub(h) / 2),
        width: w,
        height: h,
    };
    let lines: Vec<Line<'static>> = HELP
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{k:<24}"), Style::new().add_modifier(Modifier::BOLD)),
                Span::raw(*what),
            ])
        })
        .collect();
    f.render_widget(Clear, r);
    f.render_widget(Paragraph::new(lines).block(block("keys (any key closes)".into())), r);
}
