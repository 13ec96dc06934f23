//! The human-readable report of `gotopsy analyze` (and `gotopsy report`):
//! what died and how, the warnings that matter, the findings with both sides
//! of a map race in the user's code, the named goroutines' stacks, the
//! crashing goroutine in full, live map iterators, then every other goroutine
//! grouped by identical stacks (as panicparse groups them), largest group first.

use super::traceback::{crash_start, write_goroutine, write_goroutine_from, Style};
use crate::analysis::{GoroutineRole, Severity};
use crate::model::{Analysis, Goroutine, GoroutineFilter};
use crate::runtime::user_code::UserFrame;
use rustc_hash::FxHashSet;
use std::io::{self, Write};

/// Goroutine ids listed for a group before "and N more".
const GROUP_IDS: usize = 20;

/// `main.f (main.go:45)`.
pub fn user_frame_text(u: &UserFrame) -> String {
    format!("{} ({}:{})", u.function, u.file, u.line)
}

/// One line for a goroutine's role: `writer: goroutine 7 at main.f (main.go:52), inside runtime.mapassign_fast64`.
pub fn role_text(r: &GoroutineRole) -> String {
    let mut s = format!("{}: goroutine {}", r.role, r.id);
    if let Some(u) = &r.user_frame {
        s.push_str(&format!(" at {}", user_frame_text(u)));
    }
    match (&r.frame, &r.user_frame) {
        (Some(fr), Some(u)) if **fr != *u.function => s.push_str(&format!(", inside {fr}")),
        (Some(fr), None) => s.push_str(&format!(" in {fr}")),
        _ => {}
    }
    s
}

/// How the text names a map: `main.inventory (map[string]int, 500 entries, at 0xc000064090)`;
/// a frame variable as `m in main.f.func1 (…)`; else `map[K]V at 0x…`.
pub fn map_title(a: &Analysis, f: &crate::analysis::Finding) -> Option<String> {
    let addr = f.map?;
    let h = a.maps.binary_search_by_key(&addr, |h| h.address).ok().and_then(|i| a.maps.get(i));
    let what = match h {
        Some(h) => format!("{}, {} entries, at {addr}", h.type_name.as_deref().unwrap_or("map"), h.len),
        None => format!("at {addr}"),
    };
    let globals: Vec<&str> = f.map_names.iter().filter(|n| n.goroutine.is_none()).map(|n| n.name.as_str()).collect();
    let mut locals: Vec<String> = Vec::new();
    for n in f.map_names.iter().filter(|n| n.goroutine.is_some()) {
        let s = format!("{} in {}", n.name, n.function.as_deref().unwrap_or("?"));
        if !locals.contains(&s) {
            locals.push(s);
        }
    }
    Some(match (globals.is_empty(), locals.is_empty()) {
        (false, _) => format!("map {} ({what})", globals.join(", ")),
        (true, false) => format!("map {} ({what})", locals.join(", ")),
        (true, true) => format!("map ({what})"),
    })
}

/// How the text report is written.
#[derive(Clone, Debug, Default)]
pub struct TextOptions {
    /// Which goroutines the stack sections list (findings always name theirs).
    pub filter: GoroutineFilter,
    /// Show the crashing goroutine's signal-handler and system-stack frames.
    pub all_frames: bool,
    /// ANSI colours (severities, section headings).
    pub color: bool,
}

/// Colours of the text report.
struct Paint(bool);

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn heading(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    fn severity(&self, sev: Severity) -> String {
        let code = match sev {
            Severity::Critical => "1;31",
            Severity::Warning => "33",
            Severity::Info => "36",
        };
        self.wrap(code, &format!("[{sev}]"))
    }
}

/// Writes the text report.
pub fn write(w: &mut dyn Write, a: &Analysis) -> io::Result<()> {
    write_with(w, a, &TextOptions::default())
}

/// Writes the text report with options.
pub fn write_with(w: &mut dyn Write, a: &Analysis, o: &TextOptions) -> io::Result<()> {
    let paint = Paint(o.color);
    let style = Style::for_go(a.target.go_minor().unwrap_or(0));
    let t = &a.target;
    writeln!(w, "gotopsy {} — core {}", a.tool_version, t.core)?;
    writeln!(
        w,
        "program  {} ({}{}{}{}), pid {}",
        t.executable,
        t.go_version,
        t.goarch.as_deref().map(|a| format!(", linux/{a}")).unwrap_or_default(),
        t.goexperiment.as_deref().map(|e| format!(", GOEXPERIMENT={e}")).unwrap_or_default(),
        if t.pie { ", PIE" } else { "" },
        t.pid.map(|p| p.to_string()).unwrap_or_else(|| "?".into())
    )?;
    let c = &a.crash;
    write!(w, "crash    {}", c.kind)?;
    if let Some(m) = &c.message {
        write!(w, ": {m}")?;
    }
    if let Some(g) = c.goroutine {
        write!(w, " (goroutine {g}")?;
        if let Some(u) = &c.user_frame {
            write!(w, " at {}", user_frame_text(u))?;
        }
        write!(w, ")")?;
    }
    if let Some(s) = &c.signal {
        write!(w, "; core written on {}", s.name)?;
    }
    writeln!(w)?;
    if let Some(f) = &c.fault {
        writeln!(w, "fault    {} code={:#x} addr={} pc={}", f.signal.name, f.code, f.addr, f.pc)?;
    }
    writeln!(w, "goroutines {}, threads {}", a.goroutines.len(), t.threads)?;
    writeln!(w, "signature {}", a.signature().signature)?;
    // The warnings a person must see before trusting the report come first;
    // the rest close the report.
    let (matter, rest_warnings): (Vec<_>, Vec<_>) = a.warnings.iter().partition(|x| x.kind.matters());
    if !matter.is_empty() {
        writeln!(w, "\n{}", paint.heading("== warnings =="))?;
        for x in &matter {
            writeln!(w, "- {x}")?;
        }
    }
    if let Some(alone) = &a.core_alone {
        write_core_alone(w, alone, &paint)?;
    }

    let mut shown: FxHashSet<u64> = FxHashSet::default();
    if !a.findings.is_empty() {
        writeln!(w, "\n{}", paint.heading("== findings =="))?;
        for f in &a.findings {
            writeln!(w, "{} {} {}: {}", f.id, paint.severity(f.severity), f.kind, f.summary)?;
            if let Some(m) = map_title(a, f) {
                writeln!(w, "    {m}")?;
            }
            for g in &f.goroutines {
                write!(w, "    {}", role_text(g))?;
                if let Some(why) = &g.reason {
                    write!(w, " ({why})")?;
                }
                writeln!(w)?;
            }
            for e in &f.evidence {
                writeln!(w, "    evidence: {e}")?;
            }
        }
        // The stacks of the goroutines the findings name, other than the crashing one, once each.
        for f in &a.findings {
            for r in &f.goroutines {
                if Some(r.id) == c.goroutine || !shown.insert(r.id) {
                    continue;
                }
                if let Some(g) = a.goroutine(r.id) {
                    writeln!(w, "\n-- goroutine {} ({} in {}) --", g.id, r.role, f.id)?;
                    write_goroutine(w, g, style)?;
                }
            }
        }
    }

    if let Some(g) = a.crashing_goroutine() {
        shown.insert(g.id);
        if o.filter.matches(g) {
            writeln!(w, "\n{}", paint.heading("== crashing goroutine =="))?;
            let start = if o.all_frames { 0 } else { crash_start(g) };
            if start > 0 {
                writeln!(
                    w,
                    "({start} frames of the signal handler and the runtime's crash path before where the runtime's printout starts are folded; --all-frames shows them)"
                )?;
            }
            write_goroutine_from(w, g, style, start)?;
        }
    }

    let live: Vec<_> = a.iterators.iter().collect();
    if !live.is_empty() {
        writeln!(w, "\n{}", paint.heading(&format!("== map iterators: {} ==", live.len())))?;
        for it in live {
            let holder = match &it.held_by {
                Some(by) => by.clone(),
                None => format!("goroutine {} in {}", it.goroutine, it.function),
            };
            let ty = a
                .maps
                .binary_search_by_key(&it.map, |h| h.address)
                .ok()
                .and_then(|i| a.maps.get(i))
                .and_then(|h| h.type_name.as_deref().map(|t| format!(" ({t}, {} entries)", h.len)))
                .unwrap_or_default();
            writeln!(w, "{holder}: iterator at {} over map {}{ty}: {}, {}", it.address, it.map, it.state, it.liveness)?;
        }
    }

    if a.maps.iter().any(|h| h.entries.is_some()) {
        writeln!(w, "\n{}", paint.heading("== map entries (--show-values) =="))?;
        for h in a.maps.iter().filter(|h| h.entries.is_some()) {
            let names: Vec<&str> = h.names.iter().map(|n| n.name.as_str()).collect();
            let named = if names.is_empty() { String::new() } else { format!("{} ", names.join(", ")) };
            writeln!(
                w,
                "map {named}({}, {} entries, at {}):",
                h.type_name.as_deref().unwrap_or("map"),
                h.len,
                h.address
            )?;
            for e in h.entries.iter().flatten() {
                writeln!(w, "    {}: {}", e.key_text(), e.value_text())?;
            }
            if let Some(n) = &h.entries_note {
                writeln!(w, "    ({n})")?;
            }
        }
    }

    let rest = |g: &Goroutine| !shown.contains(&g.id) && o.filter.matches(g);
    let groups = a.stack_groups(rest);
    let count: usize = groups.iter().map(|g| g.members.len()).sum();
    let heading = format!("== other goroutines: {count} in {} groups of identical stacks ==", groups.len());
    // Without the executable there are no goroutines to speak of.
    if a.core_alone.is_none() || !a.goroutines.is_empty() {
        writeln!(w, "\n{}", paint.heading(&heading))?;
    }
    for grp in &groups {
        let Some(first) = grp.members.first().and_then(|&i| a.goroutines.get(i)) else { continue };
        writeln!(w)?;
        if grp.members.len() > 1 {
            let ids: Vec<String> = grp
                .members
                .iter()
                .take(GROUP_IDS)
                .filter_map(|&i| a.goroutines.get(i))
                .map(|g| g.id.to_string())
                .collect();
            let more = if grp.members.len() > GROUP_IDS {
                format!(" and {} more", grp.members.len().saturating_sub(GROUP_IDS))
            } else {
                String::new()
            };
            writeln!(w, "{} goroutines like this one: {}{}", grp.members.len(), ids.join(", "), more)?;
        }
        write_goroutine(w, first, style)?;
        for n in first.notes() {
            writeln!(w, "\t(note: {n})")?;
        }
    }
    if !rest_warnings.is_empty() {
        writeln!(w, "\n{}", paint.heading("== other warnings =="))?;
        for x in &rest_warnings {
            writeln!(w, "- {x}")?;
        }
    }
    Ok(())
}

/// What a core alone says (no executable): its threads with their registers
/// and its file mappings.
fn write_core_alone(w: &mut dyn Write, c: &crate::model::CoreAlone, paint: &Paint) -> io::Result<()> {
    writeln!(w, "\n{}", paint.heading(&format!("== threads: {} ==", c.threads.len())))?;
    for t in &c.threads {
        write!(w, "thread {}", t.lwp)?;
        if let Some(s) = &t.signal {
            write!(w, " ({s})")?;
        }
        write!(w, "  pc={} sp={} fp={}", t.pc, t.sp, t.fp)?;
        if let Some(lr) = t.lr {
            write!(w, " lr={lr}")?;
        }
        writeln!(w, " g={}", t.g)?;
    }
    writeln!(w, "\n{}", paint.heading(&format!("== mappings: {} ==", c.mappings.len())))?;
    for m in &c.mappings {
        writeln!(w, "{}-{} {:#x} {}", m.start, m.end, m.file_offset, m.path)?;
    }
    Ok(())
}
