//! `/test/fuzz-regress`: one check per kernel defect the fuzzer found
//! (docs/fuzzing.md), so each stays fixed.
//!
//! 1. A buffer pointer exactly at USER_END (the first non-canonical
//!    address) with length 0 was accepted: `[USER_END, USER_END)` passed
//!    the `ptr + len <= USER_END` checks. ConsoleWrite, SysInfo and Args
//!    returned success, Read/Write went on to the handle, and ConsoleRead
//!    waited for a console line instead of failing. Every such call must
//!    give `Fault`, before any handle is looked at.
#![no_std]
#![no_main]

use vireo_rt::pv_abi::syscall::{layout::USER_END, Sys};
use vireo_rt::raw::syscall6;
use vireo_rt::{println, sys, Error};

vireo_rt::entry!(main);

fn call(n: Sys, a: [u64; 6]) -> Result<u64, Error> {
    // SAFETY: every call below gets a pointer the kernel must refuse (or a
    // zero length), so none reads or writes this program's memory.
    Error::from_ret(unsafe { syscall6(n as u64, a[0], a[1], a[2], a[3], a[4], a[5]) })
}

fn main() -> i32 {
    let mut failed = 0;
    let mut check = |what: &str, got: Result<u64, Error>, want: Result<u64, Error>| {
        if got != want {
            println!("fuzz-regress: {what}: got {got:?}, want {want:?}");
            failed += 1;
        }
    };
    let (rd, wr) = match sys::pipe_create() {
        Ok(p) => p,
        Err(e) => {
            println!("fuzz-regress: pipe_create: {}", e.name());
            return 1;
        }
    };
    let hello = b"/bin/hello";
    let (hp, hl) = (hello.as_ptr() as u64, hello.len() as u64);
    let e = USER_END;
    // Control: an empty range that starts inside user space is fine.
    check("console_write(USER_END - 8, 0)", call(Sys::ConsoleWrite, [e - 8, 0, 0, 0, 0, 0]), Ok(0));
    check("console_write(USER_END, 0)", call(Sys::ConsoleWrite, [e, 0, 0, 0, 0, 0]), Err(Error::Fault));
    check("sysinfo(USER_END, 0)", call(Sys::SysInfo, [e, 0, 0, 0, 0, 0]), Err(Error::Fault));
    check("args(USER_END, 0)", call(Sys::Args, [e, 0, 0, 0, 0, 0]), Err(Error::Fault));
    check("pipe_create(USER_END)", call(Sys::PipeCreate, [e, 0, 0, 0, 0, 0]), Err(Error::Fault));
    check("read(pipe, USER_END, 0)", call(Sys::Read, [rd, e, 0, 0, 0, 0]), Err(Error::Fault));
    check("write(pipe, USER_END, 0)", call(Sys::Write, [wr, e, 0, 0, 0, 0]), Err(Error::Fault));
    check("read(bogus handle, USER_END, 0)", call(Sys::Read, [12345, e, 0, 0, 0, 0]), Err(Error::Fault));
    check("spawn(args at USER_END, 0)", call(Sys::Spawn, [hp, hl, e, 0, hp, 0]), Err(Error::Fault));
    check("spawn(handles at USER_END, 0)", call(Sys::Spawn, [hp, hl, hp, 0, e, 0]), Err(Error::Fault));
    // Last: before the fix this one waited for console input forever.
    check("console_read(USER_END, 0)", call(Sys::ConsoleRead, [e, 0, 0, 0, 0, 0]), Err(Error::Fault));
    let _ = sys::close(rd);
    let _ = sys::close(wr);
    if failed != 0 {
        println!("fuzz-regress: FAILED: {failed} checks");
        return 1;
    }
    println!("fuzz-regress: ok");
    0
}
