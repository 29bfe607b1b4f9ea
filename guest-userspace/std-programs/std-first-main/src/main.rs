//! `/bin/std-first-main`: a std hello world that reads the TSC first thing
//! in `main` and prints it. Under QEMU `-icount shift=0,sleep=off` the TSC
//! counts guest instructions since the machine started, so with the kernel's
//! `bootstat` (PVH entry's TSC) this gives the instructions from PVH entry to
//! a std program's `main` (docs/runtime.md).
fn main() {
    // SAFETY: RDTSC has no preconditions on x86_64.
    let tsc = std::hint::black_box(unsafe { core::arch::x86_64::_rdtsc() });
    println!("std-first-main: hello, world; tsc at main {tsc}");
}
