//! `/bin/overcommit [ROUNDS]`: the user-space half of the overcommit
//! benchmark (docs/paravirt.md "Measured"), the kernel half being the
//! `pv-lock` and `pv-tlb` self-tests. Two phases, each as many threads as
//! there are CPUs:
//! - futex ping-pong: pairs of threads hand a token back and forth ROUNDS
//!   times through a `Mutex` and a `Condvar`, so every hand-off is a futex
//!   wake of a thread parked on another CPU (an IPI);
//! - unmap: all threads but one keep the process's address space loaded on
//!   their CPUs while the last maps, touches and frees a 256 KiB buffer
//!   ROUNDS / 4 times; each free is an unmap, hence a TLB shootdown of every
//!   CPU running the process.
//!
//! Under overcommit (more vCPUs than host CPUs) a waiter in either phase
//! waits for a vCPU the host has descheduled; that is what the paravirtual
//! interfaces are for. Prints one line, `overcommit: ...`, and exits 0.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

/// The unmapped buffer: above the allocator's largest size class (64 KiB),
/// so each one is its own mapping.
const BUFFER: usize = 256 << 10;
const PAGE: usize = 4096;

fn ping_pong(rounds: u64) {
    let token = Arc::new((Mutex::new(0u64), Condvar::new()));
    let side = |me: u64| {
        let token = token.clone();
        std::thread::spawn(move || {
            let (lock, cv) = &*token;
            let mut t = lock.lock().unwrap_or_else(|e| e.into_inner());
            while *t < 2 * rounds {
                if *t % 2 == me {
                    *t += 1;
                    cv.notify_one();
                } else {
                    t = cv.wait(t).unwrap_or_else(|e| e.into_inner());
                }
            }
            cv.notify_one();
        })
    };
    let (a, b) = (side(0), side(1));
    for t in [a, b] {
        if t.join().is_err() {
            eprintln!("overcommit: a ping-pong thread panicked");
            std::process::exit(1);
        }
    }
}

fn unmaps(rounds: u64, spinners: usize) {
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..spinners)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut x = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            })
        })
        .collect();
    for _ in 0..rounds {
        let mut v = vec![0u8; BUFFER];
        for i in (0..BUFFER).step_by(PAGE) {
            v[i] = 1;
        }
        std::hint::black_box(&v);
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
}

fn main() {
    let rounds = match std::env::args().nth(1).map(|a| a.parse::<u64>()) {
        None => 2000,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("usage: overcommit [ROUNDS]  (ROUNDS a positive number, default 2000)");
            std::process::exit(2);
        }
    };
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let t0 = Instant::now();
    let pairs: Vec<_> = (0..cpus.div_ceil(2)).map(|_| std::thread::spawn(move || ping_pong(rounds))).collect();
    for p in pairs {
        if p.join().is_err() {
            std::process::exit(1);
        }
    }
    let futex_ms = t0.elapsed().as_secs_f64() * 1e3;
    let t1 = Instant::now();
    unmaps(rounds / 4, cpus.saturating_sub(1));
    let unmap_ms = t1.elapsed().as_secs_f64() * 1e3;
    println!(
        "overcommit: {cpus} cpus, {rounds} ping-pong rounds x {} pairs in {futex_ms:.1} ms, {} unmaps in {unmap_ms:.1} ms",
        cpus.div_ceil(2),
        rounds / 4
    );
}
