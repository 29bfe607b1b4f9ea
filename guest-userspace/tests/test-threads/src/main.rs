//! `/test/threads`: 8 threads increment one counter 10_000 times each under
//! the futex `Mutex`; the total must be exactly 80_000. Also checks the
//! futex timeout (TimedOut) and value-changed (WouldBlock) results.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};
use vireo_rt::sync::Mutex;
use vireo_rt::sys;
use vireo_rt::{println, thread, Error};

vireo_rt::entry!(main);

const THREADS: usize = 8;
const ROUNDS: u64 = 10_000;
const TIMEOUT_NS: u64 = 10_000_000;

static COUNTER: Mutex<u64> = Mutex::new(0);

/// Increments the shared counter ROUNDS times. Along the way it grows a
/// private Vec (small size classes, then past 2 KiB into whole mappings) so
/// the allocator's lock and both of its paths run under contention too.
fn worker(id: usize) -> Result<(), &'static str> {
    let mut trail: Vec<u64> = Vec::new();
    for i in 0..ROUNDS {
        let mut c = COUNTER.lock();
        // black_box makes this a separate load and store, so without the
        // lock concurrent increments would be lost.
        *c = core::hint::black_box(*c) + 1;
        drop(c);
        if i % 16 == 0 {
            trail.push(id as u64 * ROUNDS + i);
        }
    }
    let ok = trail.iter().enumerate().all(|(k, &v)| v == id as u64 * ROUNDS + k as u64 * 16);
    if ok {
        Ok(())
    } else {
        Err("a thread's private Vec was corrupted")
    }
}

fn main() -> i32 {
    match run() {
        Ok(()) => {
            println!("test-threads: ok");
            0
        }
        Err(why) => {
            println!("test-threads: FAILED: {why}");
            1
        }
    }
}

fn run() -> Result<(), &'static str> {
    static BAD: AtomicU32 = AtomicU32::new(0);
    let mut threads = Vec::new();
    for id in 0..THREADS {
        let t = thread::spawn(move || {
            if let Err(why) = worker(id) {
                println!("test-threads: thread {id}: {why}");
                BAD.fetch_add(1, Ordering::Relaxed);
            }
        });
        threads.push(t.map_err(|e| e.name())?);
    }
    for t in threads {
        let s = t.join().map_err(|e| e.name())?;
        if s != 0 {
            println!("test-threads: a thread ended with {s:#x}");
            return Err("thread status not 0");
        }
    }
    if BAD.load(Ordering::Relaxed) != 0 {
        return Err("a thread failed");
    }
    let total = *COUNTER.lock();
    if total != THREADS as u64 * ROUNDS {
        println!("test-threads: counter is {total}, want {}", THREADS as u64 * ROUNDS);
        return Err("lost updates");
    }

    let word = AtomicU32::new(0);
    let t0 = sys::now_ns();
    match sys::futex_wait(&word, 0, TIMEOUT_NS) {
        Err(Error::TimedOut) => {}
        Err(e) => {
            println!("test-threads: futex_wait with timeout: {}", e.name());
            return Err("futex_wait with a timeout did not give TimedOut");
        }
        Ok(_) => return Err("futex_wait with a timeout returned Ok with no waker"),
    }
    let waited = sys::now_ns() - t0;
    if waited < TIMEOUT_NS {
        println!("test-threads: futex timeout of {TIMEOUT_NS} ns returned after {waited} ns");
        return Err("futex_wait timed out early");
    }
    match sys::futex_wait(&word, 1, sys::FOREVER) {
        Err(Error::WouldBlock) => {}
        Err(e) => {
            println!("test-threads: futex_wait with a wrong value: {}", e.name());
            return Err("futex_wait with a wrong expected value did not give WouldBlock");
        }
        Ok(_) => return Err("futex_wait with a wrong expected value returned Ok"),
    }
    println!("test-threads: {THREADS} threads x {ROUNDS} = {total}; futex timeout after {} us", waited / 1000);
    Ok(())
}
