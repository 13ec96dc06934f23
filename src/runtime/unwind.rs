//! The unwinder: walks a stack as the runtime's `unwinder` does (frame sizes
//! from pcsp; the return address at `fp-8` on x86, in the link register or the
//! frame's bottom word on arm64), across `systemstack`/`morestack` switches
//! and signal frames. Memory, functions and the architecture are injected, so
//! tests can fake all three.

use crate::addr::{Addr, AddrRange};
use crate::arch::Arch;
use crate::exe::pclntab::{funcflag, Pclntab};
use crate::memory::MemError;
use crate::memory::{Memory, ReadExt};

/// What the unwinder needs to know about the function at a pc.
#[derive(Clone, Copy, Debug)]
pub struct FuncFacts {
    /// Entry pc.
    pub entry: Addr,
    /// How the unwinder treats the function.
    pub special: Special,
    /// `abi.FuncFlag` bits.
    pub flag: u8,
    /// pcsp value at the pc asked about.
    pub sp_delta: Option<i32>,
}

/// A source of [`FuncFacts`] (the pclntab, or a fake in tests).
pub trait FuncTable {
    /// Facts about the function containing `pc`, at `pc`.
    fn lookup(&self, pc: Addr) -> Option<FuncFacts>;
}

/// The pclntab with the special functions' entries resolved once.
pub struct PclntabFuncs<'a> {
    tab: &'a Pclntab,
    specials: Vec<(Addr, Special)>,
}

impl<'a> PclntabFuncs<'a> {
    /// Resolves the special functions by name (a pass over the function table).
    pub fn new(tab: &'a Pclntab) -> Self {
        let specials = tab
            .funcs()
            .filter_map(|f| match Special::of(f.name()) {
                Special::None => None,
                s => Some((f.entry, s)),
            })
            .collect();
        PclntabFuncs { tab, specials }
    }
}

impl FuncTable for PclntabFuncs<'_> {
    fn lookup(&self, pc: Addr) -> Option<FuncFacts> {
        let f = self.tab.find_func(pc)?;
        let special = self.specials.iter().find(|(e, _)| *e == f.entry).map_or(Special::None, |(_, s)| *s);
        Some(FuncFacts { entry: f.entry, special, flag: f.flag(), sp_delta: f.sp_delta(pc) })
    }
}

/// Remembers lookups: goroutine stacks repeat the same pcs.
pub struct CachedFuncs<'a, T: FuncTable> {
    inner: &'a T,
    cache: std::cell::RefCell<rustc_hash::FxHashMap<Addr, Option<FuncFacts>>>,
}

impl<'a, T: FuncTable> CachedFuncs<'a, T> {
    /// An empty cache in front of `inner`.
    pub fn new(inner: &'a T) -> Self {
        CachedFuncs { inner, cache: Default::default() }
    }
}

impl<T: FuncTable> FuncTable for CachedFuncs<'_, T> {
    fn lookup(&self, pc: Addr) -> Option<FuncFacts> {
        if let Some(v) = self.cache.borrow().get(&pc) {
            return *v;
        }
        let v = self.inner.lookup(pc);
        self.cache.borrow_mut().insert(pc, v);
        v
    }
}

/// Functions the unwinder treats specially, by the runtime's names.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Special {
    /// An ordinary function.
    None,
    /// Called by a signal handler in place of the faulting instruction:
    /// `sigpanic`, `asyncPreempt`, `debugCallV2`.
    Injected,
    /// `runtime.systemstack`: g0 frames continue on the goroutine's stack.
    SystemStack,
    /// `runtime.morestack`: g0 frames continue at the goroutine's `sched`.
    MoreStack,
    /// `runtime.sigtramp`: the kernel's signal frame (ucontext) is above it.
    SigTramp,
    /// `runtime.cgocallback`: its SPWRITE flag does not stop unwinding.
    CgoCallback,
}

impl Special {
    /// Classifies a function by name.
    pub fn of(name: &str) -> Special {
        match name {
            "runtime.sigpanic" | "runtime.asyncPreempt" | "runtime.debugCallV2" => Special::Injected,
            "runtime.systemstack" => Special::SystemStack,
            "runtime.morestack" => Special::MoreStack,
            "runtime.sigtramp" | "runtime.cgoSigtramp" => Special::SigTramp,
            "runtime.cgocallback" => Special::CgoCallback,
            _ => Special::None,
        }
    }
}

/// Where to start unwinding.
#[derive(Copy, Clone, Debug)]
pub struct Start {
    /// Program counter.
    pub pc: Addr,
    /// Stack pointer.
    pub sp: Addr,
    /// True when `pc` is the interrupted instruction (a trap), not a return address.
    pub trap: bool,
    /// True when starting from `g.syscallpc/syscallsp` (SPWRITE is ignored then).
    pub syscall: bool,
    /// The link register (`g.sched.lr`, a thread's or a signal context's LR),
    /// on link-register machines; `None` reads it from the stack.
    pub lr: Option<Addr>,
}

/// The goroutine a thread was running, for switching stacks from g0.
#[derive(Copy, Clone, Debug)]
pub struct CurG {
    /// Its stack bounds.
    pub stack: AddrRange,
    /// `g.sched.pc`.
    pub sched_pc: Addr,
    /// `g.sched.sp`.
    pub sched_sp: Addr,
    /// `g.sched.lr`.
    pub sched_lr: Addr,
}

/// One physical frame.
#[derive(Clone, Debug)]
pub struct PhysFrame {
    /// Program counter (a return address except for trap frames).
    pub pc: Addr,
    /// Stack pointer at `pc`.
    pub sp: Addr,
    /// Caller's stack pointer (the runtime's `frame.fp`: `sp + framesize`, `+ 8` on x86).
    pub fp: Addr,
    /// The runtime's `frame.argp` (arguments start here: `fp + sys.MinFrameSize`).
    pub argp: Addr,
    /// Function entry.
    pub entry: Addr,
    /// True when lines are looked up at `pc` itself (the runtime's `symPC`).
    pub trap: bool,
    /// True for frames on a system stack (g0 or gsignal), not the goroutine's.
    pub system_stack: bool,
}

/// Why a stack could not be unwound to its top.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StackError {
    /// A stack word could not be read.
    StackUnreadable(MemError),
    /// No function covers the pc.
    UnknownPc(Addr),
    /// No function covers `g.sched.pc` after a `morestack` switch.
    UnknownPcAfterMorestack(Addr),
    /// The function's pcsp table has no value at the pc.
    NoFrameSize {
        /// The function's entry.
        entry: Addr,
        /// The pc.
        pc: Addr,
    },
    /// The pcsp table gives a negative frame size.
    NegativeFrameSize {
        /// The function's entry.
        entry: Addr,
        /// The pc.
        pc: Addr,
    },
    /// The kernel's signal frame could not be read.
    SignalContextUnreadable(MemError),
    /// The walk did not move (a loop in the stack).
    Stuck {
        /// Where it stood.
        pc: Addr,
        /// Its stack pointer.
        sp: Addr,
    },
    /// A goroutine's frame returns to address 0: a goroutine's stack ends
    /// in `runtime.goexit` (a system stack in a switch back to it, or a
    /// signal frame), so the stack's memory is damaged (zeroed) there.
    NullReturn {
        /// The frame's pc.
        pc: Addr,
        /// Its stack pointer.
        sp: Addr,
    },
    /// More frames than gotopsy follows.
    TooDeep(usize),
    /// Read from a saved report: the reason as it was written.
    Other(String),
}

impl std::fmt::Display for StackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StackError::StackUnreadable(e) => write!(f, "stack unreadable: {e}"),
            StackError::UnknownPc(pc) => write!(f, "unknown pc {pc}"),
            StackError::UnknownPcAfterMorestack(pc) => write!(f, "unknown pc {pc} in g.sched after morestack"),
            StackError::NoFrameSize { entry, pc } => write!(f, "no frame size for the function at {entry} (pc {pc})"),
            StackError::NegativeFrameSize { entry, pc } => {
                write!(f, "negative frame size for the function at {entry} (pc {pc})")
            }
            StackError::SignalContextUnreadable(e) => write!(f, "signal context unreadable: {e}"),
            StackError::Stuck { pc, sp } => write!(f, "traceback stuck at pc={pc} sp={sp}"),
            StackError::NullReturn { pc, sp } => {
                write!(
                    f,
                    "return address 0 in the frame at sp={sp} pc={pc}, before runtime.goexit: the stack is damaged"
                )
            }
            StackError::TooDeep(max) => write!(f, "stopped after {max} frames"),
            StackError::Other(s) => f.write_str(s),
        }
    }
}

/// In JSON a stack error is its text (`stack_error`).
impl serde::Serialize for StackError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for StackError {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(StackError::Other(String::deserialize(d)?))
    }
}

/// Result of unwinding: the frames found, and why unwinding stopped early if it did.
#[derive(Clone, Debug, Default)]
pub struct Unwound {
    /// Frames, innermost first.
    pub frames: Vec<PhysFrame>,
    /// Why the walk stopped before the top of the stack, if it did.
    pub error: Option<StackError>,
}

/// Unwinds from `start`. `curg` enables the g0→goroutine switches and is the
/// goroutine whose stack counts as "not a system stack". Stops after `max` frames.
pub fn unwind(
    mem: &dyn Memory,
    funcs: &dyn FuncTable,
    arch: &dyn Arch,
    start: Start,
    curg: Option<CurG>,
    max: usize,
) -> Unwound {
    let mut out = Unwound { frames: Vec::with_capacity(32), error: None };
    let uses_lr = arch.uses_lr();
    let mut pc = start.pc;
    let mut sp = start.sp;
    let mut lr = start.lr.filter(|l| uses_lr && !l.is_null());
    let mut trap = start.trap;
    let mut syscall = start.syscall;
    // The frame the walk starts in (and the first after a signal frame): its LR
    // is still in the register while it has not pushed a frame.
    let mut innermost = true;
    if pc.is_null() {
        // Likely a call through a nil func: start in the caller's frame.
        match mem.read_ptr(sp) {
            Ok(p) => {
                pc = p;
                if uses_lr {
                    lr = None;
                } else {
                    sp = sp.add(8);
                }
            }
            Err(e) => {
                out.error = Some(StackError::StackUnreadable(e));
                return out;
            }
        }
    }
    let on_goroutine_stack = |sp: Addr| curg.is_none_or(|c| c.stack.contains(sp));
    let mut signal_frames = 0u32;
    while out.frames.len() < max {
        let Some(mut f) = funcs.lookup(pc) else {
            out.error = Some(StackError::UnknownPc(pc));
            return out;
        };
        let mut special = f.special;
        let mut system = !on_goroutine_stack(sp);
        let mut switched = false;
        if let (true, Some(g)) = (system, curg) {
            match special {
                Special::MoreStack => {
                    pc = g.sched_pc;
                    sp = g.sched_sp;
                    lr = Some(g.sched_lr).filter(|l| uses_lr && !l.is_null());
                    system = false;
                    match funcs.lookup(pc) {
                        Some(ff) => f = ff,
                        None => {
                            out.error = Some(StackError::UnknownPcAfterMorestack(pc));
                            return out;
                        }
                    }
                    special = f.special;
                }
                // On link-register machines, systemstack at delta 0 has not
                // switched yet (or is about to return): unwind it normally.
                Special::SystemStack if uses_lr && f.sp_delta == Some(0) => switched = true,
                Special::SystemStack => {
                    sp = g.sched_sp;
                    system = false;
                    switched = true;
                }
                _ => {}
            }
        }
        let Some(delta) = f.sp_delta else {
            out.error = Some(StackError::NoFrameSize { entry: f.entry, pc });
            return out;
        };
        let Ok(delta) = u64::try_from(delta) else {
            out.error = Some(StackError::NegativeFrameSize { entry: f.entry, pc });
            return out;
        };
        let fp = arch.frame_fp(sp, delta);
        let mut flag = f.flag;
        if syscall || switched || special == Special::CgoCallback {
            flag &= !funcflag::SPWRITE;
        }
        out.frames.push(PhysFrame { pc, sp, fp, argp: arch.argp(fp), entry: f.entry, trap, system_stack: system });

        if special == Special::SigTramp && curg.is_some() && signal_frames < 4 {
            // Continue in the context the signal interrupted, as the runtime's
            // own traceback of it starts (`tracebacktrap(sigpc, sigsp, siglr)`).
            signal_frames = signal_frames.saturating_add(1);
            let sf = arch.signal_frame();
            let read = |off: u64| mem.read_ptr(fp.add(off));
            let ctx_lr = sf.lr.map(read).transpose();
            match (read(sf.pc), read(sf.sp), read(sf.fp), ctx_lr) {
                (Ok(ip), Ok(ctx_sp), Ok(_), Ok(ctx_lr)) => {
                    pc = ip;
                    sp = ctx_sp;
                    lr = ctx_lr.filter(|l| !l.is_null());
                    trap = true;
                    syscall = false;
                    innermost = true;
                    continue;
                }
                (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) | (.., Err(e)) => {
                    out.error = Some(StackError::SignalContextUnreadable(e));
                    return out;
                }
            }
        }
        if flag & (funcflag::TOPFRAME | funcflag::SPWRITE) != 0 {
            return out;
        }
        // The return address: in the link register while the innermost frame
        // has not saved it, else where the frame saved it.
        let saved = match lr {
            Some(l) if !(innermost && sp < fp) => Ok(l),
            _ => mem.read_ptr(arch.return_address_slot(sp, fp)),
        };
        let ret = match saved {
            Ok(r) => r,
            Err(e) => {
                out.error = Some(StackError::StackUnreadable(e));
                return out;
            }
        };
        if ret.is_null() {
            if curg.is_some() {
                out.error = Some(StackError::NullReturn { pc, sp });
            }
            return out;
        }
        if ret == pc && fp == sp {
            out.error = Some(StackError::Stuck { pc, sp });
            return out;
        }
        let injected = special == Special::Injected;
        trap = injected;
        syscall = false;
        innermost = false;
        pc = ret;
        sp = fp;
        lr = None;
        if uses_lr && injected {
            // The signal handler saved the interrupted LR at the bottom of the
            // frame it faked the call from (`sigctxt.preparePanic`, `pushCall`).
            let x = match mem.read_ptr(sp) {
                Ok(x) => x,
                Err(e) => {
                    out.error = Some(StackError::StackUnreadable(e));
                    return out;
                }
            };
            sp = sp.add(arch.min_frame_size().next_multiple_of(arch.stack_align()));
            match funcs.lookup(pc) {
                None => pc = x,
                Some(ff) if ff.sp_delta == Some(0) => lr = Some(x).filter(|l| !l.is_null()),
                Some(_) => {}
            }
        }
    }
    out.error = Some(StackError::TooDeep(max));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::{AMD64, ARM64};
    use crate::memory::FakeMemory;

    /// Fake functions: (entry, end, name, flag, frame size).
    struct Fake(Vec<(u64, u64, &'static str, u8, i32)>);

    impl FuncTable for Fake {
        fn lookup(&self, pc: Addr) -> Option<FuncFacts> {
            self.0.iter().find(|f| f.0 <= pc.0 && pc.0 < f.1).map(|f| FuncFacts {
                entry: Addr(f.0),
                special: Special::of(f.2),
                flag: f.3,
                sp_delta: Some(f.4),
            })
        }
    }

    /// An ordinary start (not a trap, not a syscall, no LR) at `pc`, `sp`.
    fn at(pc: u64, sp: u64) -> Start {
        Start { pc: Addr(pc), sp: Addr(sp), trap: false, syscall: false, lr: None }
    }

    /// A goroutine whose stack is [0x7000, 0x9000), with an empty `sched`.
    fn on_goroutine_stack() -> CurG {
        CurG {
            stack: AddrRange::new(Addr(0x7000), Addr(0x9000)),
            sched_pc: Addr(0),
            sched_sp: Addr(0),
            sched_lr: Addr(0),
        }
    }

    fn pcs_of(u: &Unwound) -> Vec<u64> {
        u.frames.iter().map(|f| f.pc.0).collect()
    }

    fn funcs() -> Fake {
        Fake(vec![
            (0x1000, 0x1100, "runtime.gopark", 0, 0x20),
            (0x1100, 0x1200, "main.worker", 0, 0x10),
            (0x1200, 0x1300, "runtime.goexit", funcflag::TOPFRAME, 0),
            (0x1300, 0x1400, "runtime.sigpanic", 0, 0x18),
            (0x1400, 0x1500, "runtime.systemstack", 0, 0),
            (0x1500, 0x1600, "runtime.raise", 0, 0),
            (0x1600, 0x1700, "runtime.sigtramp", funcflag::TOPFRAME, 0x8),
        ])
    }

    #[test]
    fn walks_a_parked_goroutine() {
        // gopark frame at sp=0x8000 (size 0x20): return address at 0x8020+8-8.
        let mem = FakeMemory::new()
            .map_words(Addr(0x8020), &[0x1150]) // return into main.worker
            .map_words(Addr(0x8038), &[0x1201]); // return into goexit
        let u = unwind(&mem, &funcs(), &AMD64, at(0x1050, 0x8000), None, 100);
        assert_eq!(u.error, None);
        let pcs = pcs_of(&u);
        assert_eq!(pcs, vec![0x1050, 0x1150, 0x1201]);
        assert_eq!((u.frames[1].sp, u.frames[1].fp), (Addr(0x8028), Addr(0x8040)));
    }

    #[test]
    fn caller_of_an_injected_call_is_a_trap_frame() {
        let mem = FakeMemory::new().map_words(Addr(0x8018), &[0x1150]).map_words(Addr(0x8030), &[0x1201]);
        let u = unwind(&mem, &funcs(), &AMD64, at(0x1310, 0x8000), None, 100);
        assert!(u.frames[1].trap, "the frame sigpanic interrupted is looked up at its own pc");
        assert!(!u.frames[2].trap);
    }

    #[test]
    fn reports_unreadable_stack_and_unknown_pc() {
        let u = unwind(&FakeMemory::new(), &funcs(), &AMD64, at(0x1050, 0x8000), None, 100);
        assert_eq!(u.frames.len(), 1);
        assert!(u.error.unwrap().to_string().starts_with("stack unreadable: 0x8020"));
        let u = unwind(&FakeMemory::new(), &funcs(), &AMD64, at(0x9999, 0x8000), None, 100);
        assert_eq!(u.error.map(|e| e.to_string()).as_deref(), Some("unknown pc 0x9999"));
    }

    #[test]
    fn switches_from_g0_to_the_goroutine_at_systemstack() {
        // raise on g0 (0x100000..), returns into systemstack; the goroutine's sched.sp is 0x8000.
        let mem = FakeMemory::new()
            .map_words(Addr(0x100000), &[0x1410])
            .map_words(Addr(0x8000), &[0x1150])
            .map_words(Addr(0x8018), &[0x1201]);
        let g = CurG {
            stack: AddrRange::new(Addr(0x7000), Addr(0x9000)),
            sched_pc: Addr(0),
            sched_sp: Addr(0x8000),
            sched_lr: Addr(0),
        };
        let u = unwind(
            &mem,
            &funcs(),
            &AMD64,
            Start { pc: Addr(0x1500), sp: Addr(0x100000), trap: true, syscall: false, lr: None },
            Some(g),
            100,
        );
        assert_eq!(u.error, None);
        let got: Vec<(u64, bool)> = u.frames.iter().map(|f| (f.pc.0, f.system_stack)).collect();
        assert_eq!(got, vec![(0x1500, true), (0x1410, false), (0x1150, false), (0x1201, false)]);
    }

    #[test]
    fn crosses_a_signal_frame_into_the_interrupted_context() {
        // sigtramp at sp 0x100000, size 8: ucontext at fp = 0x100010.
        let ctx = 0x100010u64;
        let sf = AMD64.signal_frame();
        let mem = FakeMemory::new()
            .map_words(Addr(ctx + sf.fp), &[0])
            .map_words(Addr(ctx + sf.sp), &[0x8000])
            .map_words(Addr(ctx + sf.pc), &[0x1120])
            .map_words(Addr(0x8010), &[0x1201]);
        let g = on_goroutine_stack();
        let u = unwind(&mem, &funcs(), &AMD64, at(0x1610, 0x100000), Some(g), 100);
        assert_eq!(u.error, None);
        let pcs = pcs_of(&u);
        assert_eq!(pcs, vec![0x1610, 0x1120, 0x1201]);
        assert!(u.frames[1].trap && !u.frames[1].system_stack);
    }

    #[test]
    fn stops_at_max_frames_on_a_cycle() {
        // main.worker returning into itself with sp advancing forever is bounded by max.
        let words: Vec<u64> = vec![0x1150; 64];
        let mem = FakeMemory::new().map_words(Addr(0x8000), &words);
        let u = unwind(&mem, &funcs(), &AMD64, at(0x1150, 0x8000), None, 10);
        assert_eq!(u.frames.len(), 10);
        assert!(u.error.unwrap().to_string().contains("stopped after 10"));
    }

    #[test]
    fn arm64_reads_saved_lrs_at_the_bottom_of_frames() {
        // gopark's frame at sp 0x8000 (delta 0x20): the LR it saved is at 0x8000;
        // main.worker's frame is [0x8020, 0x8030): its saved LR at 0x8020.
        let mem = FakeMemory::new().map_words(Addr(0x8000), &[0x1150]).map_words(Addr(0x8020), &[0x1204]);
        let u = unwind(&mem, &funcs(), &ARM64, at(0x1050, 0x8000), None, 100);
        assert_eq!(u.error, None);
        let got: Vec<(u64, u64, u64)> = u.frames.iter().map(|f| (f.pc.0, f.sp.0, f.fp.0)).collect();
        assert_eq!(got, vec![(0x1050, 0x8000, 0x8020), (0x1150, 0x8020, 0x8030), (0x1204, 0x8030, 0x8030)]);
    }

    #[test]
    fn arm64_frameless_leaf_keeps_its_lr_and_a_framed_one_has_saved_it() {
        // runtime.raise has no frame (delta 0): its return address is the thread's LR.
        let mem = FakeMemory::new().map_words(Addr(0x8000), &[0x1204]);
        let start = |lr| Start { pc: Addr(0x1500), sp: Addr(0x8000), trap: true, syscall: false, lr: Some(Addr(lr)) };
        let u = unwind(&mem, &funcs(), &ARM64, start(0x1150), None, 100);
        let pcs = pcs_of(&u);
        assert_eq!(pcs, vec![0x1500, 0x1150, 0x1204]);
        // A framed innermost function (gopark, delta 0x20) has pushed LR: the register is stale.
        let u = unwind(
            &FakeMemory::new().map_words(Addr(0x8000), &[0x1150]).map_words(Addr(0x8020), &[0x1204]),
            &funcs(),
            &ARM64,
            Start { pc: Addr(0x1050), sp: Addr(0x8000), trap: true, syscall: false, lr: Some(Addr(0x1666)) },
            None,
            100,
        );
        let pcs = pcs_of(&u);
        assert_eq!(pcs, vec![0x1050, 0x1150, 0x1204]);
    }

    #[test]
    fn arm64_after_an_injected_call_the_interrupted_lr_comes_from_the_saved_slot() {
        // sigpanic's frame [0x8000, 0x8018) returns into runtime.raise (delta 0,
        // a leaf the signal interrupted); the handler saved raise's LR at 0x8018
        // and moved sp by 16, so raise's frame starts at 0x8028 and returns to main.worker.
        let mem = FakeMemory::new()
            .map_words(Addr(0x8000), &[0x1504])
            .map_words(Addr(0x8018), &[0x1150])
            .map_words(Addr(0x8028), &[0x1204]);
        let u = unwind(&mem, &funcs(), &ARM64, at(0x1310, 0x8000), None, 100);
        assert_eq!(u.error, None);
        let got: Vec<(u64, u64, bool)> = u.frames.iter().map(|f| (f.pc.0, f.sp.0, f.trap)).collect();
        assert_eq!(
            got,
            vec![(0x1310, 0x8000, false), (0x1504, 0x8028, true), (0x1150, 0x8028, false), (0x1204, 0x8038, false)]
        );
    }

    #[test]
    fn arm64_crosses_a_signal_frame_with_the_interrupted_lr() {
        // sigtramp at sp 0x100000, delta 8: the kernel's frame at 0x100008.
        let sf = ARM64.signal_frame();
        let base = 0x100008u64;
        let mem = FakeMemory::new()
            .map_words(Addr(base + sf.fp), &[0])
            .map_words(Addr(base + sf.sp), &[0x8000])
            .map_words(Addr(base + sf.pc), &[0x1500])
            .map_words(Addr(base + sf.lr.unwrap()), &[0x1150])
            .map_words(Addr(0x8000), &[0x1204]);
        let g = on_goroutine_stack();
        let u = unwind(&mem, &funcs(), &ARM64, at(0x1610, 0x100000), Some(g), 100);
        assert_eq!(u.error, None);
        let pcs = pcs_of(&u);
        assert_eq!(pcs, vec![0x1610, 0x1500, 0x1150, 0x1204]);
    }
}
