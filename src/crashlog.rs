//! Crash logs: a parser for the Go runtime's traceback text (`GOTRACEBACK=crash` output,
//! `SIGQUIT` dumps, panics). It is the oracle gotopsy's tests compare with, and
//! it reads gotopsy's own `goroutines` output back.
//!
//! It copes with what crash output contains besides goroutines: `SIGQUIT`
//! sections, `goroutine 0` and `runtime stack:` blocks, register dumps, and
//! goroutines printed twice (first as "running on other thread", then by the
//! signal handler of that thread): the printing that has frames wins.

/// One frame as printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrintedFrame {
    /// Function under its print name (`panic`, `main.F[...]`).
    pub function: String,
    /// Arguments between the parentheses.
    pub args: String,
    /// Source file.
    pub file: String,
    /// Line.
    pub line: u32,
    /// `+0x…` offset, absent for inlined frames.
    pub offset: Option<u64>,
    /// `fp=`, `sp=`, `pc=` when printed.
    pub fp: Option<u64>,
    /// See `fp`.
    pub sp: Option<u64>,
    /// See `fp`.
    pub pc: Option<u64>,
}

impl PrintedFrame {
    /// Inlined frames print `(...)` and no offset.
    pub fn inlined(&self) -> bool {
        self.offset.is_none() && self.args == "..."
    }
}

/// `created by …` of a goroutine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrintedCreatedBy {
    /// Function (print name).
    pub function: String,
    /// Parent goroutine, when printed.
    pub goroutine: Option<u64>,
    /// File.
    pub file: String,
    /// Line.
    pub line: u32,
    /// Offset.
    pub offset: Option<u64>,
}

/// One goroutine as printed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrintedGoroutine {
    /// Goroutine id.
    pub id: u64,
    /// `gp=` (Go 1.22+ at crash level).
    pub gp: Option<u64>,
    /// `m=` value (`nil` or an id).
    pub m: Option<String>,
    /// Bracketed status with every suffix.
    pub status_full: String,
    /// Frames printed, in order.
    pub frames: Vec<PrintedFrame>,
    /// Index in `frames` where `...N frames elided...` stood, and N.
    pub elided: Option<(usize, u64)>,
    /// `created by`.
    pub created_by: Option<PrintedCreatedBy>,
    /// Printed as "goroutine running on other thread; stack unavailable".
    pub running_elsewhere: bool,
}

impl PrintedGoroutine {
    /// The status without suffixes (see [`base_status`]).
    pub fn status(&self) -> String {
        base_status(&self.status_full)
    }
}

/// A parsed traceback.
#[derive(Clone, Debug, Default)]
pub struct PrintedTraceback {
    /// Goroutines by first appearance; a goroutine printed twice keeps the
    /// printing that has frames.
    pub goroutines: Vec<PrintedGoroutine>,
    /// The `panic: …` text, if any.
    pub panic: Option<String>,
    /// The `fatal error: …` text, if any.
    pub fatal_error: Option<String>,
    /// The signal of a `SIGQUIT: quit` / `SIGSEGV: segmentation violation`
    /// header (followed by `PC=…`): a signal the runtime reported without a
    /// panic or a throw (a SIGQUIT dump, an external kill, a fault outside Go code).
    pub signal: Option<String>,
}

/// Removes every suffix the runtime appends inside the brackets: ` (scan)`,
/// ` (durable)`, ` (leaked)`, `, N minutes`, `, locked to thread`,
/// `, synctest bubble N`. A wait reason of its own such as
/// `select (no cases)` stays whole.
pub fn base_status(full: &str) -> String {
    let mut s = full;
    if let Some(i) = s.find(", synctest bubble ") {
        s = &s[..i];
    }
    if let Some(t) = s.strip_suffix(", locked to thread") {
        s = t;
    }
    if let Some(t) = s.strip_suffix(" minutes") {
        if let Some(i) = t.rfind(", ") {
            if t.get(i..).and_then(|r| r.strip_prefix(", ")).is_some_and(|m| m.chars().all(|c| c.is_ascii_digit())) {
                s = t.get(..i).unwrap_or(s);
            }
        }
    }
    for suffix in [" (durable)", " (scan)", " (leaked)"] {
        if let Some(t) = s.strip_suffix(suffix) {
            s = t;
        }
    }
    s.to_string()
}

fn parse_hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.strip_prefix("0x")?, 16).ok()
}

/// Parses `goroutine N [gp=… m=… mp=…] [status]:` (labels after `]` ignored).
fn parse_header(line: &str) -> Option<PrintedGoroutine> {
    let rest = line.strip_prefix("goroutine ")?;
    let (id, rest) = rest.split_once(' ')?;
    let id: u64 = id.parse().ok()?;
    let open = rest.find('[')?;
    let close = rest.rfind("]")?;
    if close < open || !rest.ends_with(':') {
        return None;
    }
    let status = rest.get(open..close).and_then(|x| x.strip_prefix('['))?;
    let mut g = PrintedGoroutine { id, status_full: status.to_string(), ..Default::default() };
    for kv in rest.get(..open).unwrap_or_default().split_whitespace() {
        match kv.split_once('=') {
            Some(("gp", v)) => g.gp = parse_hex(v),
            Some(("m", v)) => g.m = Some(v.to_string()),
            _ => {}
        }
    }
    Some(g)
}

/// A parsed `\tfile:line [+0xoff] [fp=… sp=… pc=…]` line.
type Location = (String, u32, Option<u64>, [Option<u64>; 3]);

/// Parses `\tfile:line [+0xoff] [fp=… sp=… pc=…]`.
fn parse_location(line: &str) -> Option<Location> {
    let body = line.strip_prefix('\t')?;
    let mut parts = body.split(' ');
    let fileline = parts.next()?;
    let (file, ln) = fileline.rsplit_once(':')?;
    let ln: u32 = ln.parse().ok()?;
    let mut off = None;
    let mut regs = [None; 3];
    for p in parts {
        if let Some(h) = p.strip_prefix('+') {
            off = parse_hex(h);
        } else if let Some((k, v)) = p.split_once('=') {
            let i = match k {
                "fp" => 0,
                "sp" => 1,
                "pc" => 2,
                _ => continue,
            };
            if let Some(r) = regs.get_mut(i) {
                *r = parse_hex(v);
            }
        }
    }
    Some((file.to_string(), ln, off, regs))
}

/// Splits `name(args)` at the parenthesis that opens the arguments.
fn parse_call(line: &str) -> Option<(String, String)> {
    let body = line.strip_suffix(')')?;
    let i = body.rfind('(')?;
    Some((body.get(..i)?.to_string(), body.get(i..)?.strip_prefix('(')?.to_string()))
}

/// `SIGQUIT`, `SIGSEGV`, `SIGRTMIN+3`…
fn is_signal_name(n: &str) -> bool {
    n.strip_prefix("SIG")
        .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'+'))
}

/// Parses a whole traceback text.
pub fn parse(text: &str) -> PrintedTraceback {
    let mut tb = PrintedTraceback::default();
    let mut cur: Option<PrintedGoroutine> = None;
    let mut pending_call: Option<(String, String)> = None;
    let mut pending_created: Option<(String, Option<u64>)> = None;
    let mut skipping = false; // inside a `runtime stack:` or `goroutine 0` block
                              // `SIGQUIT: quit` waiting for the `PC=…` line that makes it the runtime's header.
    let mut signal_header: Option<String> = None;

    let finish = |g: Option<PrintedGoroutine>, tb: &mut PrintedTraceback| {
        let Some(g) = g else { return };
        if g.id == 0 {
            return;
        }
        match tb.goroutines.iter_mut().find(|x| x.id == g.id) {
            Some(prev) => {
                if prev.frames.is_empty() && !g.frames.is_empty() {
                    *prev = g;
                }
            }
            None => tb.goroutines.push(g),
        }
    };

    for raw in text.lines() {
        let line = raw.trim_end_matches('\r');
        if line.is_empty() {
            finish(cur.take(), &mut tb);
            pending_call = None;
            pending_created = None;
            skipping = false;
            continue;
        }
        if cur.is_none() {
            if let Some(m) = line.strip_prefix("panic: ") {
                tb.panic.get_or_insert_with(|| m.to_string());
            } else if let Some(name) = signal_header.take().filter(|_| line.starts_with("PC=")) {
                tb.signal.get_or_insert(name);
            } else if let Some((name, _)) = line.split_once(": ").filter(|(n, _)| is_signal_name(n)) {
                signal_header = Some(name.to_string());
            } else if let Some(mut m) = line.strip_prefix("fatal error: ") {
                // Two threads throwing at once interleave their prefixes.
                while let Some(rest) = m.strip_prefix("fatal error: ") {
                    m = rest;
                }
                tb.fatal_error.get_or_insert_with(|| m.to_string());
            }
        }
        if line == "runtime stack:" {
            finish(cur.take(), &mut tb);
            skipping = true;
            continue;
        }
        if let Some(h) = parse_header(line) {
            finish(cur.take(), &mut tb);
            skipping = h.id == 0;
            cur = Some(h);
            pending_call = None;
            pending_created = None;
            continue;
        }
        if skipping {
            continue;
        }
        let Some(g) = cur.as_mut() else { continue };
        if line == "\tgoroutine running on other thread; stack unavailable" {
            g.running_elsewhere = true;
            continue;
        }
        if let Some(n) = line.strip_prefix("...").and_then(|r| r.strip_suffix(" frames elided...")) {
            if let Ok(n) = n.parse() {
                g.elided = Some((g.frames.len(), n));
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("created by ") {
            let (f, parent) = match rest.rsplit_once(" in goroutine ") {
                Some((f, n)) => (f.to_string(), n.parse().ok()),
                None => (rest.to_string(), None),
            };
            pending_created = Some((f, parent));
            continue;
        }
        if line.starts_with('\t') {
            let Some((file, ln, off, regs)) = parse_location(line) else { continue };
            if let Some((function, goroutine)) = pending_created.take() {
                g.created_by = Some(PrintedCreatedBy { function, goroutine, file, line: ln, offset: off });
            } else if let Some((function, args)) = pending_call.take() {
                g.frames.push(PrintedFrame {
                    function,
                    args,
                    file,
                    line: ln,
                    offset: off,
                    fp: regs[0],
                    sp: regs[1],
                    pc: regs[2],
                });
            }
            continue;
        }
        if let Some(call) = parse_call(line) {
            pending_call = Some(call);
        }
    }
    finish(cur.take(), &mut tb);
    tb
}

impl crate::runtime::user_code::FrameName for PrintedFrame {
    fn function(&self) -> &str {
        &self.function
    }
    fn file(&self) -> &str {
        &self.file
    }
    fn line(&self) -> i32 {
        i32::try_from(self.line).unwrap_or(i32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "panic: boom\n\ngoroutine 1 gp=0xc000002380 m=0 mp=0x5a1b20 [running]:\npanic({0x4a3b40?, 0x4e2a90?})\n\truntime/panic.go:878 +0x159 fp=0xc000068e50 sp=0xc000068da8 pc=0x4805d9\nmain.inner(...)\n\tcrashzoo/main.go:160\nmain.main()\n\tcrashzoo/main.go:30 +0xcd fp=0xc000068e70 sp=0xc000068e50 pc=0x4e694d\n\ngoroutine 5 gp=0xc000003a40 m=nil [chan receive, 3 minutes, locked to thread]:\nruntime.gopark(0x0?)\n\truntime/proc.go:474 +0xca\n...7 frames elided...\nmain.(*T[...]).Run(0x1, {0x2, 0x3})\n\tcrashzoo/main.go:10 +0x10\ncreated by main.main in goroutine 1\n\tcrashzoo/main.go:29 +0x25\n\ngoroutine 7 [running]:\n\tgoroutine running on other thread; stack unavailable\ncreated by main.main in goroutine 1\n\tcrashzoo/main.go:31 +0x40\n\nruntime stack:\nruntime.throw()\n\truntime/panic.go:1 +0x1\n\ngoroutine 0 gp=0x1 m=0 mp=0x2 [idle]:\nruntime.futex()\n\truntime/sys.s:1 +0x1\n\ngoroutine 7 gp=0xc0000 m=3 mp=0x1 [running]:\nmain.spin()\n\tcrashzoo/main.go:99 +0x5 fp=0x1 sp=0x2 pc=0x3\n";

    #[test]
    fn parses_crash_output() {
        let tb = parse(SAMPLE);
        assert_eq!(tb.panic.as_deref(), Some("boom"));
        let ids: Vec<u64> = tb.goroutines.iter().map(|g| g.id).collect();
        assert_eq!(ids, vec![1, 5, 7]);
        let g1 = &tb.goroutines[0];
        assert_eq!(g1.gp, Some(0xc000002380));
        assert_eq!(g1.frames.len(), 3);
        assert_eq!(g1.frames[0].function, "panic");
        assert_eq!(g1.frames[0].pc, Some(0x4805d9));
        assert!(g1.frames[1].inlined());
        let g5 = &tb.goroutines[1];
        assert_eq!(g5.status(), "chan receive");
        assert_eq!(g5.elided, Some((1, 7)));
        assert_eq!(g5.frames[1].function, "main.(*T[...]).Run");
        assert_eq!(g5.frames[1].args, "0x1, {0x2, 0x3}");
        assert_eq!(g5.created_by.as_ref().unwrap().goroutine, Some(1));
        // Printed twice: the printing with frames wins.
        let g7 = &tb.goroutines[2];
        assert!(!g7.running_elsewhere);
        assert_eq!(g7.frames[0].function, "main.spin");
    }

    #[test]
    fn strips_status_suffixes() {
        assert_eq!(base_status("select (no cases)"), "select (no cases)");
        assert_eq!(base_status("chan receive (scan), 12 minutes, locked to thread"), "chan receive");
        assert_eq!(base_status("sleep (durable), synctest bubble 3"), "sleep");
        assert_eq!(base_status("chan receive (leaked)"), "chan receive");
        assert_eq!(base_status("running"), "running");
    }

    #[test]
    fn a_signal_header_is_the_runtimes_only_with_its_pc_line() {
        let t = parse(
            "SIGQUIT: quit\nPC=0x40c84e m=0 sigcode=0\n\ngoroutine 1 [select]:\nmain.main()\n\tx/main.go:4 +0x1\n",
        );
        assert_eq!(t.signal.as_deref(), Some("SIGQUIT"));
        assert_eq!(t.goroutines.len(), 1);
        // A program's own log line that looks alike is not a header.
        assert_eq!(parse("SIGTERM: shutting down\nbye\n").signal, None);
        assert_eq!(parse("panic: x\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x1]\n").signal, None);
    }
}
