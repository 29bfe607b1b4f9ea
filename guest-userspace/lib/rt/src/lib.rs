//! Vireo's raw user runtime (`no_std`), for programs written against the
//! system-call ABI in `pv_abi::syscall` until Rust std for Vireo exists.
//!
//! A program is a `#![no_std] #![no_main]` binary that names its
//! `fn main() -> i32` with [`entry!`]; it gets `print!`/`println!`, a heap
//! (`alloc` works), [`sync::Mutex`], [`thread::spawn`], [`process::Process`]
//! and typed system calls in [`sys`]. A panic prints its message and executes
//! `ud2`, so the kernel kills the process with `status::killed_by_exception(6)`.
#![no_std]

extern crate alloc;

pub mod clock;
pub mod console;
pub mod device;
pub mod heap;
pub mod process;
pub mod raw;
pub mod sync;
pub mod sys;
pub mod thread;

pub use process::{args, Args, Process};
pub use pv_abi;
pub use pv_abi::syscall::Error;

#[global_allocator]
static ALLOCATOR: heap::Allocator = heap::Allocator::new();

/// Says "raw-ABI program" to the kernel, which maps the Rust std runtime
/// into every program without this note. LLVM makes a `.note*` section
/// SHT_NOTE and GNU ld gives it a PT_NOTE segment (check-elf.sh checks).
#[used]
#[link_section = ".note.vireo"]
static RAW_ABI_NOTE: pv_abi::motor::raw_note::Note = pv_abi::motor::raw_note::NOTE;

/// Defines the program's entry point `_start`, which calls `$main() -> i32`
/// and exits the process with its value.
///
/// The kernel enters with RSP = stack top, RDI = 0 (main thread) and FS base
/// 0. `_start` aligns RSP itself (whatever the kernel gave) before calling
/// into Rust, and clears RBP so frame-pointer walks stop here.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[doc(hidden)]
        // SAFETY: (naked) the body is only the asm below, which aligns the
        // stack before calling Rust and never returns.
        #[unsafe(naked)]
        #[no_mangle]
        pub unsafe extern "C" fn _start() -> ! {
            ::core::arch::naked_asm!(
                "xor ebp, ebp",
                "and rsp, -16",
                "call {start}",
                "ud2",
                start = sym __vireo_start,
            )
        }

        #[doc(hidden)]
        extern "C" fn __vireo_start() -> ! {
            let main: fn() -> i32 = $main;
            $crate::sys::exit(main())
        }
    };
}

/// Ends the process with an invalid-opcode exception, which the kernel
/// reports as `status::killed_by_exception(6)`: the raw runtime's abort.
pub fn abort() -> ! {
    // SAFETY: `ud2` only raises #UD; the kernel ends the process.
    unsafe { core::arch::asm!("ud2", options(nomem, nostack, noreturn)) }
}

/// The time-stamp counter. Under QEMU with `-icount shift=0` it counts guest
/// instructions.
#[inline(always)]
pub fn rdtsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: RDTSC reads a counter and has no memory effects.
    unsafe { core::arch::asm!("rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack)) };
    ((hi as u64) << 32) | lo as u64
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    match info.location() {
        Some(l) => println!("panic at {}:{}: {}", l.file(), l.line(), info.message()),
        None => println!("panic: {}", info.message()),
    }
    abort()
}
