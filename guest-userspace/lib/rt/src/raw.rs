//! The `syscall` instruction, with 0 to 6 arguments.
//!
//! Convention (pv_abi::syscall): number in RAX; arguments in RDI, RSI, RDX,
//! R10, R8, R9; result in RAX; the CPU clobbers RCX (return RIP) and R11
//! (RFLAGS). The kernel never touches the user stack, hence `nostack`; it
//! may read and write user memory the arguments point to, so none of these
//! is `nomem`/`readonly`.
//!
//! These are `unsafe`: a call can unmap memory, change protections or start
//! threads, which the compiler cannot see. The typed wrappers in
//! [`crate::sys`] are the safe interface.

use core::arch::asm;

/// # Safety
/// The call `n` must not break any memory-safety invariant of this program.
#[inline(always)]
pub unsafe fn syscall0(n: u64) -> u64 {
    let ret;
    // SAFETY: the caller vouches for the call's effects; the asm follows the ABI.
    unsafe {
        asm!("syscall", inlateout("rax") n => ret,
            lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}

/// # Safety
/// As [`syscall0`].
#[inline(always)]
pub unsafe fn syscall1(n: u64, a0: u64) -> u64 {
    let ret;
    // SAFETY: the caller vouches for the call's effects; the asm follows the ABI.
    unsafe {
        asm!("syscall", inlateout("rax") n => ret, in("rdi") a0,
            lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}

/// # Safety
/// As [`syscall0`].
#[inline(always)]
pub unsafe fn syscall2(n: u64, a0: u64, a1: u64) -> u64 {
    let ret;
    // SAFETY: the caller vouches for the call's effects; the asm follows the ABI.
    unsafe {
        asm!("syscall", inlateout("rax") n => ret, in("rdi") a0, in("rsi") a1,
            lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}

/// # Safety
/// As [`syscall0`].
#[inline(always)]
pub unsafe fn syscall3(n: u64, a0: u64, a1: u64, a2: u64) -> u64 {
    let ret;
    // SAFETY: the caller vouches for the call's effects; the asm follows the ABI.
    unsafe {
        asm!("syscall", inlateout("rax") n => ret, in("rdi") a0, in("rsi") a1, in("rdx") a2,
            lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}

/// # Safety
/// As [`syscall0`].
#[inline(always)]
pub unsafe fn syscall4(n: u64, a0: u64, a1: u64, a2: u64, a3: u64) -> u64 {
    let ret;
    // SAFETY: the caller vouches for the call's effects; the asm follows the ABI.
    unsafe {
        asm!("syscall", inlateout("rax") n => ret, in("rdi") a0, in("rsi") a1, in("rdx") a2,
            in("r10") a3, lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}

/// # Safety
/// As [`syscall0`].
#[inline(always)]
pub unsafe fn syscall5(n: u64, a0: u64, a1: u64, a2: u64, a3: u64, a4: u64) -> u64 {
    let ret;
    // SAFETY: the caller vouches for the call's effects; the asm follows the ABI.
    unsafe {
        asm!("syscall", inlateout("rax") n => ret, in("rdi") a0, in("rsi") a1, in("rdx") a2,
            in("r10") a3, in("r8") a4, lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}

/// # Safety
/// As [`syscall0`].
#[inline(always)]
pub unsafe fn syscall6(n: u64, a0: u64, a1: u64, a2: u64, a3: u64, a4: u64, a5: u64) -> u64 {
    let ret;
    // SAFETY: the caller vouches for the call's effects; the asm follows the ABI.
    unsafe {
        asm!("syscall", inlateout("rax") n => ret, in("rdi") a0, in("rsi") a1, in("rdx") a2,
            in("r10") a3, in("r8") a4, in("r9") a5,
            lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}
