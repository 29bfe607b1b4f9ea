//! Raw console input, the console calls std has no words for (docs/abi.md,
//! "The console"): the bytes as typed, Ctrl-C among them, and emptying the
//! set of processes a Ctrl-C ends. Only this module calls Vireo directly
//! (inline `syscall`); elsewhere (the host, for unit tests) raw input is
//! unavailable.

/// Why raw input is not there.
#[derive(Debug)]
pub struct Unsupported;

#[cfg(target_os = "motor")]
mod sys {
    use pv_abi::syscall::{Error, Sys};

    /// # Safety
    /// `a` and `b` must be what call `n` expects (pointers valid for it).
    unsafe fn syscall2(n: Sys, a: u64, b: u64) -> Result<u64, Error> {
        let ret: u64;
        // SAFETY: the caller passes arguments valid for `n`; `syscall`
        // clobbers only RCX and R11 besides RAX (pv-abi's convention).
        unsafe {
            core::arch::asm!(
                "syscall",
                inlateout("rax") n as u64 => ret,
                in("rdi") a,
                in("rsi") b,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        Error::from_ret(ret)
    }

    pub fn read_raw(buf: &mut [u8]) -> Result<usize, Error> {
        // SAFETY: ConsoleReadRaw writes at most `buf.len()` bytes into `buf`.
        unsafe { syscall2(Sys::ConsoleReadRaw, buf.as_mut_ptr() as u64, buf.len() as u64) }.map(|n| n as usize)
    }

    pub fn clear_foreground() -> Result<(), Error> {
        let none: [u64; 0] = [];
        // SAFETY: ConsoleForeground reads 0 handles from the (valid, empty) array.
        unsafe { syscall2(Sys::ConsoleForeground, none.as_ptr() as u64, 0) }.map(|_| ())
    }
}

/// Reads what was typed (at least one byte; blocks). The call disarms the
/// console's Ctrl-C, and while it waits a Ctrl-C is input: it reaches the
/// editor as the byte 0x03 instead of ending it.
pub fn read_raw(buf: &mut [u8]) -> Result<usize, Unsupported> {
    #[cfg(target_os = "motor")]
    return sys::read_raw(buf).map_err(|_| Unsupported);
    #[cfg(not(target_os = "motor"))]
    {
        let _ = buf;
        Err(Unsupported)
    }
}

/// Empties the console's foreground. The shell sets it to the editor just
/// after spawning it; should that come after the editor's first read
/// began, a Ctrl-C typed while the editor draws would end it. Called after
/// each read, so the set never outlives the key that followed it. Failure
/// leaves only that unlikely window open, so it is not reported.
pub fn clear_foreground() {
    #[cfg(target_os = "motor")]
    let _ = sys::clear_foreground();
}
