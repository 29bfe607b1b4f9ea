//! The CPU side of user mode: SYSCALL/SYSRET MSRs, the syscall entry stub,
//! entering user mode, and user FPU/SSE state (the kernel itself never uses
//! SSE, so user state stays live in the registers while in the kernel and is
//! only saved and restored when another thread takes the CPU).
use super::gdt::{KERNEL_CS, USER_CS, USER_DS};
use super::trap::TrapFrame;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};
use x86_64::registers::model_specific::{Efer, EferFlags, FsBase, LStar, SFMask, Star};
use x86_64::registers::rflags::RFlags;
use x86_64::registers::xcontrol::{XCr0, XCr0Flags};
use x86_64::VirtAddr;

pub use super::trap::SYSCALL_VECTOR;
/// RFLAGS for a new user thread: IF set, reserved bit 1 set.
pub const USER_RFLAGS: u64 = 0x202;

static USE_XSAVE: AtomicBool = AtomicBool::new(false);
/// Bytes of the XSAVE area (FXSAVE: 512).
static FPU_AREA_SIZE: AtomicU32 = AtomicU32::new(512);
/// Largest FPU area we support (x87+SSE+AVX is 832 bytes).
pub const FPU_AREA_MAX: usize = 1024;

/// Prepares the calling CPU to run user code, once, the first time it runs
/// a user thread: a system that boots without user space never pays for it
/// (and never touches XCR0). The first CPU to get here decides on XSAVE.
pub fn init_cpu_once(done: &AtomicBool) {
    static DECIDED: AtomicBool = AtomicBool::new(false);
    // Checked on every switch to a user thread: a plain load when done.
    if done.load(Ordering::Acquire) || done.swap(true, Ordering::AcqRel) {
        return;
    }
    init_cpu(!DECIDED.swap(true, Ordering::AcqRel));
}

fn init_cpu(boot: bool) {
    // SAFETY: these are the architected settings for SSE in user mode and
    // SYSCALL entry; the entry point and selectors are valid.
    unsafe {
        Cr0::update(|f| {
            f.remove(Cr0Flags::EMULATE_COPROCESSOR | Cr0Flags::TASK_SWITCHED);
            f.insert(Cr0Flags::MONITOR_COPROCESSOR);
        });
        let xsave = super::cpuid::has_xsave();
        Cr4::update(|f| {
            f.insert(Cr4Flags::OSFXSR | Cr4Flags::OSXMMEXCPT_ENABLE);
            if xsave {
                f.insert(Cr4Flags::OSXSAVE);
            }
        });
        if xsave {
            let mut want = XCr0Flags::X87 | XCr0Flags::SSE;
            if super::cpuid::xsave_layout().is_some_and(|(avx, _)| avx) {
                want |= XCr0Flags::AVX;
            }
            XCr0::write(want);
            if boot {
                // The area size for what XCR0 now enables.
                if let Some((_, size)) = super::cpuid::xsave_layout().filter(|&(_, size)| size as usize <= FPU_AREA_MAX)
                {
                    FPU_AREA_SIZE.store(size, Ordering::Relaxed);
                    USE_XSAVE.store(true, Ordering::Relaxed);
                }
            }
        }
        Efer::update(|f| f.insert(EferFlags::SYSTEM_CALL_EXTENSIONS));
        // SYSRET loads CS = STAR[63:48] + 16 and SS = STAR[63:48] + 8:
        // 0x23 + 16 = 0x33 (user code), 0x23 + 8 = 0x2b (user data).
        Star::write_raw(USER_CS - 16, KERNEL_CS);
        LStar::write(VirtAddr::new(syscall_entry as *const () as u64));
        SFMask::write(RFlags::INTERRUPT_FLAG | RFlags::DIRECTION_FLAG | RFlags::TRAP_FLAG | RFlags::ALIGNMENT_CHECK);
    }
}

extern "C" {
    fn syscall_entry();
}

// RSP is switched through gs:8 (the running thread's kernel stack top) with
// gs:16 as scratch. The stub pushes what an interrupt would have (SS, RSP,
// RFLAGS, CS, RIP, error code, vector) and joins the common trap path, so
// system calls, interrupts and exceptions share one frame layout, one
// dispatcher and one way back (`trap_return`).
core::arch::global_asm!(
    r#"
    .text
    .global syscall_entry
syscall_entry:
    swapgs
    movq %rsp, %gs:16
    movq %gs:8, %rsp
    pushq ${user_ds}
    pushq %gs:16
    pushq %r11
    pushq ${user_cs}
    pushq %rcx
    pushq $0
    pushq ${vector}
    jmp trap_save_registers

    .global enter_user_frame
enter_user_frame:
    movq %rdi, %rsp
    jmp trap_return
    "#,
    user_ds = const USER_DS,
    user_cs = const USER_CS,
    vector = const SYSCALL_VECTOR,
    options(att_syntax)
);

extern "C" {
    fn enter_user_frame(frame: *const TrapFrame) -> !;
}

/// Drops to user mode with the registers in `frame` (its CS/SS must be the
/// user selectors). `frame` must lie at the top of the current kernel stack.
pub fn enter_user(frame: &TrapFrame) -> ! {
    debug_assert!(frame.is_from_user());
    // SAFETY: the frame holds user selectors and a user RIP/RSP, so
    // `trap_return` swaps GS and `iretq`s into user mode.
    unsafe { enter_user_frame(frame) }
}

/// A thread's saved user FPU/SSE state.
#[repr(C, align(64))]
pub struct FpuArea([u8; FPU_AREA_MAX]);

impl FpuArea {
    /// The reset state: x87 control word 0x37f, MXCSR 0x1f80 (all exceptions masked).
    pub fn new() -> Self {
        let mut a = FpuArea([0; FPU_AREA_MAX]);
        a.0[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
        a.0[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
        a
    }

    pub fn save(&mut self) {
        let p = self.0.as_mut_ptr();
        // SAFETY: the area is 64-byte aligned and large enough for the
        // XSAVE size chosen at boot (or FXSAVE's 512 bytes).
        unsafe {
            if USE_XSAVE.load(Ordering::Relaxed) {
                core::arch::asm!("xsave64 [{}]", in(reg) p, in("eax") u32::MAX, in("edx") u32::MAX, options(nostack));
            } else {
                core::arch::asm!("fxsave64 [{}]", in(reg) p, options(nostack));
            }
        }
    }

    pub fn restore(&self) {
        let p = self.0.as_ptr();
        // SAFETY: the area holds a state saved by `save` or the reset state
        // from `new` (valid for both FXRSTOR and XRSTOR with XSTATE_BV = 0).
        unsafe {
            if USE_XSAVE.load(Ordering::Relaxed) {
                core::arch::asm!("xrstor64 [{}]", in(reg) p, in("eax") u32::MAX, in("edx") u32::MAX, options(nostack));
            } else {
                core::arch::asm!("fxrstor64 [{}]", in(reg) p, options(nostack));
            }
        }
    }
}

pub fn set_fs_base(v: u64) {
    FsBase::write(VirtAddr::new_truncate(v));
}

/// A fresh user-mode frame: all GPRs zero except RDI = `arg`.
pub fn initial_frame(entry: u64, stack_top: u64, arg: u64) -> TrapFrame {
    TrapFrame {
        r15: 0,
        r14: 0,
        r13: 0,
        r12: 0,
        r11: 0,
        r10: 0,
        r9: 0,
        r8: 0,
        rbp: 0,
        rdi: arg,
        rsi: 0,
        rdx: 0,
        rcx: 0,
        rbx: 0,
        rax: 0,
        vector: 0,
        error_code: 0,
        rip: entry,
        cs: u64::from(USER_CS),
        rflags: USER_RFLAGS,
        rsp: stack_top,
        ss: u64::from(USER_DS),
    }
}
