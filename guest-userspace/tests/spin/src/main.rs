//! `/bin/spin`: a CPU-bound process that never yields or exits; tests use it
//! to check preemption and `Kill`.
#![no_std]
#![no_main]

vireo_rt::entry!(main);

fn main() -> i32 {
    let mut n: u64 = 0;
    loop {
        // black_box keeps the loop a real computation the optimiser cannot
        // delete, without making a system call.
        n = core::hint::black_box(n.wrapping_add(1));
    }
}
