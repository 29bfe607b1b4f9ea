//! `/test/syscalls`: the kernel's argument checking. Every bad call below must
//! fail with exactly the error the ABI promises (or one of the two listed
//! where either is a correct reading), and none may hurt the kernel.
#![no_std]
#![no_main]

use core::sync::atomic::AtomicU32;
use vireo_rt::pv_abi::syscall::{layout, Sys, SysInfo, SYS_COUNT};
use vireo_rt::raw::*;
use vireo_rt::sys::{self, prot, rights};
use vireo_rt::{println, Error};

mod procs;

vireo_rt::entry!(main);

const KERNEL: u64 = 0xffff_8000_0000_0000;
const BOGUS_HANDLES: [u64; 3] = [0, 12345, u64::MAX];

pub(crate) struct Checker {
    failed: u32,
    checked: u32,
}

impl Checker {
    fn check(&mut self, what: &str, got: Result<u64, Error>, want: &[Error]) {
        self.checked += 1;
        match got {
            Err(e) if want.contains(&e) => {}
            Err(e) => {
                println!("test-syscalls: {what}: got {:?}, want {want:?}", e);
                self.failed += 1;
            }
            Ok(v) => {
                println!("test-syscalls: {what}: got Ok({v:#x}), want {want:?}");
                self.failed += 1;
            }
        }
    }

    fn expect(&mut self, what: &str, ok: bool) {
        self.checked += 1;
        if !ok {
            println!("test-syscalls: {what}: wrong");
            self.failed += 1;
        }
    }
}

pub(crate) fn r(rax: u64) -> Result<u64, Error> {
    Error::from_ret(rax)
}

fn main() -> i32 {
    let args = vireo_rt::process::args();
    let mut args = args.iter();
    if args.next() == Some("kill-denied") {
        return procs::kill_denied(args.next().unwrap_or(""));
    }
    let mut c = Checker { failed: 0, checked: 0 };
    use Error::*;

    // Unknown call numbers, with garbage in every argument register.
    for n in [SYS_COUNT, 1000, u64::MAX] {
        // SAFETY: an unknown call number has no effect but NoSys.
        let ret = unsafe { syscall6(n, 1, 2, 3, 4, 5, 6) };
        c.check("unknown call number", r(ret), &[NoSys]);
    }

    // ConsoleWrite with pointers the kernel must refuse. The pointers are only
    // handed to the kernel, never dereferenced here, and checking them is the
    // kernel's job (that is the test), so these calls cannot hurt us.
    let cw = Sys::ConsoleWrite as u64;
    let buf = *b"xxxxxxxx";
    let p = buf.as_ptr() as u64;
    let bad: [(&str, u64, u64, &[Error]); 6] = [
        ("console_write(null, 5)", 0, 5, &[Fault]),
        ("console_write(kernel, 5)", KERNEL, 5, &[Fault]),
        ("console_write(buf, u64::MAX)", p, u64::MAX, &[Fault, Invalid]),
        ("console_write(wrapping)", u64::MAX - 7, 16, &[Fault, Invalid]),
        ("console_write(buf, wraps to 1)", p, 0u64.wrapping_sub(p) + 1, &[Fault, Invalid]),
        ("console_write(across USER_END)", layout::USER_END - 8, 16, &[Fault]),
    ];
    for (what, ptr, len, want) in bad {
        // SAFETY: see above; the kernel only reads, and must refuse.
        let ret = unsafe { syscall2(cw, ptr, len) };
        c.check(what, r(ret), want);
    }

    // Map: no empty mappings, no W+X.
    c.check("map(len 0)", sys::map(0, 0, prot::READ | prot::WRITE), &[Invalid]);
    c.check("map(W|X)", sys::map(0, 4096, prot::WRITE | prot::EXEC), &[Protection]);
    c.check("map(R|W|X)", sys::map(0, 4096, prot::ALL), &[Protection]);
    match sys::map(0, 4096, prot::READ | prot::WRITE) {
        Ok(a) => {
            // SAFETY: the page is fresh and unused, so no protection breaks anything.
            c.check("protect(W|X)", unsafe { sys::protect(a, 4096, prot::ALL) }, &[Protection]);
            // SAFETY: nothing uses the page.
            c.expect("unmap", unsafe { sys::unmap(a, 4096) }.is_ok());
        }
        Err(e) => {
            println!("test-syscalls: map(4096, RW): {}", e.name());
            c.failed += 1;
        }
    }

    // Handles that do not exist.
    for h in BOGUS_HANDLES {
        c.check("wait(bogus)", sys::wait(h, 0).map(|s| s as u64), &[BadHandle]);
        c.check("kill(bogus)", sys::kill(h), &[BadHandle]);
        c.check("close(bogus)", sys::close(h), &[BadHandle]);
        c.check("duplicate(bogus)", sys::duplicate(h, rights::ALL), &[BadHandle]);
        c.check("shm_map(bogus)", sys::shm_map(h, prot::READ), &[BadHandle]);
    }

    // Rights and kinds on a real handle.
    match sys::spawn("/bin/hello", &[]) {
        Ok(h) => {
            match sys::duplicate(h, rights::WAIT) {
                Ok(d) => {
                    c.check("kill(handle without KILL)", sys::kill(d), &[AccessDenied]);
                    c.expect("wait(duplicate)", sys::wait(d, sys::FOREVER) == Ok(0));
                    let _ = sys::close(d);
                }
                Err(e) => {
                    println!("test-syscalls: duplicate(process, WAIT): {}", e.name());
                    c.failed += 1;
                }
            }
            // A process handle has no MAP right, and is the wrong kind anyway.
            c.check("shm_map(process handle)", sys::shm_map(h, prot::READ), &[AccessDenied, WrongKind]);
            c.expect("wait(original)", sys::wait(h, sys::FOREVER) == Ok(0));
            c.expect("close(original)", sys::close(h).is_ok());
            c.check("close(closed handle)", sys::close(h), &[BadHandle]);
        }
        Err(e) => {
            println!("test-syscalls: spawn /bin/hello: {}", e.name());
            c.failed += 1;
        }
    }

    // Futex words must be mapped user memory.
    let fw = Sys::FutexWait as u64;
    // SAFETY: the kernel checks the address; we never touch it.
    c.check("futex_wait(unmapped)", r(unsafe { syscall3(fw, 0x1000, 0, 1_000_000) }), &[Fault]);
    // SAFETY: as above.
    c.check("futex_wait(kernel)", r(unsafe { syscall3(fw, KERNEL, 0, 1_000_000) }), &[Fault]);
    let word = AtomicU32::new(0);
    c.check("futex_wait(1 us)", sys::futex_wait(&word, 0, 1000), &[TimedOut]);

    // Spawn with a path in kernel space (the args pointer is valid, length 0).
    // SAFETY: the kernel checks the path pointer; nothing here reads it.
    let ret = unsafe { syscall6(Sys::Spawn as u64, KERNEL, 9, p, 0, p, 0) };
    c.check("spawn(kernel path)", r(ret), &[Fault]);
    // Handles to pass: too many, a list in kernel space, a bogus handle.
    let hello = b"/bin/hello";
    let sp = Sys::Spawn as u64;
    let (hp, hl) = (hello.as_ptr() as u64, hello.len() as u64);
    // SAFETY: the kernel checks the handle list; we never pass real memory to it.
    c.check("spawn(17 handles)", r(unsafe { syscall6(sp, hp, hl, p, 0, p, 17) }), &[Invalid]);
    // SAFETY: as above.
    c.check("spawn(handles in kernel)", r(unsafe { syscall6(sp, hp, hl, p, 0, KERNEL, 1) }), &[Fault]);
    let bogus = [12345u64];
    // SAFETY: as above; the list is a valid one-element slice.
    c.check("spawn(bogus handle)", r(unsafe { syscall6(sp, hp, hl, p, 0, bogus.as_ptr() as u64, 1) }), &[BadHandle]);

    // Args and SysInfo into kernel space.
    // SAFETY: the kernel checks the destination and must refuse it.
    c.check("args(kernel buffer)", r(unsafe { syscall2(Sys::Args as u64, KERNEL, 64) }), &[Fault]);
    // SAFETY: as above.
    c.check("sysinfo(kernel buffer)", r(unsafe { syscall2(Sys::SysInfo as u64, KERNEL, 40) }), &[Fault]);

    // Pipes: ends into kernel space, Read/Write on bogus handles, on the
    // wrong end, and with kernel buffers.
    // SAFETY: the kernel checks the destination and must refuse it.
    c.check("pipe_create(kernel buffer)", r(unsafe { syscall1(Sys::PipeCreate as u64, KERNEL) }), &[Fault]);
    let mut byte = [0u8; 1];
    for h in BOGUS_HANDLES {
        c.check("pipe_read(bogus handle)", sys::pipe_read(h, &mut byte), &[BadHandle]);
        c.check("pipe_write(bogus handle)", sys::pipe_write(h, &byte), &[BadHandle]);
    }
    match sys::pipe_create() {
        Ok((rd, wr)) => {
            c.check("pipe_read(write end)", sys::pipe_read(wr, &mut byte), &[WrongKind]);
            c.check("pipe_write(read end)", sys::pipe_write(rd, &byte), &[WrongKind]);
            // SAFETY: the kernel checks the source and must refuse it.
            c.check("pipe_write(kernel buffer)", r(unsafe { syscall3(Sys::Write as u64, wr, KERNEL, 8) }), &[Fault]);
            c.expect("pipe_write(1 byte) writes it", sys::pipe_write(wr, b"x") == Ok(1));
            // SAFETY: as above, for the destination.
            c.check("pipe_read(kernel buffer)", r(unsafe { syscall3(Sys::Read as u64, rd, KERNEL, 8) }), &[Fault]);
            let _ = sys::close(wr);
            // The kernel buffer was refused before anything was taken: the
            // byte is still there, then comes end of file.
            c.expect(
                "pipe_read after the writer closed gets the byte",
                sys::pipe_read(rd, &mut byte) == Ok(1) && byte == *b"x",
            );
            c.expect("pipe_read then is end of file", sys::pipe_read(rd, &mut byte) == Ok(0));
            let _ = sys::close(rd);
        }
        Err(e) => {
            println!("test-syscalls: pipe_create: {}", e.name());
            c.failed += 1;
        }
    }

    // SysInfo into a buffer too small for it copies what fits and no more.
    let mut small = [0xaau8; core::mem::size_of::<SysInfo>()];
    match sys::sysinfo_raw(&mut small[..8]) {
        Ok(n) => {
            // The result is the full size of SysInfo (so a caller can tell
            // it got a prefix), the copy only what fits.
            c.expect("sysinfo(8 bytes) returns size_of::<SysInfo>()", n == core::mem::size_of::<SysInfo>() as u64);
            let cpus = u32::from_le_bytes([small[0], small[1], small[2], small[3]]);
            c.expect("sysinfo(8 bytes) fills cpus", cpus >= 1 && cpus != 0xaaaa_aaaa);
            c.expect("sysinfo(8 bytes) writes nothing past 8", small[8..].iter().all(|&b| b == 0xaa));
        }
        Err(e) => {
            println!("test-syscalls: sysinfo(8 bytes): {}", e.name());
            c.failed += 1;
        }
    }

    // The clock page (pv_abi::clock) is mapped read-only, has a mode the
    // runtime knows, and agrees with the kernel's clock: a page reading
    // falls between two ClockMonotonic calls around it.
    let mode = {
        // SAFETY: the kernel maps the clock page in every process; MODE_AT holds a u32.
        unsafe {
            core::ptr::read_volatile(
                (vireo_rt::pv_abi::clock::PAGE_VADDR as usize + vireo_rt::pv_abi::clock::MODE_AT) as *const u32,
            )
        }
    };
    c.expect("clock page mode is known", mode <= vireo_rt::pv_abi::clock::MODE_KVMCLOCK);
    let mut agree = true;
    for _ in 0..100 {
        let before = sys::kernel_clock().unwrap_or(u64::MAX);
        let page = vireo_rt::clock::page_now_ns().unwrap_or(before);
        let after = sys::kernel_clock().unwrap_or(0);
        agree &= before <= page && page <= after;
    }
    c.expect("clock page time lies between the kernel's readings around it", agree);
    c.check(
        "protect(clock page, RW)",
        // SAFETY: refused (a borrowed kernel page cannot become writable); nothing changes.
        unsafe { sys::protect(vireo_rt::pv_abi::clock::PAGE_VADDR, 4096, prot::READ | prot::WRITE) },
        &[Protection, Invalid, AccessDenied],
    );

    procs::check(&mut c);

    if c.failed != 0 {
        println!("test-syscalls: FAILED: {} of {} checks", c.failed, c.checked);
        return 1;
    }
    println!("test-syscalls: {} checks passed", c.checked);
    println!("test-syscalls: ok");
    0
}
