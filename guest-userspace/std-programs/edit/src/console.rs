//! Raw console input, the one console call std has no words for (docs/abi.md,
//! "The console"): the bytes as typed, Ctrl-C among them. Only this module
//! calls Vireo directly (inline `syscall`); elsewhere (the host, for unit
//! tests) raw input is unavailable.

/// Why raw input is not there.
#[derive(Debug)]
pub struct Unsupported;

#[cfg(target_os = "motor")]
mod sys {
    use pv_abi::syscall::{Error, Sys};

    pub fn read_raw(buf: &mut [u8]) -> Result<usize, Error> {
        let ret: u64;
        // SAFETY: ConsoleReadRaw writes at most `buf.len()` bytes into `buf`,
        // which is ours for the call; `syscall` clobbers only RCX and R11
        // besides RAX (pv-abi's convention).
        unsafe {
            core::arch::asm!(
                "syscall",
                inlateout("rax") Sys::ConsoleReadRaw as u64 => ret,
                in("rdi") buf.as_mut_ptr() as u64,
                in("rsi") buf.len() as u64,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        Error::from_ret(ret).map(|n| n as usize)
    }
}

/// Reads what was typed (at least one byte; blocks). A raw read also
/// disarms the console's Ctrl-C, so from the first read on a typed Ctrl-C
/// reaches the editor as the byte 0x03 instead of ending it.
pub fn read_raw(buf: &mut [u8]) -> Result<usize, Unsupported> {
    #[cfg(target_os = "motor")]
    return sys::read_raw(buf).map_err(|_| Unsupported);
    #[cfg(not(target_os = "motor"))]
    {
        let _ = buf;
        Err(Unsupported)
    }
}
