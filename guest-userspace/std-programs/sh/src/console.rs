//! The two console calls std has no words for (docs/abi.md, "The console"):
//! raw input for the line editor, and the foreground processes a Ctrl-C
//! ends. These, and nothing else in the shell, call Vireo directly (inline
//! `syscall`); on other systems (the host, for unit tests) raw input is
//! unavailable and the foreground is a no-op.

/// Why raw input is not there: the editor then reads plain lines.
#[derive(Debug)]
pub struct Unsupported;

#[cfg(target_os = "motor")]
mod sys {
    use pv_abi::syscall::{Error, Sys};

    /// # Safety
    /// The arguments must be what call `n` expects (pointers valid for it).
    unsafe fn syscall2(n: Sys, a: u64, b: u64) -> Result<u64, Error> {
        let ret: u64;
        // `syscall` clobbers only RCX and R11 besides RAX (pv-abi convention).
        // SAFETY: the caller passes arguments valid for `n`.
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
        // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`.
        unsafe { syscall2(Sys::ConsoleReadRaw, buf.as_mut_ptr() as u64, buf.len() as u64) }.map(|n| n as usize)
    }

    pub fn set_foreground(handles: &[u64]) -> Result<(), Error> {
        // SAFETY: the kernel reads `handles.len()` u64s from `handles`.
        unsafe { syscall2(Sys::ConsoleForeground, handles.as_ptr() as u64, handles.len() as u64) }.map(|_| ())
    }
}

/// Reads what was typed (at least one byte; blocks).
pub fn read_raw(buf: &mut [u8]) -> Result<usize, Unsupported> {
    #[cfg(target_os = "motor")]
    return sys::read_raw(buf).map_err(|_| Unsupported);
    #[cfg(not(target_os = "motor"))]
    {
        let _ = buf;
        Err(Unsupported)
    }
}

/// Makes these processes the ones Ctrl-C ends (empty: none). Failure only
/// loses Ctrl-C for this pipeline, so it is not reported.
pub fn set_foreground(handles: &[u64]) {
    let handles = &handles[..handles.len().min(pv_abi::syscall::MAX_FOREGROUND as usize)];
    #[cfg(target_os = "motor")]
    let _ = sys::set_foreground(handles);
    #[cfg(not(target_os = "motor"))]
    let _ = handles;
}

/// The Vireo process handle of a child (for [`set_foreground`]).
pub fn handle_of(child: &std::process::Child) -> Option<u64> {
    #[cfg(target_os = "motor")]
    {
        use std::os::motor::process::ChildExt;
        Some(child.sys_handle())
    }
    #[cfg(not(target_os = "motor"))]
    {
        let _ = child;
        None
    }
}
