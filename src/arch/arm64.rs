//! linux/arm64.

use super::{word, Arch, Regs, SignalFrame};

/// linux/arm64.
#[derive(Debug)]
pub struct Arm64;

/// `struct user_pt_regs`: x0–x30, sp, pc, pstate.
mod reg {
    pub const X28: usize = 28;
    pub const X29: usize = 29;
    pub const X30: usize = 30;
    pub const SP: usize = 31;
    pub const PC: usize = 32;
    /// The block's length in words.
    pub const COUNT: usize = 34;
}

/// The kernel's `struct rt_sigframe` is at the handler's entry SP: a 128-byte
/// `siginfo`, then `struct ucontext`, whose `uc_mcontext` (`struct
/// sigcontext`, 16-aligned) is 176 bytes in (`runtime/defs_linux_arm64.go`);
/// `sigcontext` is `fault_address`, `regs[31]`, `sp`, `pc`, `pstate`.
const SIGINFO: u64 = 128;
const MCONTEXT: u64 = 176;
const REGS: u64 = SIGINFO + MCONTEXT + 8;

impl Arch for Arm64 {
    fn goarch(&self) -> &'static str {
        "arm64"
    }
    fn elf_machine(&self) -> u16 {
        goblin::elf::header::EM_AARCH64
    }
    fn object_architecture(&self) -> object::Architecture {
        object::Architecture::Aarch64
    }
    fn prstatus_regs(&self, b: &[u8]) -> Option<Regs> {
        word(b, reg::COUNT - 1)?;
        Some(Regs {
            pc: word(b, reg::PC)?,
            sp: word(b, reg::SP)?,
            fp: word(b, reg::X29)?,
            lr: Some(word(b, reg::X30)?),
            g: word(b, reg::X28)?,
            // x28 holds g in Go code; the TLS slot is not in NT_PRSTATUS.
            tls_g: None,
        })
    }
    fn uses_lr(&self) -> bool {
        true
    }
    fn min_frame_size(&self) -> u64 {
        8
    }
    fn stack_align(&self) -> u64 {
        16
    }
    fn pc_quantum(&self) -> u8 {
        4
    }
    fn signal_frame(&self) -> SignalFrame {
        SignalFrame { pc: REGS + 32 * 8, sp: REGS + 31 * 8, fp: REGS + 29 * 8, lr: Some(REGS + 30 * 8), siginfo: 0 }
    }
    /// `signal_arm64.go`'s dumpregs over the kernel's `sigcontext`
    /// (fault_address, regs[31], sp, pc).
    #[allow(clippy::arithmetic_side_effects, reason = "constant offsets in the kernel's fixed sigcontext")]
    fn signal_registers(&self) -> Vec<(&'static str, u64, u8)> {
        const R: [&str; 30] = [
            "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
            "r16", "r17", "r18", "r19", "r20", "r21", "r22", "r23", "r24", "r25", "r26", "r27", "r28", "r29",
        ];
        let mut v: Vec<(&'static str, u64, u8)> = R.iter().zip(0u64..).map(|(n, i)| (*n, REGS + i * 8, 8)).collect();
        v.extend([
            ("lr", REGS + 30 * 8, 8),
            ("sp", REGS + 31 * 8, 8),
            ("pc", REGS + 32 * 8, 8),
            ("fault", REGS - 8, 8),
        ]);
        v
    }
    fn dwarf_register_name(&self, r: u16) -> Option<&'static str> {
        const X: [&str; 32] = [
            "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15",
            "x16", "x17", "x18", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28", "x29", "x30",
            "sp",
        ];
        X.get(r as usize).copied()
    }
    /// preempt_arm64.s (the same in Go 1.21–1.27 for the integer registers):
    /// `STP (R0, R1), 8(RSP)` … `(R16, R17), 136(RSP)`, then `(R19, R20), 152(RSP)`
    /// … `(R25, R26), 200(RSP)`; R18 (platform), R27 (temp), g, FP and LR elsewhere.
    #[allow(clippy::arithmetic_side_effects, reason = "r is at most 26 in the arms that compute")]
    fn async_preempt_slot(&self, r: u16) -> Option<u64> {
        let r = r as u64;
        match r {
            0..=17 => Some(8 + 8 * r),
            19..=26 => Some(152 + 8 * (r - 19)),
            _ => None,
        }
    }
    fn rt0_symbol(&self) -> &'static str {
        "_rt0_arm64_linux"
    }
    fn relative_relocation(&self) -> u32 {
        goblin::elf::reloc::R_AARCH64_RELATIVE
    }
    fn cache_line_pad_size(&self) -> u64 {
        128
    }

    fn arena_base_offset(&self) -> u64 {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_from_user_pt_regs() {
        let mut b = vec![0u8; reg::COUNT * 8];
        for (i, v) in [(reg::PC, 0x10000u64), (reg::SP, 0x4000), (reg::X29, 9), (reg::X30, 0x10010), (reg::X28, 0x2000)]
        {
            b[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
        }
        let r = Arm64.prstatus_regs(&b).unwrap();
        assert_eq!((r.pc, r.sp, r.fp, r.lr, r.g), (0x10000, 0x4000, 9, Some(0x10010), 0x2000));
        assert!(Arm64.prstatus_regs(&b[..200]).is_none());
    }

    #[test]
    fn the_signal_frame_is_where_the_runtime_declares_it() {
        // ucontext at SP+128; sigcontext at +176; regs[] 8 bytes in.
        let f = Arm64.signal_frame();
        assert_eq!((f.pc, f.sp, f.lr), (128 + 176 + 8 + 32 * 8, 128 + 176 + 8 + 31 * 8, Some(128 + 176 + 8 + 30 * 8)));
        assert_eq!(Arm64.async_preempt_slot(0), Some(8));
        assert_eq!(Arm64.async_preempt_slot(17), Some(144));
        assert_eq!(Arm64.async_preempt_slot(19), Some(152));
        assert_eq!(Arm64.async_preempt_slot(26), Some(208));
        assert_eq!(Arm64.async_preempt_slot(18), None);
    }
}
