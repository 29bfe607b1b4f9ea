//! The `syscall` instruction (pv-abi convention: number in RAX, arguments in
//! RDI, RSI, RDX; RCX and R11 clobbered). Every pointer passed is one of
//! `out`'s or `input`'s: a live slice of the length passed beside it, which
//! is all the kernel reads or writes.
use pv_abi::syscall::{Error, Sys};

/// A buffer the kernel writes into (its address; length passed beside it).
pub fn out(buf: &mut [u8]) -> u64 {
    buf.as_mut_ptr() as u64
}

/// Words the kernel reads.
pub fn input(words: &[u64]) -> u64 {
    words.as_ptr() as u64
}

pub fn call1(n: Sys, a: u64) -> Result<u64, Error> {
    call3(n, a, 0, 0)
}

pub fn call2(n: Sys, a: u64, b: u64) -> Result<u64, Error> {
    call3(n, a, b, 0)
}

#[cfg(target_os = "motor")]
pub fn call3(n: Sys, a: u64, b: u64, c: u64) -> Result<u64, Error> {
    let ret: u64;
    // The calls made through here (lib.rs) take at most one buffer, a live
    // slice of the length passed with it, made by `out` or `input`.
    // SAFETY: the kernel touches nothing else of ours; `syscall` clobbers only RCX and R11 besides RAX.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") n as u64 => ret,
            in("rdi") a,
            in("rsi") b,
            in("rdx") c,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    Error::from_ret(ret)
}

#[cfg(not(target_os = "motor"))]
pub fn call3(_: Sys, _: u64, _: u64, _: u64) -> Result<u64, Error> {
    Err(Error::NoSys)
}
