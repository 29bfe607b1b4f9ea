//! `/bin/crash <mode>`: dies the way `mode` says, so `test-faults` can check
//! the kernel kills it with the right exception status and carries on.
//!
//! Modes and the exception each must raise:
//!   null           read from address 8 (page 0 is never mapped)     #PF (14)
//!   ud2            an invalid opcode                                #UD (6)
//!   write-text     write to this program's own code (mapped R+X)    #PF (14)
//!   jump-kernel    call 0xffffffff80100000 (kernel text, supervisor) #PF (14)
//!   stack-overflow recurse until the stack runs into its guard      #PF (14)
//!   panic          a Rust panic: vireo-rt prints it and runs ud2     #UD (6)
//!   motor-vtable   read the std runtime's vtable page, which the
//!                  kernel maps only into std programs (this one is raw) #PF (14)
//! Surviving any of them is a failure: exit status 1.
#![no_std]
#![no_main]

use core::hint::black_box;
use vireo_rt::println;

vireo_rt::entry!(main);

fn main() -> i32 {
    let args = vireo_rt::args();
    let mode = args.get(0).unwrap_or("");
    match mode {
        "null" => {
            // black_box hides the constant, so the compiler cannot treat the
            // access as UB and delete it.
            let p = black_box(8usize) as *const u64;
            // SAFETY: not safe at all, on purpose: page 0 is unmapped and the
            // read must fault.
            let v = unsafe { p.read_volatile() };
            println!("crash: read {v:#x} from address 8");
        }
        "ud2" => {
            // SAFETY: raises #UD on purpose.
            unsafe { core::arch::asm!("ud2", options(nomem, nostack)) };
        }
        "write-text" => {
            let p = black_box(main as *const () as usize) as *mut u8;
            // SAFETY: not safe, on purpose: code pages are mapped R+X and the
            // write must fault.
            unsafe { p.write_volatile(0xcc) };
            println!("crash: wrote to my own code at {p:p}");
        }
        "jump-kernel" => {
            let target: u64 = black_box(0xffff_ffff_8010_0000);
            // SAFETY: not safe, on purpose: the address is kernel text, and a
            // user-mode instruction fetch there must fault.
            unsafe { core::arch::asm!("call {t}", t = in(reg) target, clobber_abi("C")) };
            println!("crash: returned from a call into the kernel");
        }
        "stack-overflow" => {
            let depth = recurse(black_box(0));
            println!("crash: recursed {depth} frames without faulting");
        }
        "panic" => panic!("crash: deliberate panic"),
        "motor-vtable" => {
            let p = black_box(vireo_rt::pv_abi::motor::RT_VDSO_VTABLE_VADDR) as *const u64;
            // SAFETY: not safe, on purpose: a raw program has no vtable page
            // and the read must fault.
            let v = unsafe { p.read_volatile() };
            println!("crash: read {v:#x} from the motor vtable page: the kernel gave a raw program the std runtime");
        }
        _ => {
            println!("crash: unknown mode {mode:?} (want null, ud2, write-text, jump-kernel, stack-overflow, panic, motor-vtable)");
            return 2;
        }
    }
    println!("crash: {mode}: still alive");
    1
}

/// Uses 4 KiB of stack per frame; the work after the call keeps it from
/// becoming a loop. The main stack is 1 MiB, so the guard is hit after ~256
/// frames.
#[inline(never)]
fn recurse(n: u64) -> u64 {
    // A base case the optimiser cannot see through, so the recursion is a
    // real one and not an infinite loop it may reason about.
    if n == black_box(u64::MAX) {
        return 0;
    }
    let mut buf = [0u8; 4096];
    buf[(n % 4096) as usize] = n as u8;
    let buf = black_box(buf);
    recurse(n + 1) + buf[0] as u64
}
