//! Turns physical frames into the logical frames the runtime prints: inlined
//! calls expanded, lines looked up at the runtime's `symPC`, argument words
//! formatted from `FUNCDATA_ArgInfo`.

use super::unwind::PhysFrame;
use crate::addr::Addr;
use crate::exe::pclntab::{funcdata, pcdata, Func, Pclntab};
use crate::intern::Interner;
use crate::memory::{Memory, ReadExt};
use rustc_hash::FxHashMap as HashMap;
use std::rc::Rc;
use std::sync::Arc;

/// What a frame shares with the same frame of every goroutine stopped at the
/// same place: function, file, line, pc. Stored once (`Arc`), however many
/// goroutines stand there.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FrameSite {
    /// Symbol name (`runtime.gopanic`, `main.F[go.shape.int]`).
    pub function: Arc<str>,
    /// Source file as recorded in the binary.
    pub file: Arc<str>,
    /// Line number.
    pub line: i32,
    /// Program counter of the physical frame.
    pub pc: Addr,
    /// Function entry of the physical frame (`pc − entry` is the `+0x…` the runtime prints).
    pub entry: Addr,
    /// True for a call inlined into the next frame.
    pub inlined: bool,
    /// True when the frame is on a system stack (g0 or gsignal), not the goroutine's.
    pub system_stack: bool,
    /// Line of the function's `func` keyword (the pclntab's `startLine`; 0
    /// when unknown, as in a saved report, which does not carry it).
    pub start_line: i32,
}

/// A frame as the runtime prints it: its shared [`FrameSite`] (whose fields
/// read through: `frame.function`), and what is this goroutine's own — the
/// stack addresses and the argument words. Frames own their data.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(from = "FrameJson")]
pub struct Frame {
    /// Function, file, line, pc, entry, inlined, system stack.
    pub site: Arc<FrameSite>,
    /// Stack pointer.
    pub sp: Addr,
    /// Caller's stack pointer.
    pub fp: Addr,
    /// Argument words as the runtime prints them, without parentheses
    /// (`0x1, {0x2, 0x3}`); `...` for inlined frames (interned).
    pub args: Arc<str>,
}

impl std::ops::Deref for Frame {
    type Target = FrameSite;
    fn deref(&self) -> &FrameSite {
        &self.site
    }
}

/// A frame as the report's JSON holds it (`print_name` is derived, not read;
/// the writer is `model`'s).
#[derive(serde::Deserialize)]
struct FrameJson {
    function: String,
    file: String,
    line: i32,
    pc: Addr,
    sp: Addr,
    fp: Addr,
    #[serde(default)]
    offset: u64,
    inlined: bool,
    args: String,
    #[serde(default)]
    system_stack: bool,
}

impl From<FrameJson> for Frame {
    fn from(j: FrameJson) -> Frame {
        let site = FrameSite {
            function: crate::intern::shared(&j.function),
            file: crate::intern::shared(&j.file),
            line: j.line,
            pc: j.pc,
            entry: Addr(j.pc.0.wrapping_sub(j.offset)),
            inlined: j.inlined,
            system_stack: j.system_stack,
            start_line: 0,
        };
        Frame { site: shared_site(site), sp: j.sp, fp: j.fp, args: crate::intern::shared(&j.args) }
    }
}

thread_local! {
    /// Frame sites shared while a saved report is read.
    static SITES: std::cell::RefCell<rustc_hash::FxHashSet<Arc<FrameSite>>> = Default::default();
}

/// The shared copy of a frame site (while a report is read).
fn shared_site(s: FrameSite) -> Arc<FrameSite> {
    SITES.with(|set| {
        let mut set = set.borrow_mut();
        if let Some(a) = set.get(&s) {
            return a.clone();
        }
        let a = Arc::new(s);
        set.insert(a.clone());
        a
    })
}

/// Forgets the sites shared while the reading thread read a report.
pub fn forget_shared_sites() {
    SITES.with(|s| s.borrow_mut().clear());
}

impl FrameSite {
    /// The runtime's print name: `panic` for `runtime.gopanic`, `F[...]` for generics.
    pub fn print_name(&self) -> std::borrow::Cow<'_, str> {
        print_name(&self.function)
    }

    /// `pc − entry`, the offset the runtime prints as `+0x…`.
    pub fn offset(&self) -> u64 {
        self.pc.checked_sub(self.entry).unwrap_or(0)
    }
}

/// The runtime's `printFuncName`.
pub fn print_name(name: &str) -> std::borrow::Cow<'_, str> {
    if name == "runtime.gopanic" {
        return "panic".into();
    }
    match name_pieces_for_print(name) {
        (a, "", "", "", "") => a.into(),
        (a, b, c, d, e) => format!("{a}{b}{c}{d}{e}").into(),
    }
}

/// The runtime's `funcNamePiecesForPrint`: shortens type arguments to `[...]`.
fn name_pieces_for_print(name: &str) -> (&str, &str, &str, &str, &str) {
    let Some(i) = name.find('[') else { return (name, "", "", "", "") };
    let Some(j) = name.rfind(']') else { return (name, "", "", "", "") };
    if j <= i {
        return (name, "", "", "", "");
    }
    let interior = &name[i.saturating_add(1)..j];
    if !interior.contains('[') {
        return (&name[..i], "[...]", &name[j.saturating_add(1)..], "", "");
    }
    let mut depth = 1i32;
    let (mut rbr, mut lbr) = (None, None);
    for (k, c) in interior.char_indices() {
        if c == '[' {
            depth = depth.saturating_add(1);
            if depth != 1 {
                continue;
            }
            lbr = Some(k);
            break;
        }
        if c == ']' {
            depth = depth.saturating_sub(1);
            if depth < 0 {
                break;
            }
            if depth != 0 {
                continue;
            }
            rbr = Some(k);
        }
    }
    if depth == 1 {
        match (rbr, lbr) {
            (Some(r), Some(l)) if l > r => {
                return (&name[..i], "[...]", &interior[r.saturating_add(1)..l], "[...]", &name[j.saturating_add(1)..])
            }
            (None, None) => return (&name[..i], "[...]", &name[j.saturating_add(1)..], "", ""),
            _ => {}
        }
    }
    (name, "", "", "", "")
}

#[derive(Clone)]
struct Logical {
    function: Arc<str>,
    file: Arc<str>,
    line: i32,
    start_line: i32,
    inlined: bool,
}

/// What a physical pc resolves to, cached.
#[derive(Clone)]
struct Resolved<'a> {
    func: Func<'a>,
    logical: Rc<[Logical]>,
    /// `PCDATA_ArgLiveIndex` at the symbolic pc.
    live_idx: i32,
    args: Option<Rc<ArgInfo>>,
}

/// Caches symbol lookups across goroutines: stacks repeat the same pcs.
/// One per thread (it is not `Send`).
#[derive(Default)]
pub struct Symbolizer<'a> {
    by_pc: HashMap<(Addr, bool), Resolved<'a>>,
    arg_info: HashMap<Addr, Option<Rc<ArgInfo>>>,
    created: HashMap<Addr, Option<Arc<GoStatement>>>,
    /// The sites of a physical frame (pc, trapped, on a system stack): one per logical frame.
    sites: HashMap<SiteKey, Rc<[Arc<FrameSite>]>>,
    names: Interner,
    stacks: super::stack::Stacks,
    /// The current stack's sites, one group per physical frame.
    groups: Vec<Rc<[Arc<FrameSite>]>>,
    /// The current frame's argument text.
    args: String,
}

/// A physical frame's pc, whether it trapped, whether it is on a system stack.
type SiteKey = (Addr, bool, bool);

/// A `go` statement: where `g.gopc` points. Shared by every goroutine it
/// started (a million goroutines of one `go` statement hold one).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GoStatement {
    /// Function containing the `go` statement.
    #[serde(deserialize_with = "crate::intern::de")]
    pub function: Arc<str>,
    /// Its file.
    #[serde(deserialize_with = "crate::intern::de")]
    pub file: Arc<str>,
    /// Its line.
    pub line: i32,
    /// The `go` statement's pc.
    pub pc: Addr,
    /// Offset of that pc from the function's entry.
    #[serde(default)]
    pub offset: u64,
}

struct ArgInfo {
    layout: Vec<u8>,
    live: Option<Vec<u8>>,
}

const TRACE_ARGS_END_SEQ: u8 = 0xff;
const TRACE_ARGS_START_AGG: u8 = 0xfe;
const TRACE_ARGS_END_AGG: u8 = 0xfd;
const TRACE_ARGS_DOTDOTDOT: u8 = 0xfc;
const TRACE_ARGS_OFFSET_TOO_LARGE: u8 = 0xfb;
/// Most bytes an argument layout or liveness table can have (the runtime's `TraceArgsMaxLen` is far less).
const ARG_INFO_MAX: usize = 512;
/// Deepest inlining we follow.
const MAX_INLINE_DEPTH: usize = 256;

impl<'a> Symbolizer<'a> {
    /// A fresh cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Logical frames of the physical frame at `pc` (`trap`: look up at pc, not pc-1).
    fn logical(&mut self, mem: &dyn Memory, f: &Func<'a>, pc: Addr, trap: bool) -> Rc<[Logical]> {
        inline_chain(mem, f, sym_pc(pc, f.entry, trap))
            .into_iter()
            .map(|c| Logical {
                function: self.names.placed(c.function),
                file: self.names.placed(c.file),
                line: c.line,
                start_line: c.start_line,
                inlined: c.inlined,
            })
            .collect::<Vec<_>>()
            .into()
    }

    fn arg_info(&mut self, mem: &dyn Memory, f: &Func<'_>) -> Option<Rc<ArgInfo>> {
        if let Some(v) = self.arg_info.get(&f.entry) {
            return v.clone();
        }
        let layout = f.funcdata(funcdata::ARG_INFO).and_then(|a| read_upto(mem, a, ARG_INFO_MAX));
        let v = layout.map(|layout| {
            let live = f.funcdata(funcdata::ARG_LIVE_INFO).and_then(|a| read_upto(mem, a, ARG_INFO_MAX));
            Rc::new(ArgInfo { layout, live })
        });
        self.arg_info.insert(f.entry, v.clone());
        v
    }

    /// The runtime's `printArgs` for one physical frame.
    fn format_args(info: Option<&ArgInfo>, live_idx: i32, mem: &dyn Memory, argp: Addr, s: &mut String) {
        s.clear();
        let Some(info) = info else { return };
        let start_offset = info.live.as_ref().and_then(|l| l.first().copied()).unwrap_or(0xff);
        let is_live = |off: u8, slot: u8| -> bool {
            let Some(live) = &info.live else { return true };
            if live_idx <= 0 || off < start_offset {
                return true;
            }
            let at = (live_idx as usize).saturating_add(usize::from(slot / 8));
            live.get(at).is_some_and(|b| b & (1 << (slot % 8)) != 0)
        };
        let mut start = true;
        let mut slot = 0u8;
        let p = &info.layout;
        let mut i = 0usize;
        while let Some(&o) = p.get(i) {
            i = i.saturating_add(1);
            let comma = |s: &mut String, start: bool| {
                if !start {
                    s.push_str(", ");
                }
            };
            match o {
                TRACE_ARGS_END_SEQ => break,
                TRACE_ARGS_START_AGG => {
                    comma(s, start);
                    s.push('{');
                    start = true;
                    continue;
                }
                TRACE_ARGS_END_AGG => s.push('}'),
                TRACE_ARGS_DOTDOTDOT => {
                    comma(s, start);
                    s.push_str("...");
                }
                TRACE_ARGS_OFFSET_TOO_LARGE => {
                    comma(s, start);
                    s.push('_');
                }
                _ => {
                    comma(s, start);
                    let Some(&sz) = p.get(i) else { break };
                    i = i.saturating_add(1);
                    match mem.read_u64(argp.add(o as u64)) {
                        Ok(mut x) => {
                            if sz < 8 {
                                let shift = 64u32.saturating_sub(u32::from(sz).saturating_mul(8));
                                x = (x << shift) >> shift;
                            }
                            let mut buf = [0u8; 18];
                            s.push_str(Addr(x).to_hex(&mut buf));
                        }
                        Err(_) => s.push_str("0x?"),
                    }
                    if !is_live(o, slot) {
                        s.push('?');
                    }
                    if o >= start_offset {
                        slot = slot.wrapping_add(1);
                    }
                }
            }
            start = false;
        }
    }

    /// Expands physical frames into the logical ones the runtime prints, as a
    /// [`Stack`](super::stack::Stack) whose shape and argument text are shared
    /// with the stacks this symbolizer built before.
    pub fn stack(&mut self, tab: &'a Pclntab, mem: &dyn Memory, phys: &[PhysFrame]) -> super::stack::Stack {
        self.stacks.begin();
        self.groups.clear();
        for p in phys {
            let r = match self.by_pc.get(&(p.pc, p.trap)) {
                Some(v) => v.clone(),
                None => {
                    let Some(f) = tab.find_func(p.pc) else { continue };
                    let spc = sym_pc(p.pc, f.entry, p.trap);
                    let v = Resolved {
                        func: f,
                        logical: self.logical(mem, &f, p.pc, p.trap),
                        live_idx: f.pcdata(pcdata::ARG_LIVE_INDEX, spc),
                        args: self.arg_info(mem, &f),
                    };
                    self.by_pc.insert((p.pc, p.trap), v.clone());
                    v
                }
            };
            Self::format_args(r.args.as_deref(), r.live_idx, mem, p.argp, &mut self.args);
            let key = (p.pc, p.trap, p.system_stack);
            let sites = match self.sites.get(&key) {
                Some(s) => s.clone(),
                None => {
                    let s: Rc<[Arc<FrameSite>]> = r
                        .logical
                        .iter()
                        .map(|l| {
                            Arc::new(FrameSite {
                                function: l.function.clone(),
                                file: l.file.clone(),
                                line: l.line,
                                pc: p.pc,
                                entry: r.func.entry,
                                inlined: l.inlined,
                                system_stack: p.system_stack,
                                start_line: l.start_line,
                            })
                        })
                        .collect();
                    self.sites.insert(key, s.clone());
                    s
                }
            };
            for site in sites.iter() {
                let args = if site.inlined { "..." } else { &self.args[..] };
                self.stacks.push(site, p.sp, p.fp, args);
            }
            self.groups.push(sites);
        }
        let groups = &self.groups;
        self.stacks.finish(|| groups.iter().flat_map(|g| g.iter().cloned()).collect())
    }

    /// The logical frames of return address `ret` as the runtime's execution
    /// tracer writes them (`fpunwindExpand`, then `CallersFrames`): innermost
    /// first, each with the pc the runtime reports — the call instruction for
    /// the innermost, then each inlined call's site in its caller — its
    /// function, file and line.
    pub fn trace_frames(tab: &'a Pclntab, mem: &dyn Memory, ret: Addr) -> Vec<(Addr, &'a str, &'a str, i32)> {
        let call = ret.offset(-1);
        let Some(f) = tab.find_func(call) else { return Vec::new() };
        inline_chain(mem, &f, call).into_iter().map(|c| (c.pc, c.function, c.file, c.line)).collect()
    }

    /// File, line and function of a `go` statement's pc (`g.gopc`), as `printcreatedby` shows it.
    pub fn created_by(&mut self, tab: &'a Pclntab, pc: Addr) -> Option<Arc<GoStatement>> {
        if let Some(v) = self.created.get(&pc) {
            return v.clone();
        }
        let v = Self::created_by_uncached(tab, pc).map(|(function, file, line, offset)| {
            Arc::new(GoStatement {
                function: self.names.placed(function),
                file: self.names.placed(file),
                line,
                pc,
                offset,
            })
        });
        self.created.insert(pc, v.clone());
        v
    }

    fn created_by_uncached(tab: &'a Pclntab, pc: Addr) -> Option<(&'a str, &'a str, i32, u64)> {
        let f = tab.find_func(pc)?;
        let tracepc = if pc > f.entry { pc.offset(-1) } else { pc };
        let (file, line) = f.file_line(tracepc);
        let off = pc.checked_sub(f.entry).unwrap_or(0);
        Some((f.name(), file, line, off))
    }
}

/// One logical frame of a physical one.
struct Chained<'a> {
    /// The pc looked up: the call's site in its caller for outer frames.
    pc: Addr,
    function: &'a str,
    file: &'a str,
    line: i32,
    start_line: i32,
    inlined: bool,
}

/// The logical frames at `upc` in `f`, innermost first: each inlined call,
/// then `f` itself.
fn inline_chain<'a>(mem: &dyn Memory, f: &Func<'a>, mut upc: Addr) -> Vec<Chained<'a>> {
    let mut out = Vec::new();
    let mut ix = f.pcdata(pcdata::INL_TREE_INDEX, upc);
    while ix >= 0 && out.len() < MAX_INLINE_DEPTH {
        let Some(call) = f.inlined_call(mem, ix) else { break };
        let (file, line) = f.file_line(upc);
        out.push(Chained { pc: upc, function: call.name, file, line, start_line: call.start_line, inlined: true });
        upc = f.entry.offset(call.parent_pc as i64);
        ix = f.pcdata(pcdata::INL_TREE_INDEX, upc);
    }
    let (file, line) = f.file_line(upc);
    out.push(Chained { pc: upc, function: f.name(), file, line, start_line: f.start_line(), inlined: false });
    out
}

/// The runtime's `symPC`: return addresses are looked up one byte back.
pub fn sym_pc(pc: Addr, entry: Addr, trap: bool) -> Addr {
    if !trap && pc > entry {
        pc.offset(-1)
    } else {
        pc
    }
}

/// Reads up to `max` bytes at `a`, fewer at the end of a region.
fn read_upto(mem: &dyn Memory, a: Addr, max: usize) -> Option<Vec<u8>> {
    let mut n = max;
    while n > 0 {
        let mut v = vec![0u8; n];
        if mem.read(a, &mut v).is_ok() {
            return Some(v);
        }
        n /= 2;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn print_names_follow_the_runtime() {
        assert_eq!(print_name("runtime.gopanic"), "panic");
        assert_eq!(print_name("main.blockGeneric[go.shape.string]"), "main.blockGeneric[...]");
        assert_eq!(print_name("main.(*T[go.shape.int]).M"), "main.(*T[...]).M");
        assert_eq!(print_name("main.F[go.shape.[]int]"), "main.F[...]");
        assert_eq!(print_name("a.b[x].c[y]"), "a.b[...].c[...]");
        assert_eq!(print_name("main.main"), "main.main");
        assert_eq!(print_name("x]["), "x][");
    }

    #[test]
    fn sym_pc_rule() {
        assert_eq!(sym_pc(Addr(0x105), Addr(0x100), false), Addr(0x104));
        assert_eq!(sym_pc(Addr(0x105), Addr(0x100), true), Addr(0x105));
        assert_eq!(sym_pc(Addr(0x100), Addr(0x100), false), Addr(0x100));
    }
}
