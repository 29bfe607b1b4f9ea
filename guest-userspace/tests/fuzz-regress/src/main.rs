//! `/test/fuzz-regress CHECK`: one check per kernel defect the fuzzer found
//! (docs/fuzzing.md), so each stays fixed.
//!
//! 1. `user-end`: a buffer pointer exactly at USER_END (the first
//!    non-canonical address) with length 0 was accepted: `[USER_END,
//!    USER_END)` passed the `ptr + len <= USER_END` checks. ConsoleWrite,
//!    SysInfo, Args and Spawn succeeded, Read/Write went on to the handle, and
//!    ConsoleRead waited for a console line instead of failing. Every such
//!    call must give `Fault`, before any handle is looked at.
//! 2. `shm-reserve`: ShmCreate took frames past the kernel's 4 MiB reserve,
//!    down to none: after it, any process's next page fault was fatal (and
//!    the kernel's own allocations could fail). It must stop at the reserve.
//! 3. `wait-waiters` (not fixed yet): timed-out waits grow kernel memory.
#![no_std]
#![no_main]

extern crate alloc;

use vireo_rt::pv_abi::syscall::{layout::USER_END, Sys};
use vireo_rt::raw::syscall6;
use vireo_rt::{println, sys, Error};

vireo_rt::entry!(main);

fn main() -> i32 {
    let args = vireo_rt::args();
    let mut failed = 0;
    match args.get(0) {
        Some("user-end") => user_end(&mut failed),
        Some("shm-reserve") => shm_reserve(&mut failed),
        Some("wait-waiters") => wait_waiters(&mut failed),
        other => {
            println!("fuzz-regress: usage: /test/fuzz-regress user-end | shm-reserve | wait-waiters (got {other:?})");
            return 2;
        }
    }
    if failed != 0 {
        println!("fuzz-regress: FAILED: {failed} checks");
        return 1;
    }
    println!("fuzz-regress: ok");
    0
}

fn check(failed: &mut u32, what: &str, got: Result<u64, Error>, want: Result<u64, Error>) {
    if got != want {
        println!("fuzz-regress: {what}: got {got:?}, want {want:?}");
        *failed += 1;
    }
}

fn call(n: Sys, a: [u64; 6]) -> Result<u64, Error> {
    // SAFETY: every call below gets a pointer the kernel must refuse (or a
    // zero length), so none reads or writes this program's memory.
    Error::from_ret(unsafe { syscall6(n as u64, a[0], a[1], a[2], a[3], a[4], a[5]) })
}

/// Defect 1.
fn user_end(failed: &mut u32) {
    let mut check = |what: &str, got: Result<u64, Error>, want: Result<u64, Error>| check(failed, what, got, want);
    let (rd, wr) = match sys::pipe_create() {
        Ok(p) => p,
        Err(e) => return check("pipe_create", Err(e), Ok(0)),
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
}

/// Defect 2.
fn shm_reserve(failed: &mut u32) {
    let (free, hello) = shm_exhaust();
    let enough = Ok((free >= 3 << 20) as u64);
    check(failed, "free memory with memory full of shared memory is at least 3 MiB", enough, Ok(1));
    check(failed, "/bin/hello after the shared memory is gone", hello.map(|s| s as u64), Ok(0));
}

/// Fills memory with shared-memory objects (64 MiB down to one page, until
/// refused), reads free memory, frees them all and runs /bin/hello. The
/// pages this touches while memory is full (its stack, the handle list) are
/// touched before: at the reserve, a page fault of ours would be fatal.
fn shm_exhaust() -> (u64, Result<i32, Error>) {
    let mut handles: alloc::vec::Vec<u64> = alloc::vec![0; 4096];
    handles.clear();
    let _ = sys::sysinfo();
    for size in [64 << 20, 4 << 20, 256 << 10, 4096] {
        while handles.len() < handles.capacity() {
            match sys::shm_create(size) {
                Ok(h) => handles.push(h),
                Err(_) => break,
            }
        }
    }
    let free = sys::sysinfo().map_or(0, |i| i.free_memory);
    for h in handles {
        let _ = sys::close(h);
    }
    println!("fuzz-regress: {} KiB free with memory full of shared memory", free >> 10);
    (free, vireo_rt::process::run("/bin/hello", &[]))
}

/// Defect 3 (not fixed here: process/mod.rs): every `Wait` that times out
/// leaves an entry in the waited-for process's waiter list, emptied only
/// when one of that process's threads ends, so waiting with a short timeout
/// on a long-lived process grows kernel memory without bound.
fn wait_waiters(failed: &mut u32) {
    const WAITS: u64 = 300_000;
    let child = match sys::spawn("/bin/spin", &[]) {
        Ok(h) => h,
        Err(e) => return check(failed, "spawn /bin/spin", Err(e), Ok(0)),
    };
    let before = sys::sysinfo().map_or(0, |i| i.free_memory);
    for _ in 0..WAITS {
        let _ = sys::wait(child, 0);
    }
    let after = sys::sysinfo().map_or(0, |i| i.free_memory);
    let _ = sys::kill(child);
    let _ = sys::wait(child, sys::FOREVER);
    let _ = sys::close(child);
    let lost = before.saturating_sub(after);
    println!("fuzz-regress: {WAITS} timed-out waits took {} KiB of memory", lost >> 10);
    check(failed, "memory taken by 300,000 timed-out waits is under 1 MiB", Ok((lost < 1 << 20) as u64), Ok(1));
}
