//! `/test/preempt`: CPU-bound processes must not starve others. Starts at
//! least as many `/bin/spin` processes as there are CPUs (and at least two),
//! then does 50 rounds of "sleep 1 ms, compute a little", which must finish
//! within 5 s; then kills the spinners and checks they report `KILLED`.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::hint::black_box;
use vireo_rt::sys::{self, status};
use vireo_rt::{println, Process};

vireo_rt::entry!(main);

const ROUNDS: u32 = 50;
const LIMIT_NS: u64 = 5_000_000_000;
/// Enough work to need the CPU for a while each round, small enough that 50
/// rounds take well under a second even under TCG.
const WORK: u64 = 20_000;
const KILL_WAIT_NS: u64 = 5_000_000_000;

fn main() -> i32 {
    let cpus = sys::sysinfo().map(|i| i.cpus).unwrap_or(1).max(1);
    let spinners = (cpus as usize).max(2);
    let mut spin = Vec::new();
    for _ in 0..spinners {
        match Process::spawn("/bin/spin", &[]) {
            Ok(p) => spin.push(p),
            Err(e) => {
                println!("test-preempt: FAILED: cannot spawn /bin/spin: {}", e.name());
                return 1;
            }
        }
    }

    let t0 = sys::now_ns();
    let mut acc: u64 = 0;
    let mut worst: u64 = 0;
    for _ in 0..ROUNDS {
        let r0 = sys::now_ns();
        if let Err(e) = sys::sleep(1_000_000) {
            println!("test-preempt: FAILED: sleep: {}", e.name());
            return 1;
        }
        for i in 0..WORK {
            acc = black_box(acc.wrapping_mul(31).wrapping_add(i));
        }
        worst = worst.max(sys::now_ns() - r0);
    }
    let elapsed = sys::now_ns() - t0;

    // End the spinners before judging, so a failure does not leave them running.
    let mut bad_kill = false;
    for p in &spin {
        if let Err(e) = p.kill() {
            println!("test-preempt: kill: {}", e.name());
            bad_kill = true;
            continue;
        }
        // Bounded: a spinner alone on another CPU must be interrupted to
        // die, and a kernel that fails to would otherwise hang this test.
        match p.wait_timeout(KILL_WAIT_NS) {
            Ok(s) if s == status::KILLED => {}
            Ok(s) => {
                println!("test-preempt: killed spinner ended with {s:#x}, want {:#x}", status::KILLED);
                bad_kill = true;
            }
            Err(e) => {
                println!("test-preempt: wait for a killed spinner: {}", e.name());
                bad_kill = true;
            }
        }
    }

    println!(
        "test-preempt: {ROUNDS} rounds beside {spinners} spinners on {cpus} cpus took {} ms (worst round {} ms, {acc:x})",
        elapsed / 1_000_000,
        worst / 1_000_000
    );
    if elapsed >= LIMIT_NS {
        println!("test-preempt: FAILED: starved (limit {} ms)", LIMIT_NS / 1_000_000);
        return 1;
    }
    if bad_kill {
        println!("test-preempt: FAILED: killing the spinners");
        return 1;
    }
    println!("test-preempt: ok");
    0
}
