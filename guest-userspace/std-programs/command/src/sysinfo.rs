//! Free memory, for the spawn/wait-cycle check.
//!
//! TEST-ONLY ESCAPE HATCH: std has no way to ask for the system's free
//! memory, so this calls Vireo's raw `SysInfo` system call with inline asm.
//! Ordinary std programs never do this; nothing else in this program is
//! Vireo-specific.
use pv_abi::syscall::{Error, Sys, SysInfo};

/// Free physical memory in bytes, as the kernel counts it.
pub fn free_memory() -> Result<u64, Error> {
    let mut info = SysInfo::default();
    let ret: u64;
    // SAFETY: SysInfo writes at most `len` bytes into `info`, a plain
    // repr(C) struct of integers that is valid for any bytes; the `syscall`
    // instruction clobbers only RCX and R11 besides RAX (pv-abi convention).
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") Sys::SysInfo as u64 => ret,
            in("rdi") &mut info as *mut SysInfo as u64,
            in("rsi") core::mem::size_of::<SysInfo>() as u64,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    Error::from_ret(ret)?;
    Ok(info.free_memory)
}
