//! `/bench/ipc`: futex ping-pong round trips and the null system call.
//!
//! The ping-pong runs between two *threads of one process*: handles are
//! per-process and there is no way yet to pass a shared-memory handle to a
//! child, so a cross-process version would have nothing to share. The futex
//! path is the same (futexes are keyed by physical address), but the switch
//! is thread-to-thread, without an address-space change.
//!
//! Under QEMU `-icount shift=0` the TSC counts guest instructions, so the
//! `tsc` figures are instruction counts.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};
use vireo_rt::sys::{self, FOREVER};
use vireo_rt::{println, rdtsc, thread};

vireo_rt::entry!(main);

const ROUND_TRIPS: u64 = 10_000;
const NULL_CALLS: u64 = 100_000;

/// Whose turn it is: PING (main thread), PONG (worker), or STOP.
static TURN: AtomicU32 = AtomicU32::new(PING);
const PING: u32 = 0;
const PONG: u32 = 1;
const STOP: u32 = 2;

/// Sleeps while TURN == `value` (the other side has not handed over yet); returns the new value.
fn wait_while(value: u32) -> u32 {
    loop {
        let t = TURN.load(Ordering::Acquire);
        if t != value {
            return t;
        }
        // WouldBlock just means it changed before we slept: look again.
        let _ = sys::futex_wait(&TURN, value, FOREVER);
    }
}

fn hand_over(to: u32) {
    TURN.store(to, Ordering::Release);
    let _ = sys::futex_wake(&TURN, 1);
}

fn pong(_: usize) {
    loop {
        if wait_while(PING) == STOP {
            return;
        }
        hand_over(PING);
    }
}

fn main() -> i32 {
    let worker = match thread::spawn_raw(pong, 0) {
        Ok(t) => t,
        Err(e) => {
            println!("bench-ipc: FAILED: thread_spawn: {}", e.name());
            return 1;
        }
    };
    // One untimed round trip, so the worker is up and its stack populated.
    hand_over(PONG);
    wait_while(PONG);

    let (n0, c0) = (sys::now_ns(), rdtsc());
    for _ in 0..ROUND_TRIPS {
        hand_over(PONG);
        wait_while(PONG);
    }
    let (n1, c1) = (sys::now_ns(), rdtsc());
    hand_over(STOP);
    if let Err(e) = worker.join() {
        println!("bench-ipc: FAILED: join: {}", e.name());
        return 1;
    }

    let (s0, t0) = (sys::now_ns(), rdtsc());
    for _ in 0..NULL_CALLS {
        let _ = core::hint::black_box(sys::clock());
    }
    let (s1, t1) = (sys::now_ns(), rdtsc());

    println!("bench-ipc: futex ping-pong between two threads of one process, {ROUND_TRIPS} round trips");
    println!(
        "bench-ipc: round trip {} ns, {} tsc",
        (n1 - n0) / ROUND_TRIPS,
        (c1 - c0) / ROUND_TRIPS
    );
    println!(
        "bench-syscall: {} tsc per call ({} ns; ClockMonotonic x {NULL_CALLS})",
        (t1 - t0) / NULL_CALLS,
        (s1 - s0) / NULL_CALLS
    );
    0
}
