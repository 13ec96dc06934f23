//! The Ms inside the runtime's signal handler when the core was written
//! (issue 12, point 2). A signal from outside under `GOTRACEBACK=crash`
//! (`kill -QUIT`, `kill -ABRT`) makes each M print a block as it handles it —
//! `SIGQUIT: quit`, `PC=… m=… sigcode=…`, the stack of the goroutine it
//! interrupted (`g0`'s, `[idle]`, for an idle M), its registers — then relay
//! the signal to the next M and sleep in the handler. Each block is read back
//! from that M's thread: its stack leads to `runtime.sigtramp`, whose kernel
//! signal frame holds the `siginfo` and the interrupted context.

use super::goroutines::{Goroutine, GoroutineExtra, Goroutines, UnwindSource, MAX_FRAMES};
use super::symbolize::Symbolizer;
use super::unwind::{unwind, FuncTable, PclntabFuncs, Special, Start};
use super::Process;
use crate::addr::Addr;
use crate::corefile::notes::SigInfo;
use crate::memory::ReadExt;

/// Most frames walked on a thread's stack looking for its signal frame.
const SIGNAL_FRAME_DEPTH: usize = 64;
/// SIGURG: the runtime's preemption signal, handled and returned from.
const SIGURG: i32 = 23;
/// SIGABRT: the runtime raises it at itself to die (`crash`).
const SIGABRT: i32 = 6;

/// One M's block of a signal dump.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct HandledSignal {
    /// The M's id (`m=` in the block).
    pub m: i64,
    /// Its OS thread.
    pub thread: u64,
    /// The signal it handled (`SIGQUIT`).
    pub signal: String,
    /// Its number.
    pub number: u32,
    /// `si_code` (`sigcode=`).
    pub code: i32,
    /// True for the M the signal came to from outside (the one that printed
    /// every goroutine); the others got the runtime's relay.
    pub from_outside: bool,
    /// The interrupted pc (`PC=`).
    pub pc: Addr,
    /// The interrupted context's registers, in the order the runtime
    /// prints them.
    pub registers: Vec<Register>,
    /// The goroutine it interrupted (`g0`, id 0 and `idle`, for an idle M),
    /// its frames unwound from the interrupted context (written by the
    /// report's own writer, like every goroutine's).
    #[serde(skip_serializing)]
    pub goroutine: Goroutine,
}

/// A register of an interrupted context.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Register {
    /// Its name as the runtime prints it (`rax`, `r0`, `lr`, `fault`).
    pub name: String,
    /// Its value.
    pub value: Addr,
}

/// Every M found inside a signal handler for a signal other than the
/// runtime's preemption, first the one the signal came to from outside,
/// then the rest by M id (the order the relays reached them is the kernel's
/// choice and not in the core).
pub fn handled_signals(p: &Process, gs: &Goroutines) -> Vec<HandledSignal> {
    let funcs = PclntabFuncs::new(&p.pclntab);
    let mem = p.mem();
    let own = p.core.process.as_ref().map(|i| i.pid as i32);
    let sf = p.arch.signal_frame();
    let regs = p.arch.signal_registers();
    let mut sym = Symbolizer::new();
    let mut out = Vec::new();
    for t in &p.core.threads {
        let Some(m) = gs.ms.iter().find(|m| m.procid == u64::from(t.lwp)) else { continue };
        // The signal it handled: the innermost signal frame that is neither a
        // preemption nor the SIGABRT the runtime raised at itself to die.
        let found = signal_frames(p, t).into_iter().find_map(|(fp, si)| {
            si.filter(|si| si.signo != SIGURG && !(si.signo == SIGABRT && Some(si.pid) == own)).map(|si| (fp, si))
        });
        let Some((fp, si)) = found else { continue };
        let word = |o: u64| mem.read_ptr(fp.add(o)).ok();
        let (Some(pc), Some(sp)) = (word(sf.pc), word(sf.sp)) else { continue };
        let lr = sf.lr.and_then(word);
        let registers: Vec<Register> = regs
            .iter()
            .filter_map(|&(name, off, width)| {
                let v = if width == 2 {
                    mem.read_u16(fp.add(off)).ok().map(u64::from)
                } else {
                    mem.read_u64(fp.add(off)).ok()
                };
                v.map(|v| Register { name: name.to_string(), value: Addr(v) })
            })
            .collect();
        // The goroutine it interrupted: the M's curg when the context's sp is
        // on its stack, else g0.
        let curg = gs.list.iter().find(|g| g.address == m.curg && !m.curg.is_null());
        let on_curg = curg.filter(|g| g.stack.0 <= sp && sp < g.stack.1);
        let mut g = match on_curg {
            Some(g) => g.clone(),
            None => Goroutine {
                id: 0,
                status: "idle".into(),
                wait_reason: None,
                wait_minutes: None,
                locked_to_thread: false,
                created_by: None,
                address: m.g0,
                scan: false,
                extra: GoroutineExtra {
                    m: Some(m.id),
                    thread: Some(m.procid),
                    mp: Some(m.address),
                    ..Default::default()
                }
                .boxed(),
                unwound_from: UnwindSource::ThreadRegisters,
                stack_error: None,
                frames: Default::default(),
                status_raw: 0,
                wait_since_ns: 0,
                stack: (Addr(0), Addr(0)),
            },
        };
        let u = unwind(mem, &funcs, p.arch, Start { pc, sp, trap: true, syscall: false, lr }, None, MAX_FRAMES);
        g.frames = sym.stack(&p.pclntab, mem, &u.frames);
        g.stack_error = u.error.map(Box::new);
        let from_process = matches!(si.code, 0 | -1 | -6);
        out.push(HandledSignal {
            m: m.id,
            thread: m.procid,
            signal: super::crash::signal_name(si.signo as u32),
            number: si.signo as u32,
            code: si.code,
            from_outside: !from_process || Some(si.pid) != own,
            pc,
            registers,
            goroutine: g,
        });
    }
    out.sort_by_key(|h| (!h.from_outside, h.m));
    out
}

/// The signal frames on a thread's stack, innermost first: each
/// `runtime.sigtramp` frame's fp and the `siginfo` of its kernel signal
/// frame (when readable). A handler interrupted by another signal (the
/// runtime raising SIGABRT while it handles SIGQUIT) nests them: each is
/// followed into the context it interrupted, at most four deep.
pub fn signal_frames(p: &Process, t: &crate::corefile::ThreadState) -> Vec<(Addr, Option<SigInfo>)> {
    let funcs = PclntabFuncs::new(&p.pclntab);
    let mem = p.mem();
    let sf = p.arch.signal_frame();
    let mut out = Vec::new();
    let mut start =
        Start { pc: Addr(t.regs.pc), sp: Addr(t.regs.sp), trap: true, syscall: false, lr: t.regs.lr.map(Addr) };
    for _ in 0..4 {
        let u = unwind(mem, &funcs, p.arch, start, None, SIGNAL_FRAME_DEPTH);
        let Some(f) = u.frames.iter().find(|f| funcs.lookup(f.pc).is_some_and(|ff| ff.special == Special::SigTramp))
        else {
            break;
        };
        let mut b = [0u8; 24];
        let si = mem
            .read(f.fp.add(sf.siginfo), &mut b)
            .ok()
            .and_then(|_| crate::corefile::notes::parse_siginfo(&b))
            .filter(|si| (1..=64).contains(&si.signo));
        out.push((f.fp, si));
        let word = |o: u64| mem.read_ptr(f.fp.add(o)).ok();
        let (Some(pc), Some(sp)) = (word(sf.pc), word(sf.sp)) else { break };
        start = Start { pc, sp, trap: true, syscall: false, lr: sf.lr.and_then(word) };
    }
    out
}
