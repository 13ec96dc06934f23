//! Goroutines: walks `runtime.allgs`, reads each `g` by the DWARF layout, and
//! unwinds its stack from where the runtime would (syscall state, `g.sched`,
//! or the registers of the thread running it).

use super::process::Process;
use super::symbolize::Symbolizer;
use super::unwind::{unwind, CachedFuncs, CurG, PclntabFuncs, Start};
use crate::addr::{Addr, AddrRange};
use crate::corefile::ThreadState;
use crate::memory::{MemError, ReadExt};
use crate::warning::{Warning, WarningKind};
use rayon::prelude::*;
use rustc_hash::FxHashMap as HashMap;
use std::borrow::Cow;
use std::sync::Arc;

/// Most goroutines we accept from `allgs` (bounds a damaged length).
pub const MAX_GOROUTINES: u64 = 50_000_000;
/// Most Ms we follow on `allm`.
const MAX_MS: usize = 1 << 20;
/// Most physical frames unwound per stack.
pub const MAX_FRAMES: usize = 100_000;

/// An M (OS thread) of the runtime.
#[derive(Clone, Debug, serde::Serialize)]
pub struct MInfo {
    /// `m.id`.
    pub id: i64,
    /// Address of the `m`.
    pub address: Addr,
    /// `m.procid`: the OS thread id.
    pub procid: u64,
    /// `m.curg`.
    pub curg: Addr,
    /// `m.g0`.
    pub g0: Addr,
    /// `m.vdsoSP`.
    pub vdso_sp: u64,
    /// `m.vdsoPC`.
    pub vdso_pc: u64,
}

/// Where a goroutine's creation happened (`g.gopc`) and who ran it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CreatedBy {
    /// The `go` statement (`function`, `file`, `line`, `pc`, `offset` in the report).
    #[serde(flatten)]
    pub at: Arc<super::symbolize::GoStatement>,
    /// Id of the goroutine that ran the `go` statement (0: unknown).
    pub goroutine: u64,
}

impl std::ops::Deref for CreatedBy {
    type Target = super::symbolize::GoStatement;
    fn deref(&self) -> &Self::Target {
        &self.at
    }
}

/// Where unwinding started.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnwindSource {
    /// `g.sched` (a parked goroutine).
    Sched,
    /// `g.syscallpc/syscallsp` (in a syscall or cgo call).
    Syscall,
    /// The registers of the thread running it.
    ThreadRegisters,
    /// `m.vdsoPC/vdsoSP` (the thread was in the vDSO).
    Vdso,
}

/// A goroutine of the dead process. Its serialized form is the report's
/// goroutine (`docs/json.md`), fields in that order; the frames are written
/// by the report's own writer and read by serde; what the report does not
/// carry (the raw status, `waitsince`, the stack bounds) reads back as zero.
/// What few goroutines have (an M, notes, a bubble) is boxed in
/// [`GoroutineExtra`]: a million goroutines do not carry its room.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(from = "GoroutineJson<'static>")]
pub struct Goroutine {
    /// `g.goid`.
    pub id: u64,
    /// Status as the runtime prints it in brackets, without suffixes
    /// (the wait reason for waiting goroutines: `chan receive`).
    pub status: Arc<str>,
    /// The wait reason, for waiting goroutines.
    pub wait_reason: Option<Arc<str>>,
    /// Estimated minutes waited (see [`Goroutines::clock_ns`]).
    pub wait_minutes: Option<i64>,
    /// `g.lockedm != 0`.
    pub locked_to_thread: bool,
    /// Where it was created (none for goroutine 1, which the runtime's
    /// bootstrap starts: the runtime prints no `created by` for it).
    pub created_by: Option<CreatedBy>,
    /// Address of the `g`.
    pub address: Addr,
    /// The `_Gscan` bit was set.
    pub scan: bool,
    /// Where unwinding started.
    pub unwound_from: UnwindSource,
    /// Why the stack is incomplete, if it is.
    pub stack_error: Option<Box<super::unwind::StackError>>,
    /// Its M and thread, remarks, bubble, leaked mark; `None` when it has none of them.
    pub extra: Option<Box<GoroutineExtra>>,
    /// Its stack, innermost first, inlined calls expanded.
    pub frames: super::stack::Stack,
    /// Raw `atomicstatus` (not in the report).
    pub status_raw: u32,
    /// `g.waitsince` (a nanotime reading; 0 when unknown; not in the report).
    pub wait_since_ns: i64,
    /// Stack bounds (not in the report).
    pub stack: (Addr, Addr),
}

/// What few goroutines have.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GoroutineExtra {
    /// Id of the M it was on, if any.
    pub m: Option<i64>,
    /// OS thread id of that M, when it was running.
    pub thread: Option<u64>,
    /// Address of its M (`mp=` in the runtime's header).
    pub mp: Option<Addr>,
    /// Remarks (e.g. a running goroutine's state may have moved on after the printout).
    pub notes: Vec<String>,
    /// A leaked goroutine (Go 1.26+'s `_Gleaked`): the runtime prints `(leaked)`.
    pub leaked: bool,
    /// Synctest bubble id (Go 1.25+), if in one.
    pub bubble: Option<u64>,
}

impl GoroutineExtra {
    /// Boxed, or `None` when it holds nothing.
    pub fn boxed(self) -> Option<Box<GoroutineExtra>> {
        (self != GoroutineExtra::default()).then(|| Box::new(self))
    }
}

/// The report's goroutine as written and read: written from borrowed
/// fields (frames apart: the report's writer adds them), read into owned
/// ones (and the frames), then interned.
#[derive(serde::Serialize, serde::Deserialize)]
struct GoroutineJson<'a> {
    id: u64,
    status: Cow<'a, str>,
    #[serde(default)]
    wait_reason: Option<Cow<'a, str>>,
    wait_minutes: Option<i64>,
    locked_to_thread: bool,
    created_by: Cow<'a, Option<CreatedBy>>,
    address: Addr,
    scan: bool,
    m: Option<i64>,
    thread: Option<u64>,
    unwound_from: UnwindSource,
    stack_error: Cow<'a, Option<Box<super::unwind::StackError>>>,
    notes: Cow<'a, [String]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mp: Option<Addr>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    leaked: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bubble: Option<u64>,
    #[serde(default, skip_serializing)]
    frames: super::stack::Stack,
}

impl serde::Serialize for Goroutine {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        GoroutineJson {
            id: self.id,
            status: Cow::Borrowed(&self.status),
            wait_reason: self.wait_reason.as_deref().map(Cow::Borrowed),
            wait_minutes: self.wait_minutes,
            locked_to_thread: self.locked_to_thread,
            created_by: Cow::Borrowed(&self.created_by),
            address: self.address,
            scan: self.scan,
            m: self.m(),
            thread: self.thread(),
            unwound_from: self.unwound_from,
            stack_error: Cow::Borrowed(&self.stack_error),
            notes: Cow::Borrowed(self.notes()),
            mp: self.mp(),
            leaked: self.leaked(),
            bubble: self.bubble(),
            frames: Default::default(),
        }
        .serialize(s)
    }
}

impl From<GoroutineJson<'static>> for Goroutine {
    fn from(j: GoroutineJson<'static>) -> Goroutine {
        let extra = GoroutineExtra {
            m: j.m,
            thread: j.thread,
            mp: j.mp,
            notes: j.notes.into_owned(),
            leaked: j.leaked,
            bubble: j.bubble,
        };
        Goroutine {
            id: j.id,
            status: crate::intern::shared(&j.status),
            wait_reason: j.wait_reason.map(|w| crate::intern::shared(&w)),
            wait_minutes: j.wait_minutes,
            locked_to_thread: j.locked_to_thread,
            created_by: j.created_by.into_owned(),
            address: j.address,
            scan: j.scan,
            unwound_from: j.unwound_from,
            stack_error: j.stack_error.into_owned(),
            extra: extra.boxed(),
            frames: j.frames,
            status_raw: 0,
            wait_since_ns: 0,
            stack: (Addr(0), Addr(0)),
        }
    }
}

impl Goroutine {
    /// Id of the M it was on, if any.
    pub fn m(&self) -> Option<i64> {
        self.extra.as_ref().and_then(|e| e.m)
    }

    /// OS thread id of that M, when it was running.
    pub fn thread(&self) -> Option<u64> {
        self.extra.as_ref().and_then(|e| e.thread)
    }

    /// Address of its M (`mp=` in the runtime's header).
    pub fn mp(&self) -> Option<Addr> {
        self.extra.as_ref().and_then(|e| e.mp)
    }

    /// Remarks.
    pub fn notes(&self) -> &[String] {
        self.extra.as_ref().map_or(&[], |e| &e.notes)
    }

    /// A leaked goroutine (Go 1.26+'s `_Gleaked`).
    pub fn leaked(&self) -> bool {
        self.extra.as_ref().is_some_and(|e| e.leaked)
    }

    /// Synctest bubble id (Go 1.25+), if in one.
    pub fn bubble(&self) -> Option<u64> {
        self.extra.as_ref().and_then(|e| e.bubble)
    }

    /// The first frame in the user's code (see [`crate::runtime::user_code`]).
    pub fn user_frame(&self, go_minor: Option<u32>) -> Option<crate::runtime::user_code::UserFrame> {
        crate::runtime::user_code::user_frame(&self.frames, go_minor)
    }
}

/// All goroutines of a process plus the facts used to read them.
pub struct Goroutines {
    /// Goroutines in `allgs` order.
    pub list: Vec<Goroutine>,
    /// Ms on `allm`.
    pub ms: Vec<MInfo>,
    /// The latest runtime clock reading found (`sched.lastpoll`, or the latest
    /// `waitsince`): the reference for `wait_minutes`. The core holds no clock
    /// reading at death, so waits are estimates against this.
    pub clock_ns: i64,
    /// Problems reading the goroutine list.
    pub warnings: Vec<Warning>,
}

/// Options for [`read_goroutines`].
#[derive(Copy, Clone, Debug, Default)]
pub struct ReadOptions {
    /// Keep `_Gdead` goroutines.
    pub include_dead: bool,
}

/// Sees every goroutine right after it is read, on the worker thread that
/// read its chunk, while that chunk's stack pages are resident (the map
/// iterator scan plugs in here; progress can count here). Each chunk gets
/// its own state; what each chunk found is returned in order.
pub trait StackVisitor: Sync {
    /// Per-chunk state (caches; need not be `Send`).
    type State;
    /// What a chunk found.
    type Out: Send;
    /// A chunk begins.
    fn start(&self) -> Self::State;
    /// One goroutine of the chunk, with its stack.
    fn visit(&self, state: &mut Self::State, g: &Goroutine);
    /// The chunk is done.
    fn finish(&self, state: Self::State) -> Self::Out;
}

/// A visitor that does nothing.
pub struct NoVisitor;

impl StackVisitor for NoVisitor {
    type State = ();
    type Out = ();
    fn start(&self) {}
    fn visit(&self, _: &mut (), _: &Goroutine) {}
    fn finish(&self, _: ()) {}
}

struct RawG {
    addr: Addr,
    id: u64,
    status: u32,
    stack: AddrRange,
    m: Addr,
    sched_pc: Addr,
    sched_sp: Addr,
    sched_lr: Addr,
    syscallsp: Addr,
    syscallpc: Addr,
    waitsince: i64,
    waitreason: u8,
    gopc: Addr,
    parent: u64,
    lockedm: u64,
    bubble: Addr,
}

fn read_g(p: &Process, addr: Addr) -> Result<RawG, MemError> {
    let l = &p.layout.g;
    let m = p.mem();
    Ok(RawG {
        addr,
        id: m.read_u64(addr.add(l.goid))?,
        status: m.read_u32(addr.add(l.atomicstatus))?,
        stack: AddrRange::new(m.read_ptr(addr.add(l.stack_lo))?, m.read_ptr(addr.add(l.stack_hi))?),
        m: m.read_ptr(addr.add(l.m))?,
        sched_pc: m.read_ptr(addr.add(l.sched_pc))?,
        sched_sp: m.read_ptr(addr.add(l.sched_sp))?,
        sched_lr: m.read_ptr(addr.add(l.sched_lr))?,
        syscallsp: m.read_ptr(addr.add(l.syscallsp))?,
        syscallpc: m.read_ptr(addr.add(l.syscallpc))?,
        waitsince: m.read_i64(addr.add(l.waitsince))?,
        waitreason: m.read_u8(addr.add(l.waitreason))?,
        gopc: m.read_ptr(addr.add(l.gopc))?,
        parent: match l.parent_goid {
            Some(o) => m.read_u64(addr.add(o))?,
            None => 0,
        },
        lockedm: m.read_u64(addr.add(l.lockedm))?,
        bubble: match l.bubble {
            Some(o) => m.read_ptr(addr.add(o))?,
            None => Addr::NULL,
        },
    })
}

fn read_m(p: &Process, addr: Addr) -> Result<MInfo, MemError> {
    let l = &p.layout.m;
    let m = p.mem();
    let opt = |o: Option<u64>| -> Result<u64, MemError> { o.map_or(Ok(0), |o| m.read_u64(addr.add(o))) };
    Ok(MInfo {
        id: m.read_i64(addr.add(l.id))?,
        address: addr,
        procid: m.read_u64(addr.add(l.procid))?,
        curg: m.read_ptr(addr.add(l.curg))?,
        g0: m.read_ptr(addr.add(l.g0))?,
        vdso_sp: opt(l.vdso_sp)?,
        vdso_pc: opt(l.vdso_pc)?,
    })
}

/// What a real g looks like: a known status, an id, sane stack bounds that
/// hold its saved sp (tells goroutines from other bytes in a heap scan, or a
/// guessed `allgs` of a stripped executable).
pub fn plausible_g(p: &Process, at: Addr) -> bool {
    read_g(p, at).is_ok_and(|g| plausible_raw(p, &g))
}

/// [`plausible_g`] of a `g` already read.
fn plausible_raw(p: &Process, g: &RawG) -> bool {
    let st = &p.layout.status;
    let base = g.status & !st.scan;
    let known = [st.idle, st.runnable, st.running, st.syscall, st.waiting, st.dead, st.copystack, st.preempted]
        .contains(&base)
        || Some(base) == st.leaked
        || Some(base) == st.deadextra;
    let size = g.stack.end.0.wrapping_sub(g.stack.start.0);
    let stack_ok = if st.is_dead(g.status) {
        size <= 1 << 30
    } else {
        g.stack.start < g.stack.end
            && size <= 1 << 30
            && (g.stack.contains(g.sched_sp) || g.stack.contains(g.syscallsp) || base == st.running)
    };
    // `newproc1` puts a new `g` on allgs as `_Gdead` before it gives it an id.
    let id_ok = (g.id > 0 || st.is_dead(g.status)) && g.id < 1 << 48;
    known && id_ok && stack_ok
}

/// Reads every M on `runtime.allm`.
pub fn read_ms(p: &Process, warnings: &mut Vec<Warning>) -> Vec<MInfo> {
    let mut out = Vec::new();
    let (Some(allm), Some(link)) = (p.global("runtime.allm"), p.layout.m.alllink) else {
        warnings.push(Warning::new(
            WarningKind::MissingRuntimeData,
            "runtime.allm not found: running goroutines cannot be matched to threads",
        ));
        return out;
    };
    let mut at = match p.mem().read_ptr(allm) {
        Ok(a) => a,
        Err(e) => {
            warnings.push(Warning::new(WarningKind::Unreadable, format!("runtime.allm unreadable: {e}")));
            return out;
        }
    };
    while !at.is_null() && out.len() < MAX_MS {
        match read_m(p, at) {
            Ok(m) => out.push(m),
            Err(e) => {
                warnings.push(Warning::new(WarningKind::Unreadable, format!("m at {at} unreadable: {e}")));
                break;
            }
        }
        at = match p.mem().read_ptr(at.add(link)) {
            Ok(a) => a,
            Err(_) => break,
        };
    }
    out
}

impl Process {
    /// The status text the runtime prints for a `g`: `gStatusStrings[status]`,
    /// replaced by the wait reason for waiting (or leaked) goroutines.
    pub fn status_text(&self, status: u32, waitreason: u8) -> (Arc<str>, Option<Arc<str>>) {
        let st = &self.layout.status;
        let base = status & !st.scan;
        let mut text = self.status_strings.get(base as usize).cloned().unwrap_or_else(|| "???".into());
        let mut reason = None;
        if (base == st.waiting || Some(base) == st.leaked) && waitreason != 0 {
            let r = self
                .wait_reason_strings
                .get(waitreason as usize)
                .cloned()
                .unwrap_or_else(|| format!("wait reason {waitreason}").into());
            text = r.clone();
            reason = Some(r);
        }
        (text, reason)
    }
}

/// Reads all goroutines and unwinds their stacks.
pub fn read_goroutines(p: &Process, opts: ReadOptions) -> Result<Goroutines, crate::Error> {
    read_goroutines_with(p, opts, &NoVisitor).map(|(gs, _)| gs)
}

/// [`read_goroutines`], showing each goroutine to `visitor` as it is read;
/// also returns what the visitor found in each chunk, in order.
pub fn read_goroutines_with<V: StackVisitor>(
    p: &Process,
    opts: ReadOptions,
    visitor: &V,
) -> Result<(Goroutines, Vec<V::Out>), crate::Error> {
    let truncated = p.core.truncated;
    let mut warnings = Vec::new();
    let mem = p.mem();
    let plausible = |at: Addr| plausible_g(p, at);
    let (found, found_warnings) = super::allgs::find(p, &plausible);
    warnings.extend(found_warnings);
    // Nothing found is a report with no goroutine and the reason, not an end:
    // the threads, their registers and the signal still say something.
    let (ptrs, source) = found.unwrap_or_else(|e| {
        warnings.push(Warning::new(
            WarningKind::DamagedCore,
            format!(
                "no goroutine could be found ({e}{}): the core's memory there is damaged, or the executable is not the program's",
                if truncated { "; the core file is truncated" } else { "" }
            ),
        ));
        (Vec::new(), super::allgs::Source::Allgs)
    });
    let ms = read_ms(p, &mut warnings);
    let threads: HashMap<u64, &ThreadState> = p.core.threads.iter().map(|t| (t.lwp as u64, t)).collect();
    let ms_by_addr: HashMap<Addr, &MInfo> = ms.iter().map(|m| (m.address, m)).collect();

    let funcs = PclntabFuncs::new(&p.pclntab);
    let ctx = Shared { p, threads: &threads, ms_by_addr: &ms_by_addr, funcs: &funcs, include_dead: opts.include_dead };
    // Chunks run on rayon's threads, each with its own caches, and write
    // their goroutines straight into their slots of one list (no second
    // copy of a million goroutines while chunks are merged); order is kept.
    let mut slots: Vec<Option<Goroutine>> = Vec::new();
    slots.resize_with(ptrs.len(), || None);
    let chunks: Vec<(Vec<Warning>, V::Out)> = slots
        .par_chunks_mut(CHUNK)
        .zip(ptrs.par_chunks(CHUNK))
        .enumerate()
        .map(|(ci, (out, chunk))| {
            let mut sym = Symbolizer::new();
            let cached = CachedFuncs::new(ctx.funcs);
            let mut state = visitor.start();
            let mut warn = Vec::new();
            for (j, (&gp, slot)) in chunk.iter().zip(out.iter_mut()).enumerate() {
                // The runtime only appends goroutines to allgs: a null or
                // implausible entry is damage, said and skipped.
                if gp.is_null() {
                    warn.push(Warning::new(
                        WarningKind::DamagedCore,
                        format!("allgs[{}] is null: the core's memory there is damaged", ci.saturating_mul(CHUNK).saturating_add(j)),
                    ));
                    continue;
                }
                match read_g(p, gp) {
                    Ok(g) if !plausible_raw(p, &g) => warn.push(Warning::new(
                        WarningKind::DamagedCore,
                        format!(
                            "allgs[{}] points at {gp}, which is not a goroutine (status, id or stack bounds are not a g's): skipped",
                            ci.saturating_mul(CHUNK).saturating_add(j)
                        ),
                    )),
                    Ok(g) => {
                        if let Some(g) = ctx.build(&g, &mut sym, &cached) {
                            visitor.visit(&mut state, &g);
                            *slot = Some(g);
                        }
                    }
                    Err(e) => warn.push(Warning::new(
                        WarningKind::Unreadable,
                        format!("g at {gp} (allgs[{}]) unreadable: {e}", ci.saturating_mul(CHUNK).saturating_add(j)),
                    )),
                }
            }
            if ci % RELEASE_EVERY_CHUNKS == RELEASE_EVERY_CHUNKS - 1 {
                p.release_core_pages();
            }
            (warn, visitor.finish(state))
        })
        .collect();
    // `Option<Goroutine>` has the size of `Goroutine`, and `filter_map` over
    // a vector's own `IntoIter` collects in place: no second list.
    #[allow(clippy::filter_map_identity)] // `flatten` does not collect in place
    let mut list: Vec<Goroutine> = slots.into_iter().filter_map(|g| g).collect();
    if matches!(source, super::allgs::Source::HeapScan | super::allgs::Source::SchedulerLists) {
        list.sort_by_key(|g| g.id);
    }
    let mut found = Vec::with_capacity(chunks.len());
    for (w, out) in chunks {
        warnings.extend(w);
        found.push(out);
    }

    // Incomplete stacks are each a goroutine's `stack_error`; the report says so once.
    let broken: Vec<&Goroutine> = list.iter().filter(|g| g.stack_error.is_some()).collect();
    if !broken.is_empty() {
        use super::unwind::StackError;
        let zeroed = broken.iter().any(|g| matches!(g.stack_error.as_deref(), Some(StackError::NullReturn { .. })));
        let named: Vec<String> = broken
            .iter()
            .take(3)
            .map(|g| {
                format!("goroutine {} ({})", g.id, g.stack_error.as_ref().map(|e| e.to_string()).unwrap_or_default())
            })
            .collect();
        warnings.push(Warning::new(
            if zeroed { WarningKind::DamagedCore } else { WarningKind::Unreadable },
            format!(
                "the stacks of {} goroutine{} are incomplete: {}{}",
                broken.len(),
                if broken.len() == 1 { "" } else { "s" },
                named.join("; "),
                if broken.len() > 3 { "; …" } else { "" }
            ),
        ));
    }

    // The core holds no clock reading at death: measure waits against the
    // latest runtime timestamp found (sched.lastpoll, or the latest waitsince).
    let lastpoll = p
        .layout
        .sched_lastpoll
        .and_then(|o| p.global("runtime.sched").map(|s| s.add(o)))
        .and_then(|a| mem.read_i64(a).ok())
        .unwrap_or(0);
    let clock_ns = list.iter().map(|g| g.wait_since_ns).fold(lastpoll, i64::max);
    let st = &p.layout.status;
    for g in &mut list {
        let base = g.status_raw & !st.scan;
        if (base == st.waiting || base == st.syscall) && g.wait_since_ns != 0 && clock_ns >= g.wait_since_ns {
            g.wait_minutes = Some(clock_ns.saturating_sub(g.wait_since_ns) / 60_000_000_000);
        }
    }
    Ok((Goroutines { list, ms, clock_ns, warnings }, found))
}

/// What every chunk of goroutines shares.
struct Shared<'a, 'p> {
    p: &'p Process,
    threads: &'a HashMap<u64, &'a ThreadState>,
    ms_by_addr: &'a HashMap<Addr, &'a MInfo>,
    funcs: &'a PclntabFuncs<'a>,
    include_dead: bool,
}

/// Goroutines per parallel chunk.
const CHUNK: usize = 2048;
/// Chunks between releases of the core's pages (each release walks the whole
/// mapping's page tables, so not too often).
const RELEASE_EVERY_CHUNKS: usize = 2;

impl<'p> Shared<'_, 'p> {
    /// Reads one goroutine's state and stack.
    fn build(
        &self,
        g: &RawG,
        sym: &mut Symbolizer<'p>,
        funcs: &CachedFuncs<'_, PclntabFuncs<'_>>,
    ) -> Option<Goroutine> {
        let p = self.p;
        let mem = p.mem();
        let st = &p.layout.status;
        let threads = self.threads;
        let ms_by_addr = self.ms_by_addr;
        let base_status = g.status & !st.scan;
        if st.is_dead(g.status) && !self.include_dead {
            return None;
        }
        let (status, wait_reason) = p.status_text(g.status, g.waitreason);
        let m = if g.m.is_null() { None } else { ms_by_addr.get(&g.m).map(|m| (*m).clone()) };
        let mut notes = Vec::new();
        let curg = CurG { stack: g.stack, sched_pc: g.sched_pc, sched_sp: g.sched_sp, sched_lr: g.sched_lr };

        let (start, source, thread, ctx) = if base_status == st.running && g.syscallsp.is_null() {
            match m.as_ref().and_then(|m| threads.get(&m.procid).map(|t| (m, t))) {
                Some((m, _)) if m.vdso_sp != 0 => (
                    Start { pc: Addr(m.vdso_pc), sp: Addr(m.vdso_sp), trap: false, syscall: false, lr: None },
                    UnwindSource::Vdso,
                    Some(m.procid),
                    None,
                ),
                Some((m, t)) => {
                    notes.push(if p.core.is_snapshot() {
                        "running when the snapshot was taken".into()
                    } else {
                        "running when the core was written: its state may have moved on after the runtime printed its traceback".into()
                    });
                    let start = Start {
                        pc: Addr(t.regs.pc),
                        sp: Addr(t.regs.sp),
                        trap: true,
                        syscall: false,
                        lr: t.regs.lr.map(Addr),
                    };
                    (start, UnwindSource::ThreadRegisters, Some(m.procid), Some(curg))
                }
                None => {
                    notes.push(
                        "running, but no thread of the core belongs to its M: stack from g.sched, possibly stale"
                            .into(),
                    );
                    (
                        Start { pc: g.sched_pc, sp: g.sched_sp, trap: false, syscall: false, lr: Some(g.sched_lr) },
                        UnwindSource::Sched,
                        None,
                        None,
                    )
                }
            }
        } else if !g.syscallsp.is_null() {
            let thread = m.as_ref().map(|m| m.procid);
            (
                Start { pc: g.syscallpc, sp: g.syscallsp, trap: false, syscall: true, lr: None },
                UnwindSource::Syscall,
                thread,
                None,
            )
        } else {
            (
                Start { pc: g.sched_pc, sp: g.sched_sp, trap: false, syscall: false, lr: Some(g.sched_lr) },
                UnwindSource::Sched,
                None,
                None,
            )
        };

        let (frames, stack_error) = if st.is_dead(g.status) || (start.pc.is_null() && start.sp.is_null()) {
            (Default::default(), None)
        } else {
            let u = unwind(mem, funcs, p.arch, start, ctx, MAX_FRAMES);
            (sym.stack(&p.pclntab, mem, &u.frames), u.error)
        };
        let created_by = if g.gopc.is_null() {
            None
        } else {
            sym.created_by(&p.pclntab, g.gopc).map(|at| CreatedBy { at, goroutine: g.parent })
        };
        let bubble =
            if g.bubble.is_null() { None } else { p.layout.bubble_id.and_then(|o| mem.read_u64(g.bubble.add(o)).ok()) };
        Some(Goroutine {
            id: g.id,
            address: g.addr,
            status_raw: g.status,
            status,
            scan: g.status & st.scan != 0,
            wait_reason,
            wait_since_ns: g.waitsince,
            wait_minutes: None,
            locked_to_thread: g.lockedm != 0,
            extra: GoroutineExtra {
                thread: if base_status == st.running { thread.or(m.as_ref().map(|m| m.procid)) } else { thread },
                m: m.as_ref().map(|m| m.id),
                mp: m.as_ref().map(|m| m.address),
                leaked: Some(g.status) == st.leaked,
                bubble,
                notes,
            }
            .boxed(),
            created_by: created_by.filter(|_| g.id != 1),
            frames,
            unwound_from: source,
            stack_error: stack_error.map(Box::new),
            stack: (g.stack.start, g.stack.end),
        })
    }
}

#[cfg(test)]
mod tests {
    /// A million goroutines are a million of these: what is rare is boxed
    /// (`GoroutineExtra`), frames are a shared shape (`Stack`).
    #[test]
    fn a_goroutine_stays_small() {
        let size = std::mem::size_of::<super::Goroutine>();
        assert!(size <= 160, "Goroutine is {size} bytes");
    }
}
