//! Architecture specifics, behind one interface ([`Arch`]) with one module
//! per architecture ([`amd64`], [`arm64`]): the thread registers of a core's
//! `NT_PRSTATUS` note, the kernel's signal frame, where return addresses are,
//! the argument registers and the register save area of `asyncPreempt`.
//! Nothing else in gotopsy tests the machine type: it asks the [`Arch`] the
//! core was written on ([`for_elf_machine`]).
//!
//! This module only describes; it reads nothing from the target, so every
//! layer may use it.

pub mod amd64;
pub mod arm64;

use crate::addr::Addr;

/// The registers gotopsy needs of a thread, or of a context a signal interrupted.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Regs {
    /// Program counter.
    pub pc: u64,
    /// Stack pointer.
    pub sp: u64,
    /// Frame pointer register (amd64 `rbp`, arm64 `x29`).
    pub fp: u64,
    /// Link register (arm64 `x30`); `None` where calls push the return address.
    pub lr: Option<u64>,
    /// The register Go keeps `g` in under ABIInternal (amd64 `r14`, arm64 `x28`).
    pub g: u64,
    /// Where the thread's TLS keeps `g` with internal linking (amd64
    /// `fs_base − 8`), when the registers say.
    #[serde(skip)]
    pub tls_g: Option<u64>,
}

/// Where the registers of the interrupted context are, in the kernel's signal
/// frame, as byte offsets from the caller-SP (`fp`) of `runtime.sigtramp`'s
/// frame: the stack pointer the kernel handed the handler.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SignalFrame {
    /// Offset of the interrupted pc.
    pub pc: u64,
    /// Offset of the interrupted stack pointer.
    pub sp: u64,
    /// Offset of the interrupted frame pointer register.
    pub fp: u64,
    /// Offset of the interrupted link register, on link-register machines.
    pub lr: Option<u64>,
    /// Offset of the signal's `siginfo` (`si_signo`, `si_code`, the sender's pid and uid).
    pub siginfo: u64,
}

/// One architecture's facts, in the Go runtime's terms (`sys.MinFrameSize`,
/// `usesLR`, `sys.PCQuantum`).
pub trait Arch: Send + Sync + std::fmt::Debug {
    /// `GOARCH`: `amd64`, `arm64`.
    fn goarch(&self) -> &'static str;
    /// The ELF `e_machine` of its cores and executables.
    fn elf_machine(&self) -> u16;
    /// The `object` crate's name for it (to check an executable).
    fn object_architecture(&self) -> object::Architecture;
    /// Decodes the register block (`pr_reg`, `elf_gregset_t`) of an `NT_PRSTATUS` note.
    fn prstatus_regs(&self, pr_reg: &[u8]) -> Option<Regs>;
    /// True when calls leave the return address in a link register (`usesLR`).
    fn uses_lr(&self) -> bool;
    /// `sys.MinFrameSize`: the bytes at the bottom of every frame reserved for the saved LR.
    fn min_frame_size(&self) -> u64;
    /// `sys.StackAlign`.
    fn stack_align(&self) -> u64;
    /// `sys.PCQuantum`: pc-value tables advance in units of this many bytes.
    fn pc_quantum(&self) -> u8;
    /// The kernel's signal frame, from `runtime.sigtramp`'s caller-SP.
    fn signal_frame(&self) -> SignalFrame;
    /// The interrupted context's registers as the runtime's `dumpregs`
    /// prints them, in its order: (name, offset from the `sigtramp` frame's
    /// fp, width in bytes).
    fn signal_registers(&self) -> Vec<(&'static str, u64, u8)>;
    /// The name of DWARF register `r` (for messages).
    fn dwarf_register_name(&self, r: u16) -> Option<&'static str>;
    /// Where `runtime.asyncPreempt` saved DWARF register `r`, as an offset from
    /// its frame's SP; `None` when it saves no general-purpose copy of it.
    fn async_preempt_slot(&self, r: u16) -> Option<u64>;
    /// The program's first instruction's symbol (`_rt0_<arch>_linux`).
    fn rt0_symbol(&self) -> &'static str;
    /// `arenaBaseOffset` (a fallback for DWARF that lacks the constant).
    fn arena_base_offset(&self) -> u64;
    /// `cpu.CacheLinePadSize`: the size of the runtime's padding against false sharing.
    fn cache_line_pad_size(&self) -> u64;
    /// The ELF relocation type that adds the load bias to a word (`R_X86_64_RELATIVE`,
    /// `R_AARCH64_RELATIVE`): how a PIE's pointer words in the file become the process's.
    fn relative_relocation(&self) -> u32;

    /// A frame's caller-SP (the runtime's `frame.fp`) from its SP and pcsp delta:
    /// on x86 the call pushed the return address above the frame.
    fn frame_fp(&self, sp: Addr, sp_delta: u64) -> Addr {
        let fp = sp.add(sp_delta);
        if self.uses_lr() {
            fp
        } else {
            fp.add(8)
        }
    }

    /// Where a frame's caller saved the return address into it: `fp − 8` on x86,
    /// the frame's bottom word (`sp`) on link-register machines.
    fn return_address_slot(&self, sp: Addr, fp: Addr) -> Addr {
        if self.uses_lr() {
            sp
        } else {
            fp.offset(-8)
        }
    }

    /// The runtime's `frame.argp`: arguments and their spill slots start here.
    fn argp(&self, fp: Addr) -> Addr {
        fp.add(self.min_frame_size())
    }

    /// The runtime's `frame.varp`: locals end here (below the return address
    /// on x86, and below the saved frame pointer when the frame has one).
    fn varp(&self, sp: Addr, fp: Addr) -> Addr {
        let varp = if self.uses_lr() { fp } else { fp.offset(-8) };
        if varp > sp {
            varp.offset(-8)
        } else {
            varp
        }
    }
}

/// The amd64 description.
pub static AMD64: amd64::Amd64 = amd64::Amd64;
/// The arm64 description.
pub static ARM64: arm64::Arm64 = arm64::Arm64;

/// The architecture of ELF machine `machine`, or why it is not supported.
pub fn for_elf_machine(machine: u16) -> Result<&'static dyn Arch, String> {
    let all: [&'static dyn Arch; 2] = [&AMD64, &ARM64];
    all.into_iter().find(|a| a.elf_machine() == machine).ok_or_else(|| {
        format!(
            "machine is {}; gotopsy reads linux/amd64 and linux/arm64 cores",
            goblin::elf::header::machine_to_str(machine)
        )
    })
}

/// The architecture of an executable `object` parsed, or why it is not supported.
pub fn for_object_architecture(a: object::Architecture) -> Result<&'static dyn Arch, String> {
    let all: [&'static dyn Arch; 2] = [&AMD64, &ARM64];
    all.into_iter()
        .find(|x| x.object_architecture() == a)
        .ok_or_else(|| format!("architecture {a:?}; gotopsy reads linux/amd64 and linux/arm64 executables"))
}

/// Reads the little-endian word `i` of a register block.
fn word(b: &[u8], i: usize) -> Option<u64> {
    let at = i.checked_mul(8)?;
    Some(u64::from_le_bytes(b.get(at..at.checked_add(8)?)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machines_are_named_and_unknown_ones_refused() {
        assert_eq!(for_elf_machine(goblin::elf::header::EM_X86_64).unwrap().goarch(), "amd64");
        assert_eq!(for_elf_machine(goblin::elf::header::EM_AARCH64).unwrap().goarch(), "arm64");
        let e = for_elf_machine(goblin::elf::header::EM_RISCV).unwrap_err();
        assert!(e.contains("RISCV") || e.contains("RISC"), "{e}");
        assert!(for_elf_machine(goblin::elf::header::EM_386).is_err());
    }

    #[test]
    fn frames_as_the_runtime_computes_them() {
        // amd64: fp = sp + delta + 8; return address at fp-8; varp below it and the saved rbp.
        let (sp, d) = (Addr(0x1000), 0x20);
        let fp = AMD64.frame_fp(sp, d);
        assert_eq!(fp, Addr(0x1028));
        assert_eq!(AMD64.return_address_slot(sp, fp), Addr(0x1020));
        assert_eq!((AMD64.argp(fp), AMD64.varp(sp, fp)), (Addr(0x1028), Addr(0x1018)));
        // A frameless amd64 function: varp is the return address slot.
        assert_eq!(AMD64.varp(Addr(0x1000), Addr(0x1008)), Addr(0x1000));
        // arm64: fp = sp + delta; saved LR at sp; argp above the caller's LR slot.
        let fp = ARM64.frame_fp(sp, d);
        assert_eq!(fp, Addr(0x1020));
        assert_eq!(ARM64.return_address_slot(sp, fp), sp);
        assert_eq!((ARM64.argp(fp), ARM64.varp(sp, fp)), (Addr(0x1028), Addr(0x1018)));
        assert_eq!(ARM64.varp(sp, sp), sp);
    }
}
