//! `/bench/ipc`: futex ping-pong round trips and the null system call.
//!
//! Two ping-pongs over one futex word, with the same code:
//! - between two threads of this process (the word is a static);
//! - between this process and a child (`/bench/ipc child`), over a page of
//!   shared memory handed to the child at spawn (it is the child's handle 1).
//!   Futexes are keyed by physical address, so both sides meet on one queue;
//!   this is the primitive sys-io's rings will use.
//!
//! Under QEMU `-icount shift=0` the TSC counts guest instructions, so the
//! `tsc` figures are instruction counts.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};
use vireo_rt::sys::{self, prot, FOREVER};
use vireo_rt::{println, rdtsc, thread};

vireo_rt::entry!(main);

const ROUND_TRIPS: u64 = 10_000;
const NULL_CALLS: u64 = 100_000;

/// Whose turn it is: PING (the measuring side), PONG (the echoing side), or STOP.
const PING: u32 = 0;
const PONG: u32 = 1;
const STOP: u32 = 2;

static THREAD_TURN: AtomicU32 = AtomicU32::new(PING);

/// Sleeps while `turn == value` (the other side has not handed over yet);
/// returns the new value.
fn wait_while(turn: &AtomicU32, value: u32) -> u32 {
    loop {
        let t = turn.load(Ordering::Acquire);
        if t != value {
            return t;
        }
        // WouldBlock just means it changed before we slept: look again.
        let _ = sys::futex_wait(turn, value, FOREVER);
    }
}

fn hand_over(turn: &AtomicU32, to: u32) {
    turn.store(to, Ordering::Release);
    let _ = sys::futex_wake(turn, 1);
}

/// The echoing side: answers every PING hand-over until STOP.
fn pong(turn: &AtomicU32) {
    loop {
        if wait_while(turn, PING) == STOP {
            return;
        }
        hand_over(turn, PING);
    }
}

/// Times `ROUND_TRIPS` hand-overs to a running `pong`; returns (ns, tsc) per trip.
fn ping(turn: &AtomicU32) -> (u64, u64) {
    // One untimed round trip, so the other side is up and its stack populated.
    hand_over(turn, PONG);
    wait_while(turn, PONG);
    let (n0, c0) = (sys::now_ns(), rdtsc());
    for _ in 0..ROUND_TRIPS {
        hand_over(turn, PONG);
        wait_while(turn, PONG);
    }
    let (n1, c1) = (sys::now_ns(), rdtsc());
    hand_over(turn, STOP);
    ((n1 - n0) / ROUND_TRIPS, (c1 - c0) / ROUND_TRIPS)
}

/// Maps the shared page behind `handle` as the turn word.
fn shared_turn(handle: u64) -> Result<&'static AtomicU32, &'static str> {
    let addr = sys::shm_map(handle, prot::READ | prot::WRITE).map_err(|e| e.name())?;
    // SAFETY: the kernel mapped a zeroed, writable, page-aligned page at
    // `addr` that stays mapped for the life of this process; AtomicU32 has
    // no invalid bit patterns.
    Ok(unsafe { &*(addr as *const AtomicU32) })
}

fn threads() -> Result<(u64, u64), &'static str> {
    let worker = thread::spawn_raw(|_| pong(&THREAD_TURN), 0).map_err(|e| e.name())?;
    let r = ping(&THREAD_TURN);
    worker.join().map_err(|e| e.name())?;
    Ok(r)
}

fn processes() -> Result<(u64, u64), &'static str> {
    let shm = sys::shm_create(4096).map_err(|e| e.name())?;
    let turn = shared_turn(shm)?;
    let child = sys::spawn_with_handles("/bench/ipc", &["child"], &[shm]).map_err(|e| e.name())?;
    let r = ping(turn);
    let status = sys::wait(child, FOREVER).map_err(|e| e.name())?;
    let _ = sys::close(child);
    if status != 0 {
        return Err("the child ended with a failure status");
    }
    Ok(r)
}

fn main() -> i32 {
    if vireo_rt::args().iter().next() == Some("child") {
        // Our handle 1 is the shared page the parent passed at spawn.
        return match shared_turn(1) {
            Ok(turn) => {
                pong(turn);
                0
            }
            Err(e) => {
                println!("bench-ipc child: FAILED: {e}");
                1
            }
        };
    }
    let (t_ns, t_tsc) = match threads() {
        Ok(r) => r,
        Err(e) => {
            println!("bench-ipc: FAILED (threads): {e}");
            return 1;
        }
    };
    let (p_ns, p_tsc) = match processes() {
        Ok(r) => r,
        Err(e) => {
            println!("bench-ipc: FAILED (processes): {e}");
            return 1;
        }
    };

    let (s0, t0) = (sys::now_ns(), rdtsc());
    for _ in 0..NULL_CALLS {
        let _ = core::hint::black_box(sys::clock());
    }
    let (s1, t1) = (sys::now_ns(), rdtsc());

    println!("bench-ipc: futex ping-pong, {ROUND_TRIPS} round trips each");
    println!("bench-ipc: threads of one process: round trip {t_ns} ns, {t_tsc} tsc");
    println!("bench-ipc: two processes over shared memory: round trip {p_ns} ns, {p_tsc} tsc");
    println!(
        "bench-syscall: {} tsc per call ({} ns; ClockMonotonic x {NULL_CALLS})",
        (t1 - t0) / NULL_CALLS,
        (s1 - s0) / NULL_CALLS
    );
    0
}
