//! Trap entry: one 16-byte stub per vector pushes a uniform frame and
//! calls [`trap_dispatch`], which hands it to the one dispatcher the kernel
//! registered ([`set_dispatcher`], the `irq` module): the arch layer knows
//! how a trap arrives, never what it means. Written by hand (not
//! `extern "x86-interrupt"`) because the exception dump needs every
//! register, and user-mode traps need `swapgs` and a frame the scheduler
//! can switch.
use core::sync::atomic::{AtomicUsize, Ordering};

/// `TrapFrame::vector` of a system call (not a CPU vector).
pub const SYSCALL_VECTOR: u64 = 0x100;

/// Size of each vector's entry stub.
pub const STUB_SIZE: u64 = 16;

/// Registers saved on every trap, lowest address first.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

const _: () = assert!(core::mem::size_of::<TrapFrame>() == 22 * 8);

impl TrapFrame {
    pub fn is_from_user(&self) -> bool {
        self.cs & 3 == 3
    }
}

extern "C" {
    static trap_stubs: u8;
}

pub fn stub_table_base() -> u64 {
    core::ptr::addr_of!(trap_stubs) as u64
}

core::arch::global_asm!(
    r#"
    // The general registers of a TrapFrame, restored in the reverse order
    // `trap_save_registers` pushed them (both exits use it).
    .macro restore_gprs
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    .endm

    .section .text.trap, "ax"
    .balign 16
    .global trap_stubs
trap_stubs:
    .set trap_vec, 0
    .rept 256
    .balign 16
    .if (trap_vec == 8) || ((trap_vec >= 10) && (trap_vec <= 14)) || (trap_vec == 17) || (trap_vec == 21) || (trap_vec == 29) || (trap_vec == 30)
    .else
    pushq $0
    .endif
    pushq $trap_vec
    jmp trap_common
    .set trap_vec, trap_vec + 1
    .endr

trap_common:
    testb $3, 24(%rsp)
    jz 1f
    swapgs
1:
    // `syscall_entry` joins here with GS already swapped.
    .global trap_save_registers
trap_save_registers:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rdi
    cld
    callq trap_dispatch
    .global trap_return
trap_return:
    cmpq ${syscall_vector}, 15*8(%rsp)
    je syscall_return
trap_return_iret:
    restore_gprs
    testb $3, 24(%rsp)
    jz 2f
    swapgs
2:
    addq $16, %rsp
    iretq

// A system call returns with SYSRET: RCX and R11 are the saved user RIP and
// RFLAGS (the frame a syscall builds is never redirected, so RIP is the
// address after the `syscall` instruction, and RFLAGS is what the
// user had, IOPL 0). Interrupts stay off until SYSRET loads RFLAGS.
//
// SYSRET to a non-canonical RCX raises #GP in ring 0 on Intel CPUs, on the
// user's stack (CVE-2012-0217). User space ends a page below the canonical
// boundary so this cannot happen, and `before_user_return` kills a thread
// whose return address is not a user address; this check keeps SYSRET safe
// should either ever change: anything at or above 2^47 takes IRET instead.
syscall_return:
    movq 17*8(%rsp), %rcx
    shrq $47, %rcx
    jnz trap_return_iret
    restore_gprs
    movq 16(%rsp), %rcx
    movq 32(%rsp), %r11
    movq 40(%rsp), %rsp
    swapgs
    sysretq
    .text
    "#,
    syscall_vector = const SYSCALL_VECTOR,
    options(att_syntax)
);

/// Vectors the kernel assigns.
pub mod vector {
    pub const FIRST_EXTERNAL: u64 = 32;
    /// COM1 receive (ISA IRQ 4 through the IOAPIC).
    pub const SERIAL: u8 = 0x30;
    /// Vectors handed out to device interrupts (IOAPIC lines, MSI/MSI-X)
    /// by the `irq` layer's allocator, inclusive range.
    pub const DEVICE_FIRST: u8 = 0x40;
    pub const DEVICE_LAST: u8 = 0xdf;
    /// Local APIC timer (scheduler deadlines).
    pub const TIMER: u8 = 0xe0;
    /// Cross-CPU wake-up: "look at your run queue".
    pub const IPI_WAKE: u8 = 0xf0;
    /// Drop user TLB entries (after an unmap on another CPU).
    pub const IPI_TLB_FLUSH: u8 = 0xf2;
    /// Stop this CPU (panic / power-off on another CPU).
    pub const IPI_STOP: u8 = 0xf1;
    pub const SPURIOUS: u8 = 0xff;
}

/// The kernel's trap handler, as a `fn(&mut TrapFrame)` address (0 = none yet).
static DISPATCHER: AtomicUsize = AtomicUsize::new(0);

/// Installs the function every trap (exception, interrupt, system call) is
/// handed to. Set once, first thing at boot, before anything can trap.
pub fn set_dispatcher(f: fn(&mut TrapFrame)) {
    DISPATCHER.store(f as usize, Ordering::Release);
}

#[no_mangle]
extern "C" fn trap_dispatch(frame: &mut TrapFrame) {
    match DISPATCHER.load(Ordering::Acquire) {
        // Nothing can report a trap this early: stop the CPU where a debugger can see it.
        0 => loop {
            x86_64::instructions::interrupts::disable();
            x86_64::instructions::hlt();
        },
        f => {
            // SAFETY: DISPATCHER only ever holds a `fn(&mut TrapFrame)` stored by `set_dispatcher`.
            let f: fn(&mut TrapFrame) = unsafe { core::mem::transmute::<usize, fn(&mut TrapFrame)>(f) };
            f(frame)
        }
    }
}
