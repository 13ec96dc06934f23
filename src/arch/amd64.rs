//! linux/amd64.

use super::{word, Arch, Regs, SignalFrame};

/// linux/amd64.
#[derive(Debug)]
pub struct Amd64;

/// Indices in `struct user_regs_struct` (the kernel's amd64 `elf_gregset_t`).
mod reg {
    pub const R14: usize = 1;
    pub const RBP: usize = 4;
    pub const RIP: usize = 16;
    pub const RSP: usize = 19;
    pub const FS_BASE: usize = 21;
    /// The block's length in words.
    pub const COUNT: usize = 27;
}

/// `struct ucontext` is at the handler's entry SP + 8 (above the restorer's
/// return address), which is `runtime.sigtramp`'s caller-SP; `uc_mcontext.gregs`
/// starts 40 bytes into it.
const GREGS: u64 = 40;
/// The kernel's `struct rt_sigframe` is `pretcode`, `struct ucontext` (304
/// bytes: flags, link, `stack_t`, the 256-byte `sigcontext`, the signal
/// mask), then `struct siginfo`: 304 bytes past the ucontext.
const SIGINFO: u64 = 304;
/// Indices in `gregs` (`REG_RBP`, `REG_RSP`, `REG_RIP`).
const G_RBP: u64 = 10;
const G_RSP: u64 = 15;
const G_RIP: u64 = 16;

/// DWARF register numbers 0–16 of the System V amd64 ABI.
const DWARF_NAMES: [&str; 17] = [
    "rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip",
];

impl Arch for Amd64 {
    fn goarch(&self) -> &'static str {
        "amd64"
    }
    fn elf_machine(&self) -> u16 {
        goblin::elf::header::EM_X86_64
    }
    fn object_architecture(&self) -> object::Architecture {
        object::Architecture::X86_64
    }
    fn prstatus_regs(&self, b: &[u8]) -> Option<Regs> {
        word(b, reg::COUNT - 1)?;
        Some(Regs {
            pc: word(b, reg::RIP)?,
            sp: word(b, reg::RSP)?,
            fp: word(b, reg::RBP)?,
            lr: None,
            g: word(b, reg::R14)?,
            // runtime·settls: g lives at -8(FS) under internal linking.
            tls_g: word(b, reg::FS_BASE).and_then(|fs| fs.checked_sub(8)),
        })
    }
    fn uses_lr(&self) -> bool {
        false
    }
    fn min_frame_size(&self) -> u64 {
        0
    }
    fn stack_align(&self) -> u64 {
        8
    }
    fn pc_quantum(&self) -> u8 {
        1
    }
    fn signal_frame(&self) -> SignalFrame {
        SignalFrame { pc: GREGS + G_RIP * 8, sp: GREGS + G_RSP * 8, fp: GREGS + G_RBP * 8, lr: None, siginfo: SIGINFO }
    }
    /// `signal_amd64.go`'s dumpregs over the kernel's `sigcontext` gregs
    /// (r8…r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags, then
    /// cs, gs, fs as 16-bit words).
    #[allow(clippy::arithmetic_side_effects, reason = "constant offsets in the kernel's fixed sigcontext")]
    fn signal_registers(&self) -> Vec<(&'static str, u64, u8)> {
        let g = |i: u64| GREGS + i * 8;
        let mut v = vec![
            ("rax", g(13), 8),
            ("rbx", g(11), 8),
            ("rcx", g(14), 8),
            ("rdx", g(12), 8),
            ("rdi", g(8), 8),
            ("rsi", g(9), 8),
            ("rbp", g(G_RBP), 8),
            ("rsp", g(G_RSP), 8),
        ];
        let r = ["r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];
        v.extend(r.iter().zip(0u64..).map(|(n, i)| (*n, g(i), 8)));
        v.extend([("rip", g(G_RIP), 8), ("rflags", g(17), 8), ("cs", g(18), 2), ("fs", g(18) + 4, 2)]);
        v.push(("gs", g(18) + 2, 2));
        v
    }
    fn dwarf_register_name(&self, r: u16) -> Option<&'static str> {
        DWARF_NAMES.get(r as usize).copied()
    }
    /// preempt_amd64.s (the same in Go 1.21–1.27): AX, CX, DX, BX, SI, DI, R8–R15
    /// at 0, 8, … from the frame's SP (BP and SP are not saved there).
    #[allow(clippy::arithmetic_side_effects, reason = "r is 8..=15 in the arm that computes")]
    fn async_preempt_slot(&self, r: u16) -> Option<u64> {
        Some(match r {
            0 => 0,  // rax
            2 => 8,  // rcx
            1 => 16, // rdx
            3 => 24, // rbx
            4 => 32, // rsi
            5 => 40, // rdi
            8..=15 => 48 + 8 * (r as u64 - 8),
            _ => return None,
        })
    }
    fn rt0_symbol(&self) -> &'static str {
        "_rt0_amd64_linux"
    }
    fn relative_relocation(&self) -> u32 {
        goblin::elf::reloc::R_X86_64_RELATIVE
    }
    fn cache_line_pad_size(&self) -> u64 {
        64
    }

    fn arena_base_offset(&self) -> u64 {
        0xffff_8000_0000_0000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_from_the_gregset() {
        let mut b = vec![0u8; reg::COUNT * 8];
        for (i, v) in [(reg::RIP, 0x401000u64), (reg::RSP, 0xc000100000), (reg::RBP, 7), (reg::R14, 0xc000002000)] {
            b[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
        }
        let r = Amd64.prstatus_regs(&b).unwrap();
        assert_eq!((r.pc, r.sp, r.fp, r.lr, r.g), (0x401000, 0xc000100000, 7, None, 0xc000002000));
        assert!(Amd64.prstatus_regs(&b[..100]).is_none());
    }

    #[test]
    fn async_preempt_slots_follow_preempt_amd64_s() {
        // MOVQ AX, 0(SP); CX 8; DX 16; BX 24; SI 32; DI 40; R8 48 … R15 104 (Go 1.21–1.27).
        let by_name = [(0, 0), (2, 8), (1, 16), (3, 24), (4, 32), (5, 40), (8, 48), (12, 80), (15, 104)];
        for (reg, off) in by_name {
            assert_eq!(Amd64.async_preempt_slot(reg), Some(off), "DWARF register {reg}");
        }
        assert_eq!(Amd64.async_preempt_slot(6), None, "rbp is not saved there");
        assert_eq!(Amd64.async_preempt_slot(7), None, "nor rsp");
    }
}
