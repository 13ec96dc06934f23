//! The terminal UI's state and key handling, apart from drawing and from the
//! terminal: every key is a pure state change, testable without a terminal.

use crate::model::{Analysis, Goroutine, StackGroup, TraceSource};
use crate::runtime::decode::{Decoded, Inspector, Target};
use crate::runtime::user_code::UserFrame;
use crate::trace::TraceGoroutine;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use std::sync::Arc;

/// The views, in the order of their number keys.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum View {
    /// 1: the crash, the program, the findings.
    Overview,
    /// 2: every goroutine, grouped by stack or flat.
    Goroutines,
    /// 3: the selected goroutine's stack.
    Stack,
    /// 4: maps and iterators.
    Maps,
    /// 5: runtime structures in memory.
    Memory,
    /// 6: the trace of the selected goroutine.
    Trace,
}

/// The views in key order.
pub const VIEWS: [View; 6] = [View::Overview, View::Goroutines, View::Stack, View::Maps, View::Memory, View::Trace];

impl View {
    /// The tab title.
    pub fn title(self) -> &'static str {
        match self {
            View::Overview => "1 Overview",
            View::Goroutines => "2 Goroutines",
            View::Stack => "3 Stack",
            View::Maps => "4 Maps",
            View::Memory => "5 Memory",
            View::Trace => "6 Trace",
        }
    }

    fn index(self) -> usize {
        VIEWS.iter().position(|v| *v == self).unwrap_or(0)
    }
}

/// How the goroutine list is ordered.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Sort {
    /// By goroutine id (the flat list) or group size (grouped).
    Id,
    /// By state.
    State,
    /// Longest wait first.
    Wait,
}

/// What the event loop does after a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing more.
    None,
    /// Leave the UI.
    Quit,
    /// Save the analysis as JSON.
    Save,
    /// Copy this text to the clipboard (OSC 52).
    Copy(String),
    /// Open `$EDITOR` at this file and line.
    Edit(std::path::PathBuf, i32),
}

/// One row of the goroutine list: a goroutine, or a group of identical stacks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Row {
    /// Index into the analysis' goroutines.
    Goroutine(usize),
    /// Index into the stack groups.
    Group(usize),
}

/// A line of the overview that Enter follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverviewLink {
    /// The goroutine it opens.
    pub goroutine: u64,
}

/// The whole state of the UI.
pub struct App {
    /// The analysis, once done.
    pub analysis: Option<Arc<Analysis>>,
    /// What the analysis is doing, while it runs.
    pub progress: String,
    /// The view shown.
    pub view: View,
    /// The help overlay is up.
    pub help: bool,
    /// A one-line message for the status bar.
    pub status: Option<String>,
    /// Views that need the core's memory say so when the UI shows a saved report.
    pub from_report: bool,
    /// Overview: the selected link.
    pub overview_sel: usize,
    /// Goroutines: grouped by identical stacks.
    pub grouped: bool,
    /// Goroutines: the filter text.
    pub filter: String,
    /// Goroutines: the filter is being typed.
    pub typing: bool,
    /// Goroutines: the order.
    pub sort: Sort,
    /// Goroutines: the rows the filter and order give.
    pub rows: Vec<Row>,
    /// Goroutines: the selected row.
    pub sel: usize,
    /// Goroutines: the first row shown.
    pub offset: usize,
    /// Stack groups (computed once).
    pub groups: Vec<StackGroup>,
    /// Stack: the goroutine shown (an index into the analysis' goroutines).
    pub stack_of: Option<usize>,
    /// Stack: the selected row (frames, then `created by`).
    pub frame_sel: usize,
    /// Stack: goroutines to go back to with Esc.
    pub back: Vec<usize>,
    /// Maps: the selected row (maps, then iterators).
    pub map_sel: usize,
    /// Rows of the list views the last draw showed (for page moves).
    pub page: usize,
    /// The screen row of the goroutine list's first row (set when drawn; for clicks).
    pub rows_top: u16,
    /// Goroutine indices in each order, computed once (a key must not sort a million rows).
    orders: Vec<(Sort, Vec<usize>)>,
    /// The stack group of each goroutine.
    group_of: Vec<u32>,
    /// Goroutine counts by status, most first (the overview draws them every frame).
    pub state_counts: Vec<(String, usize)>,
    /// Checkouts the build's source paths are looked up in (`--source-root`).
    pub source_roots: Vec<std::path::PathBuf>,
    /// Source files found (or not) for the build's paths.
    sources: std::collections::HashMap<String, Option<std::path::PathBuf>>,
    /// Memory: the open core, read through the runtime model (none for a saved report).
    pub inspector: Option<Arc<Inspector>>,
    /// Memory: the structures opened, the last one shown; Esc goes back.
    pub mem: Vec<MemPage>,
    /// Memory: the selected root while no structure is open.
    pub mem_root_sel: usize,
    /// Trace: where the trace came from, to read one goroutine's history
    /// again (none for a saved report).
    pub trace_source: Option<TraceSource>,
    /// Trace: histories read again for goroutines the analysis kept none of
    /// (the goroutine, or why it could not be read).
    pub trace_detail: std::collections::HashMap<u64, Result<Option<TraceGoroutine>, String>>,
    /// Trace: the goroutine whose history is being read.
    pub trace_pending: Option<u64>,
    /// The crashing goroutine's index, found once (views ask every frame).
    crash_at: Option<usize>,
    /// The memory view's maps and iterators (indices), chosen once.
    mem_picks: (Vec<usize>, Vec<usize>),
}

/// The maps and iterators the memory view offers (indices): those the
/// findings name first, then the first others, 8 of each.
fn memory_picks(a: &Analysis) -> (Vec<usize>, Vec<usize>) {
    let named: Vec<crate::addr::Addr> = a.findings.iter().filter_map(|f| f.map).collect();
    let pick = |is_named: &dyn Fn(usize) -> bool, n: usize| -> Vec<usize> {
        (0..n).filter(|&i| is_named(i)).chain((0..n).filter(|&i| !is_named(i))).take(8).collect()
    };
    let maps = pick(&|i| a.maps.get(i).is_some_and(|h| named.contains(&h.address)), a.maps.len());
    let its = pick(&|i| a.iterators.get(i).is_some_and(|it| named.contains(&it.map)), a.iterators.len());
    (maps, its)
}

/// One decoded structure of the memory view and where its cursor is.
pub struct MemPage {
    /// The structure.
    pub decoded: Decoded,
    /// The selected field.
    pub sel: usize,
}

/// Where the memory view starts: a structure the analysis names.
#[derive(Clone, Debug)]
pub struct MemRoot {
    /// What it is.
    pub label: String,
    /// It, or why it cannot be shown.
    pub target: Result<Target, String>,
}

impl Default for App {
    fn default() -> Self {
        App {
            analysis: None,
            progress: "opening the core".into(),
            view: View::Overview,
            help: false,
            status: None,
            from_report: false,
            overview_sel: 0,
            grouped: true,
            filter: String::new(),
            typing: false,
            sort: Sort::Id,
            rows: Vec::new(),
            sel: 0,
            offset: 0,
            groups: Vec::new(),
            stack_of: None,
            frame_sel: 0,
            back: Vec::new(),
            map_sel: 0,
            page: 20,
            rows_top: u16::MAX,
            orders: Vec::new(),
            group_of: Vec::new(),
            state_counts: Vec::new(),
            source_roots: Vec::new(),
            sources: std::collections::HashMap::new(),
            inspector: None,
            mem: Vec::new(),
            mem_root_sel: 0,
            trace_source: None,
            trace_detail: std::collections::HashMap::new(),
            trace_pending: None,
            crash_at: None,
            mem_picks: (Vec::new(), Vec::new()),
        }
    }
}

/// A goroutine matches a filter: `id:N`, `state:TEXT`, `fn:TEXT`, or bare
/// text matching any of the id, the state, or a frame's function.
fn matches(g: &Goroutine, filter: &str) -> bool {
    let f = filter.trim();
    if f.is_empty() {
        return true;
    }
    if let Some(id) = f.strip_prefix("id:") {
        return id.trim().parse::<u64>().is_ok_and(|id| g.id == id);
    }
    if let Some(s) = f.strip_prefix("state:") {
        return g.status.to_lowercase().contains(&s.trim().to_lowercase());
    }
    if let Some(s) = f.strip_prefix("fn:") {
        return g.frames.iter().any(|fr| fr.function.contains(s.trim()));
    }
    f.parse::<u64>().is_ok_and(|id| g.id == id)
        || g.status.to_lowercase().contains(&f.to_lowercase())
        || g.frames.iter().any(|fr| fr.function.contains(f))
}

impl App {
    /// The UI for an analysis that is done.
    pub fn with_analysis(a: Arc<Analysis>) -> App {
        let mut app = App::default();
        app.set_analysis(a);
        app
    }

    /// The analysis is done: build what the views need once.
    pub fn set_analysis(&mut self, a: Arc<Analysis>) {
        self.crash_at = a.crash.goroutine.and_then(|id| a.goroutines.iter().position(|g| g.id == id));
        self.mem_picks = memory_picks(&a);
        self.groups = a.stack_groups(|_| true);
        self.group_of = vec![0; a.goroutines.len()];
        for (k, g) in self.groups.iter().enumerate() {
            for &i in &g.members {
                if let Some(slot) = self.group_of.get_mut(i) {
                    *slot = k as u32;
                }
            }
        }
        let mut counts: Vec<(String, usize)> = Vec::new();
        for g in &self.groups {
            let Some(first) = g.members.first().and_then(|&i| a.goroutines.get(i)) else { continue };
            match counts.iter_mut().find(|(s, _)| **s == *first.status) {
                Some((_, n)) => *n = n.saturating_add(g.members.len()),
                None => counts.push((first.status.to_string(), g.members.len())),
            }
        }
        counts.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
        self.state_counts = counts;
        self.orders.clear();
        // The flat list's default order, ready before the first key (allgs
        // is usually in id order already: then nothing is sorted).
        let _ = self.order(&a, Sort::Id);
        self.analysis = Some(a);
        self.refilter();
    }

    /// Goroutine indices in `sort` order, computed the first time it is asked for.
    fn order(&mut self, a: &Analysis, sort: Sort) -> &[usize] {
        if !self.orders.iter().any(|(s, _)| *s == sort) {
            let mut v: Vec<usize> = (0..a.goroutines.len()).collect();
            let gs = &a.goroutines;
            match sort {
                Sort::Id if gs.is_sorted_by_key(|g| g.id) => {}
                Sort::Id => v.sort_by_key(|&i| gs.get(i).map(|g| g.id)),
                Sort::State => v.sort_by(|&x, &y| {
                    let (gx, gy) = (gs.get(x), gs.get(y));
                    gx.map(|g| &g.status).cmp(&gy.map(|g| &g.status)).then(gx.map(|g| g.id).cmp(&gy.map(|g| g.id)))
                }),
                Sort::Wait => {
                    v.sort_by_key(|&i| std::cmp::Reverse(gs.get(i).and_then(|g| g.wait_minutes).unwrap_or(-1)))
                }
            }
            self.orders.push((sort, v));
        }
        self.orders.iter().find(|(s, _)| *s == sort).map_or(&[], |(_, v)| v.as_slice())
    }

    /// The local file for a path as the build recorded it: under each
    /// `--source-root`, the path itself, then with its leading directories
    /// dropped one by one (`-trimpath` builds record `module/dir/file.go`;
    /// others the build machine's absolute path). Remembered.
    #[allow(
        clippy::indexing_slicing,
        reason = "indices come from the views table, taken modulo its length, and from the groups the model built"
    )]
    pub fn source_of(&mut self, file: &str) -> Option<std::path::PathBuf> {
        if let Some(found) = self.sources.get(file) {
            return found.clone();
        }
        let parts: Vec<&str> = file.trim_start_matches('/').split('/').filter(|p| !p.is_empty()).collect();
        let found = self
            .source_roots
            .iter()
            .find_map(|root| (0..parts.len()).map(|k| root.join(parts[k..].join("/"))).find(|p| p.is_file()));
        self.sources.insert(file.to_string(), found.clone());
        found
    }

    /// The analysis' goroutine at index `i`.
    pub fn goroutine(&self, i: usize) -> Option<&Goroutine> {
        self.analysis.as_ref()?.goroutines.get(i)
    }

    fn index_of(&self, id: u64) -> Option<usize> {
        self.analysis.as_ref()?.goroutines.iter().position(|g| g.id == id)
    }

    /// The overview's links: the goroutines the findings name, then the crashing one.
    pub fn overview_links(&self) -> Vec<OverviewLink> {
        let Some(a) = &self.analysis else { return Vec::new() };
        let mut out: Vec<OverviewLink> = Vec::new();
        let mut add = |id: u64| {
            if id != 0 && !out.iter().any(|l| l.goroutine == id) {
                out.push(OverviewLink { goroutine: id });
            }
        };
        if let Some(c) = a.crash.goroutine {
            add(c);
        }
        for f in &a.findings {
            for r in &f.goroutines {
                add(r.id);
            }
        }
        out
    }

    /// Recomputes the goroutine rows from the filter and order. Filters by
    /// group where they can (identical stacks share status and functions).
    #[allow(
        clippy::indexing_slicing,
        reason = "indices come from the views table, taken modulo its length, and from the groups the model built"
    )]
    pub fn refilter(&mut self) {
        let Some(a) = self.analysis.clone() else { return };
        let f = self.filter.trim().to_string();
        let by_id = f.starts_with("id:") || f.parse::<u64>().is_ok();
        if self.grouped {
            let mut rows: Vec<usize> = (0..self.groups.len())
                .filter(|&k| {
                    let members = &self.groups[k].members;
                    if by_id {
                        members.iter().any(|&i| a.goroutines.get(i).is_some_and(|g| matches(g, &f)))
                    } else {
                        members.first().and_then(|&i| a.goroutines.get(i)).is_some_and(|g| matches(g, &f))
                    }
                })
                .collect();
            match self.sort {
                Sort::Id => {}
                Sort::State => rows.sort_by_key(|&k| self.group_first(&a, k).map(|g| g.status.clone())),
                Sort::Wait => rows.sort_by_key(|&k| {
                    std::cmp::Reverse(self.group_first(&a, k).and_then(|g| g.wait_minutes).unwrap_or(-1))
                }),
            }
            self.rows = rows.into_iter().map(Row::Group).collect();
        } else {
            // Decide per stack group (identical stacks share status and
            // functions), then walk the goroutines in the order asked for.
            let hit: Vec<bool> = self
                .groups
                .iter()
                .map(|grp| {
                    f.is_empty()
                        || by_id
                        || grp.members.first().and_then(|&i| a.goroutines.get(i)).is_some_and(|g| matches(g, &f))
                })
                .collect();
            let group_of = std::mem::take(&mut self.group_of);
            let sort = self.sort;
            let rows: Vec<Row> = self
                .order(&a, sort)
                .iter()
                .copied()
                .filter(|&i| group_of.get(i).and_then(|&k| hit.get(k as usize)).copied().unwrap_or(false))
                .filter(|&i| !by_id || a.goroutines.get(i).is_some_and(|g| matches(g, &f)))
                .map(Row::Goroutine)
                .collect();
            self.group_of = group_of;
            self.rows = rows;
        }
        self.sel = self.sel.min(self.rows.len().saturating_sub(1));
        self.offset = self.offset.min(self.sel);
    }

    fn group_first<'a>(&self, a: &'a Analysis, k: usize) -> Option<&'a Goroutine> {
        self.groups.get(k).and_then(|g| g.members.first()).and_then(|&i| a.goroutines.get(i))
    }

    /// The goroutine a goroutine-list row stands for (a group's first member).
    pub fn row_goroutine(&self, r: &Row) -> Option<usize> {
        match r {
            Row::Goroutine(i) => Some(*i),
            Row::Group(k) => self.groups.get(*k).and_then(|g| g.members.first()).copied(),
        }
    }

    /// The user frame of goroutine `g` (by the analysis' Go version).
    pub fn user_frame(&self, g: &Goroutine) -> Option<UserFrame> {
        g.user_frame(self.analysis.as_ref().and_then(|a| a.target.go_minor()))
    }

    /// Opens goroutine `i`'s stack, remembering where we were.
    pub fn open_stack(&mut self, i: usize) {
        if self.view == View::Stack {
            if let Some(cur) = self.stack_of {
                self.back.push(cur);
            }
        }
        self.stack_of = Some(i);
        // A crashing goroutine opens where the runtime's printout starts
        // (the signal handler's frames above stay reachable with k).
        self.frame_sel = self.goroutine(i).map_or(0, crate::report::traceback::crash_start);
        self.view = View::Stack;
    }

    /// The memory view shows keys, values and string bytes (`--show-values`).
    pub fn shows_values(&self) -> bool {
        self.inspector.as_ref().is_some_and(|i| i.show_values())
    }

    /// The goroutine the views that show one follow: the stack's, else the crashing one.
    pub fn current_goroutine(&self) -> Option<&Goroutine> {
        let a = self.analysis.as_ref()?;
        self.stack_of.or(self.crash_at).and_then(|i| a.goroutines.get(i))
    }

    /// The trace's history of goroutine `id`: the one read again for it, else
    /// the analysis's.
    pub fn trace_of(&self, id: u64) -> Option<&TraceGoroutine> {
        if let Some(Ok(Some(tg))) = self.trace_detail.get(&id) {
            return Some(tg);
        }
        self.analysis.as_ref()?.trace.as_ref()?.goroutines.get(&id)
    }

    /// The goroutine whose full trace history the trace view needs read
    /// again: the current one, when the view shows it, the analysis kept no
    /// timeline of it, the trace can be read again, and no read of it is
    /// done or under way.
    pub fn wants_trace_detail(&self) -> Option<u64> {
        if self.view != View::Trace || self.trace_source.is_none() || self.inspector.is_none() {
            return None;
        }
        let g = self.current_goroutine()?.id;
        let kept = self.analysis.as_ref()?.trace.as_ref()?.goroutines.get(&g);
        let missing = kept.is_some_and(|tg| tg.timeline.is_empty() && tg.transitions > 0);
        (missing && self.trace_pending != Some(g) && !self.trace_detail.contains_key(&g)).then_some(g)
    }

    /// Where the memory view starts: the current goroutine's `g`, its `m`
    /// and the span holding the `g`; the maps and iterators the findings name
    /// (then others, a few of each).
    pub fn memory_roots(&self) -> Vec<MemRoot> {
        let (Some(a), Some(insp)) = (&self.analysis, &self.inspector) else { return Vec::new() };
        let mut out = Vec::new();
        if let Some(g) = self.current_goroutine() {
            out.push(MemRoot { label: format!("goroutine {}: its g", g.id), target: insp.g(g.address, g.id) });
            if let Some(m) = g.mp() {
                let label =
                    format!("goroutine {}: its m{}", g.id, g.m().map(|id| format!(" (M {id})")).unwrap_or_default());
                out.push(MemRoot { label, target: insp.m(m, g.m()) });
            }
            out.push(MemRoot {
                label: format!("goroutine {}: the mspan holding its g", g.id),
                target: insp.span_of(g.address),
            });
        }
        for h in self.mem_picks.0.iter().filter_map(|&i| a.maps.get(i)) {
            let label = format!("map {} {} len {}", h.address, h.type_name.as_deref().unwrap_or("?"), h.len);
            out.push(MemRoot { label, target: insp.map_header(h.address, h.type_name.as_deref()) });
        }
        for it in self.mem_picks.1.iter().filter_map(|&i| a.iterators.get(i)) {
            let label =
                format!("iterator {} of goroutine {} over map {}: {}", it.address, it.goroutine, it.map, it.state);
            out.push(MemRoot { label, target: insp.iterator(it.address) });
        }
        out
    }

    /// Opens a structure in the memory view.
    pub fn open_memory(&mut self, t: Result<Target, String>) {
        let Some(insp) = self.inspector.clone() else {
            self.status = Some("a saved report holds no memory: open the core".into());
            return;
        };
        match t.and_then(|t| insp.decode(&t)) {
            Ok(decoded) => {
                // Bounded history: the oldest page goes first.
                if self.mem.len() >= 64 {
                    self.mem.remove(0);
                }
                self.mem.push(MemPage { decoded, sel: 0 });
                self.view = View::Memory;
            }
            Err(why) => self.status = Some(why),
        }
    }

    fn list_len(&self) -> usize {
        match self.view {
            View::Overview => self.overview_links().len(),
            View::Goroutines => self.rows.len(),
            View::Stack => {
                self.stack_of.and_then(|i| self.goroutine(i)).map_or(0, |g| g.frames.len().saturating_add(1))
            }
            View::Maps => self.analysis.as_ref().map_or(0, |a| a.maps.len().saturating_add(a.iterators.len())),
            View::Memory => match self.mem.last() {
                Some(page) => page.decoded.rows.len(),
                None => self.memory_roots().len(),
            },
            View::Trace => 0,
        }
    }

    fn cursor(&mut self) -> &mut usize {
        match self.view {
            View::Overview => &mut self.overview_sel,
            View::Goroutines => &mut self.sel,
            View::Stack => &mut self.frame_sel,
            View::Memory => {
                let App { mem, mem_root_sel, .. } = self;
                match mem.last_mut() {
                    Some(page) => &mut page.sel,
                    None => mem_root_sel,
                }
            }
            View::Maps | View::Trace => &mut self.map_sel,
        }
    }

    fn move_by(&mut self, delta: isize) {
        let len = self.list_len();
        let c = self.cursor();
        *c = if len == 0 { 0 } else { c.saturating_add_signed(delta).min(len.saturating_sub(1)) };
    }

    fn move_to(&mut self, end: bool) {
        let len = self.list_len();
        *self.cursor() = if end { len.saturating_sub(1) } else { 0 };
    }

    /// Handles a mouse event: the wheel scrolls the list shown.
    /// The wheel scrolls the list shown; a click on the tab bar opens that
    /// view, a click on a goroutine row selects it (a second click opens it).
    pub fn mouse(&mut self, m: MouseEvent) {
        match m.kind {
            MouseEventKind::ScrollDown => self.move_by(3),
            MouseEventKind::ScrollUp => self.move_by(-3),
            MouseEventKind::Down(crossterm::event::MouseButton::Left) => {
                if m.row == 0 {
                    if let Some(v) = self.tab_at(m.column) {
                        self.view = v;
                    }
                } else if self.view == View::Goroutines && m.row >= self.rows_top {
                    let at = self.offset.saturating_add(usize::from(m.row.saturating_sub(self.rows_top)));
                    if at < self.rows.len() {
                        if at == self.sel {
                            self.enter();
                        } else {
                            self.sel = at;
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// The view whose tab title is drawn at `column` (titles and `|` dividers, one space around each).
    fn tab_at(&self, column: u16) -> Option<View> {
        let mut x = 0u16;
        for v in VIEWS {
            let w = u16::try_from(v.title().chars().count()).unwrap_or(0).saturating_add(2);
            if column < x.saturating_add(w) {
                return Some(v);
            }
            x = x.saturating_add(w).saturating_add(1);
        }
        None
    }

    /// Handles one key.
    #[allow(
        clippy::indexing_slicing,
        reason = "indices come from the views table, taken modulo its length, and from the groups the model built"
    )]
    pub fn key(&mut self, k: KeyEvent) -> Action {
        self.status = None;
        if self.typing {
            match k.code {
                KeyCode::Esc => {
                    self.typing = false;
                    self.filter.clear();
                    self.refilter();
                }
                KeyCode::Enter => self.typing = false,
                KeyCode::Backspace => {
                    self.filter.pop();
                    self.refilter();
                }
                KeyCode::Char(c) => {
                    self.filter.push(c);
                    self.sel = 0;
                    self.offset = 0;
                    self.refilter();
                }
                _ => {}
            }
            return Action::None;
        }
        if self.help {
            self.help = false;
            return Action::None;
        }
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        let page = self.page.max(2) as isize / 2;
        match k.code {
            KeyCode::Char('c') if ctrl => return Action::Quit,
            KeyCode::Char('q') => return Action::Quit,
            KeyCode::Char('?') => self.help = true,
            KeyCode::Char(d @ '1'..='6') => self.view = VIEWS[(d as usize).saturating_sub('1' as usize)],
            KeyCode::Tab => {
                self.view = VIEWS[self.view.index().saturating_add(1).checked_rem(VIEWS.len()).unwrap_or(0)]
            }
            KeyCode::BackTab => {
                self.view = VIEWS[self
                    .view
                    .index()
                    .saturating_add(VIEWS.len().saturating_sub(1))
                    .checked_rem(VIEWS.len())
                    .unwrap_or(0)]
            }
            KeyCode::Char('d') if ctrl => self.move_by(page),
            KeyCode::Char('u') if ctrl => self.move_by(page.saturating_neg()),
            KeyCode::Down | KeyCode::Char('j') => self.move_by(1),
            KeyCode::Up | KeyCode::Char('k') => self.move_by(-1),
            KeyCode::PageDown => self.move_by(self.page.max(1) as isize),
            KeyCode::PageUp => self.move_by((self.page.max(1) as isize).saturating_neg()),
            KeyCode::Home | KeyCode::Char('g') => self.move_to(false),
            KeyCode::End | KeyCode::Char('G') => self.move_to(true),
            KeyCode::Char('w') => return Action::Save,
            KeyCode::Char('/') if self.view == View::Goroutines => self.typing = true,
            KeyCode::Char('b') if self.view == View::Goroutines => {
                self.grouped = !self.grouped;
                self.sel = 0;
                self.offset = 0;
                self.refilter();
            }
            KeyCode::Char('s') if self.view == View::Goroutines => {
                self.sort = match self.sort {
                    Sort::Id => Sort::State,
                    Sort::State => Sort::Wait,
                    Sort::Wait => Sort::Id,
                };
                self.refilter();
            }
            KeyCode::Char('y') if self.view == View::Stack => {
                if let (Some(g), Some(a)) = (self.stack_of.and_then(|i| self.goroutine(i)), &self.analysis) {
                    let mut b = Vec::new();
                    let style = crate::report::traceback::Style::for_go(a.target.go_minor().unwrap_or(0));
                    if crate::report::traceback::write_goroutine(&mut b, g, style).is_ok() {
                        self.status = Some(format!("goroutine {} copied (OSC 52)", g.id));
                        return Action::Copy(String::from_utf8_lossy(&b).into_owned());
                    }
                }
            }
            KeyCode::Char('e') if self.view == View::Stack => {
                let at = self
                    .stack_of
                    .and_then(|i| self.goroutine(i))
                    .and_then(|g| g.frames.get(self.frame_sel))
                    .map(|f| (f.file.to_string(), f.line));
                if let Some((file, line)) = at {
                    match self.source_of(&file) {
                        Some(path) => return Action::Edit(path, line),
                        None => self.status = Some(format!("{file}: not found locally (give --source-root DIR)")),
                    }
                }
            }
            KeyCode::Esc if self.view == View::Memory => {
                self.mem.pop();
            }
            KeyCode::Char('s') if self.view == View::Memory => {
                if let Some(a) = self.mem.last().map(|p| p.decoded.target.address) {
                    let t = match &self.inspector {
                        Some(insp) => insp.span_of(a),
                        None => Err("a saved report holds no memory".into()),
                    };
                    self.open_memory(t);
                }
            }
            KeyCode::Esc => {
                if self.view == View::Stack {
                    match self.back.pop() {
                        Some(i) => {
                            self.stack_of = Some(i);
                            self.frame_sel = 0;
                        }
                        None => self.view = View::Goroutines,
                    }
                } else if self.view == View::Goroutines && !self.filter.is_empty() {
                    self.filter.clear();
                    self.refilter();
                }
            }
            KeyCode::Enter => self.enter(),
            _ => {}
        }
        Action::None
    }

    fn enter(&mut self) {
        match self.view {
            View::Overview => {
                let links = self.overview_links();
                if let Some(i) = links.get(self.overview_sel).and_then(|l| self.index_of(l.goroutine)) {
                    self.open_stack(i);
                }
            }
            View::Goroutines => {
                if let Some(i) = self.rows.get(self.sel).and_then(|r| self.row_goroutine(r)) {
                    self.open_stack(i);
                }
            }
            View::Stack => {
                // Enter on `created by` opens the parent goroutine.
                let Some(g) = self.stack_of.and_then(|i| self.goroutine(i)) else { return };
                if self.frame_sel == g.frames.len() {
                    let parent = g.created_by.as_ref().map(|c| c.goroutine).filter(|&p| p != 0);
                    match parent.and_then(|p| self.index_of(p).map(|i| (p, i))) {
                        Some((_, i)) => self.open_stack(i),
                        None => {
                            self.status = Some(match parent {
                                Some(p) => format!("goroutine {p} has exited: it is not in the core"),
                                None => "no parent goroutine recorded".into(),
                            })
                        }
                    }
                }
            }
            View::Maps => {
                let (Some(a), Some(insp)) = (self.analysis.clone(), self.inspector.clone()) else {
                    if self.from_report {
                        self.status = Some("a saved report holds no memory: open the core to read the map".into());
                    }
                    return;
                };
                let t = match a.maps.get(self.map_sel) {
                    Some(h) => insp.map_header(h.address, h.type_name.as_deref()),
                    None => match a.iterators.get(self.map_sel.saturating_sub(a.maps.len())) {
                        Some(it) => insp.iterator(it.address),
                        None => return,
                    },
                };
                self.open_memory(t);
            }
            View::Memory => match self.mem.last() {
                None => {
                    if let Some(r) = self.memory_roots().into_iter().nth(self.mem_root_sel) {
                        self.open_memory(r.target);
                    }
                }
                Some(page) => {
                    let row = page.decoded.rows.get(page.sel);
                    match row.and_then(|r| r.follow.clone()) {
                        Some(t) => self.open_memory(Ok(t)),
                        None => {
                            self.status = Some(match row {
                                Some(r) if r.secret && !self.shows_values() => {
                                    format!("{} is held back (--show-values shows it)", r.name)
                                }
                                Some(r) => format!("{} is not a typed, non-nil pointer", r.name),
                                None => "no field selected".into(),
                            })
                        }
                    }
                }
            },
            View::Trace => {}
        }
    }
}
