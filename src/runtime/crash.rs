//! What killed the process: the signal that wrote the core, the panic value or
//! `fatal error` text, and the goroutine that crashed.

use super::goroutines::{Goroutine, Goroutines};
use super::process::Process;
use crate::addr::Addr;
use crate::memory::{Memory, ReadExt};

/// A signal number with its name.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct SignalInfo {
    /// Signal number.
    pub number: u32,
    /// `SIGABRT`, …
    pub name: String,
}

/// The fault a `sigpanic` turned into a panic (`[signal SIGSEGV: … addr=0x0 pc=…]`).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Fault {
    /// The signal.
    pub signal: SignalInfo,
    /// `si_code`.
    pub code: u64,
    /// Faulting address.
    pub addr: Addr,
    /// Faulting pc.
    pub pc: Addr,
}

/// Who sent a signal (`si_pid`, `si_uid`), when a process did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Sender {
    /// The sender's process id (the dead process's own for signals the runtime relayed).
    pub pid: i32,
    /// The sender's user id.
    pub uid: u32,
}

/// The signal the process received from outside (what started a SIGQUIT dump
/// or an external kill), read from the kernel's signal frame on the stack of
/// the thread that handled it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ReceivedSignal {
    /// Signal number.
    pub number: u32,
    /// `SIGQUIT`, …
    pub name: String,
    /// `si_code`: 0 `SI_USER` (kill), -6 `SI_TKILL` (tgkill), 128 `SI_KERNEL` (e.g. ^\ on a terminal).
    pub code: i32,
    /// The sending process, for `SI_USER`/`SI_TKILL`/`SI_QUEUE`; null when the kernel sent it.
    pub sender: Option<Sender>,
}

/// How the process died.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Crash {
    /// The signal that wrote the core (SIGABRT for `GOTRACEBACK=crash`).
    pub signal: Option<SignalInfo>,
    /// The signal that started it, when it came from outside (kill, ^\).
    #[serde(default)]
    pub received_signal: Option<ReceivedSignal>,
    /// `panic`, `fatal error`, or `signal` when the runtime raised neither.
    pub kind: CrashKind,
    /// The panic value or fatal error text, as far as the core holds it.
    pub message: Option<String>,
    /// The goroutine that panicked or threw.
    pub goroutine: Option<u64>,
    /// For a panic from a fault: the fault.
    pub fault: Option<Fault>,
    /// The crashing goroutine's first frame in the user's code.
    #[serde(default)]
    pub user_frame: Option<super::user_code::UserFrame>,
}

/// How the process died, as the JSON names it.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CrashKind {
    /// A panic nobody recovered.
    #[serde(rename = "panic")]
    Panic,
    /// The runtime threw (`fatal error: …`).
    #[serde(rename = "fatal error")]
    FatalError,
    /// A signal the runtime raised neither for.
    #[default]
    #[serde(rename = "signal")]
    Signal,
    /// `SIGQUIT` from outside: under `GOTRACEBACK=crash` the runtime dumped
    /// every goroutine and wrote the core.
    #[serde(rename = "sigquit-dump")]
    SigquitDump,
    /// A core of a live process (`gcore`): nothing killed it.
    #[serde(rename = "snapshot")]
    Snapshot,
}

json_named!(CrashKind {
    Panic => "panic",
    FatalError => "fatal error",
    Signal => "signal",
    SigquitDump => "sigquit-dump",
    Snapshot => "snapshot",
});

/// The name of a linux signal.
pub fn signal_name(n: u32) -> String {
    let s = match n {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => return format!("signal {n}"),
    };
    s.to_string()
}

fn has_frame(g: &Goroutine, names: &[&str]) -> bool {
    g.frames.iter().any(|f| names.contains(&&*f.function))
}

/// A printable string of `len` bytes at `ptr`, if that is what is there.
fn printable(mem: &dyn Memory, ptr: Addr, len: u64) -> Option<String> {
    if len == 0 || len > 4096 {
        return None;
    }
    let b = mem.read_vec(ptr, len, 4096).ok()?;
    let s = String::from_utf8(b).ok()?;
    s.chars().all(|c| !c.is_control()).then_some(s)
}

/// Reads the string argument of `throw(s string)` / `fatal(s string)` in the
/// frame `[sp, fp)`, arguments at `argp`. Register arguments are spilled to the argument area only
/// when the compiler needed to; where the length word was not, the closure
/// that prints `s` (captured by value in the frame) still holds it.
fn string_arg(mem: &dyn Memory, sp: Addr, fp: Addr, argp: Addr) -> Option<String> {
    let ptr = mem.read_ptr(argp).ok()?;
    // The closure's copy is written whenever the message is printed; the spill
    // slot only when the compiler needed it, and may hold an older length.
    let words = fp.checked_sub(sp)? / 8;
    let from_closure = (0..words.min(512)).find_map(|i| {
        let at = sp.add(i.saturating_mul(8));
        (mem.read_ptr(at).ok()? == ptr).then_some(())?;
        printable(mem, ptr, mem.read_u64(at.add(8)).ok()?)
    });
    from_closure.or_else(|| mem.read_u64(argp.add(8)).ok().and_then(|len| printable(mem, ptr, len)))
}

/// The signal that stopped the core's first thread (the one that wrote
/// the core), if any.
pub fn core_signal(core: &crate::corefile::CoreFile) -> Option<SignalInfo> {
    let t = core.threads.first().filter(|t| t.signal != 0)?;
    let n = u32::from(t.signal);
    Some(SignalInfo { number: n, name: signal_name(n) })
}

/// Works out how the process died.
pub fn detect(p: &Process, gs: &Goroutines) -> Crash {
    let mem = p.mem();
    let mut c = Crash { signal: core_signal(&p.core), kind: CrashKind::Signal, ..Default::default() };
    // A fatal error: some goroutine is in throw/fatal on its way to fatalthrow.
    // Only goroutines on a thread can be throwing or panicking.
    let on_thread: Vec<&Goroutine> = gs.list.iter().filter(|g| g.thread().is_some()).collect();
    // When several goroutines throw at once, each prints in turn under
    // `paniclk`; all but the last then wait forever in `dopanic_m`
    // (`lock(&deadlock)`), and the last crashes. The first to print — what
    // the printout starts with — is one that waits in `dopanic_m`.
    let throwing: Vec<&Goroutine> =
        on_thread.iter().copied().filter(|g| has_frame(g, &["runtime.fatalthrow"])).collect();
    let printed_and_waits = |g: &&Goroutine| {
        has_frame(g, &["runtime.dopanic_m"]) && !has_frame(g, &["runtime.crash", "runtime.dieFromSignal"])
    };
    let thrower = (throwing.len() > 1)
        .then(|| throwing.iter().find(|g| printed_and_waits(g)).copied())
        .flatten()
        .or_else(|| throwing.first().copied())
        .or_else(|| on_thread.iter().copied().find(|g| has_frame(g, &["runtime.throw", "runtime.fatal"])));
    if let Some(g) = thrower {
        c.kind = CrashKind::FatalError;
        c.goroutine = Some(g.id);
        c.message = g
            .frames
            .iter()
            .filter(|f| !f.inlined && (&*f.function == "runtime.throw" || &*f.function == "runtime.fatal"))
            .find_map(|f| string_arg(mem, f.sp, f.fp, p.arch.argp(f.fp)));
        return c;
    }
    c.received_signal = received_signal(p);
    let panicker = gs
        .list
        .iter()
        .find(|g| has_frame(g, &["runtime.fatalpanic"]))
        .or_else(|| gs.list.iter().find(|g| has_frame(g, &["runtime.gopanic"])));
    if let Some(g) = panicker {
        c.kind = CrashKind::Panic;
        c.goroutine = Some(g.id);
        c.message = panic_message(p, g.address);
        c.fault = fault(p, g);
        return c;
    }
    if c.received_signal.as_ref().is_some_and(|r| r.number == 3) {
        c.kind = CrashKind::SigquitDump;
    } else if p.core.is_snapshot() {
        c.kind = CrashKind::Snapshot;
    }
    c
}

/// The signal that came from outside: each thread's stack is walked from its
/// registers to a `runtime.sigtramp` frame, whose kernel signal frame holds the
/// `siginfo`. Signals the runtime relayed to its other threads (sent by the
/// process itself) and the SIGABRT it raised to die rank after one another
/// process or the kernel sent.
fn received_signal(p: &Process) -> Option<ReceivedSignal> {
    let own = p.core.process.as_ref().map(|i| i.pid as i32);
    let seen: Vec<crate::corefile::notes::SigInfo> =
        p.core.threads.iter().flat_map(|t| super::signal_dump::signal_frames(p, t)).filter_map(|(_, si)| si).collect();
    // SI_USER, SI_QUEUE, SI_TKILL carry a sender; SI_KERNEL and faults do not.
    let from_process = |code: i32| matches!(code, 0 | -1 | -6);
    let outside = |si: &&crate::corefile::notes::SigInfo| !from_process(si.code) || Some(si.pid) != own;
    // Only a signal from outside started anything; the runtime's relays and its own SIGABRT did not.
    let si = seen.iter().find(outside)?;
    let number = si.signo as u32;
    // A fault (SIGSEGV from the kernel with a fault code) is the panic's, not a received signal.
    if !from_process(si.code) && si.code != 0x80 {
        return None;
    }
    Some(ReceivedSignal {
        number,
        name: signal_name(number),
        code: si.code,
        sender: from_process(si.code).then_some(Sender { pid: si.pid, uid: si.uid }),
    })
}

/// The value of the innermost panic of the goroutine at `gp`, when it can be
/// shown without running Go code (strings and runtime errors).
fn panic_message(p: &Process, gp: Addr) -> Option<String> {
    let mem = p.mem();
    let panic = mem.read_ptr(gp.add(p.layout.g.panic?)).ok()?;
    if panic.is_null() {
        return None;
    }
    let arg = panic.add(p.layout.panic_arg?);
    let ty = mem.read_ptr(arg).ok()?;
    let data = mem.read_ptr(arg.add(8)).ok()?;
    if ty.is_null() {
        return Some("nil".into());
    }
    let types = crate::runtime::types::RuntimeTypes::of(p).ok();
    let name = types.and_then(|t| t.name(p, ty)).unwrap_or_default();
    // 24 = String.
    let kind = types.and_then(|t| t.kind(p, ty))?;
    if kind == 24 {
        let s = mem.read_go_string(data).ok()?;
        return Some(match name.as_str() {
            "string" | "runtime.plainError" => s,
            "runtime.errorString" => format!("runtime error: {s}"),
            _ => format!("{name}(\"{s}\")"),
        });
    }
    Some(format!("({name}) {data}"))
}

fn fault(p: &Process, g: &Goroutine) -> Option<Fault> {
    if !has_frame(g, &["runtime.sigpanic"]) {
        return None;
    }
    let mem = p.mem();
    let l = &p.layout.g;
    let sig = mem.read_u32(g.address.add(l.sig)).ok()?;
    let code = mem.read_u64(g.address.add(l.sigcode0)).ok()?;
    let addr = mem.read_u64(g.address.add(l.sigcode1)).ok()?;
    let pc = mem.read_u64(g.address.add(l.sigpc)).ok()?;
    Some(Fault { signal: SignalInfo { number: sig, name: signal_name(sig) }, code, addr: Addr(addr), pc: Addr(pc) })
}
