//! `/test/fuzz`: a system-call fuzzer on the raw ABI (docs/fuzzing.md).
//!
//! `/test/fuzz [calls=N] [threads=T] [seed=S] [only=CALL,...]` runs T threads issuing N
//! calls in all, random and boundary-valued (kernel and non-canonical
//! pointers, huge lengths, stale, bogus and other threads' or children's
//! handles), checks every result against the ABI (abi.rs and the rules in
//! calls.rs), then checks the kernel still starts and ends a program, prints
//! one `fuzz: done:` summary line and exits 1 if any rule was broken.
//! Other modes, used by the fuzzer itself and by tests:
//! `park` sleeps for about 2 s unless killed first (a live foreign process), `child calls=N
//! seed=S` fuzzes with the handles its parent passed, `elf raw=N std=M
//! [seed=S]` (the seed the host made the mutants with, for the log) spawns
//! the mutated ELF images /test/mut/raw-I and /test/mut/std-I (elf_run.rs).
#![no_std]
#![no_main]

extern crate alloc;

mod abi;
mod calls;
mod elf_run;
mod owner;
mod rng;
mod stats;
mod values;
mod worker;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use vireo_rt::sys;
use vireo_rt::{println, thread};
use worker::Worker;

vireo_rt::entry!(main);

const MAX_THREADS: u64 = 16;

/// Each fuzzing thread's handle in the main thread's table (for Wait: Busy).
static SELF_HANDLES: [AtomicU64; MAX_THREADS as usize + 1] = [const { AtomicU64::new(0) }; MAX_THREADS as usize + 1];
static DONE: AtomicU64 = AtomicU64::new(0);

struct Opts {
    mode: &'static str,
    /// The seed was given (not made up from the clock).
    seeded: bool,
    calls: u64,
    threads: u64,
    seed: u64,
    raw: u64,
    std: u64,
    only: Option<u64>,
}

fn parse_num(v: &str) -> Option<u64> {
    match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => v.parse().ok(),
    }
}

fn parse() -> Result<Opts, alloc::string::String> {
    let args = vireo_rt::args();
    let mut o = Opts { mode: "fuzz", seeded: false, calls: 20_000, threads: 4, seed: 0, raw: 0, std: 0, only: None };
    let mut seeded = false;
    for a in args.iter() {
        match a {
            "park" => o.mode = "park",
            "child" => o.mode = "child",
            "elf" => o.mode = "elf",
            _ => {
                let (k, v) = a.split_once('=').ok_or_else(|| alloc::format!("unknown argument {a:?}"))?;
                if k == "only" {
                    let mut mask = 0u64;
                    for c in v.split(',') {
                        let c = parse_num(c).ok_or_else(|| alloc::format!("only: not a number: {c:?}"))?;
                        mask |= 1 << c.min(abi::UNKNOWN as u64);
                    }
                    o.only = Some(mask & !((1 << 2) | (1 << 13)));
                    continue;
                }
                let v = parse_num(v).ok_or_else(|| alloc::format!("{k}: not a number: {v:?}"))?;
                match k {
                    "calls" => o.calls = v,
                    "threads" => o.threads = v.clamp(1, MAX_THREADS),
                    "seed" => {
                        o.seed = v;
                        seeded = true;
                    }
                    "raw" => o.raw = v,
                    "std" => o.std = v,
                    _ => return Err(alloc::format!("unknown option {k:?}")),
                }
            }
        }
    }
    o.seeded = seeded;
    if !seeded {
        o.seed = vireo_rt::rdtsc() ^ sys::now_ns().rotate_left(32);
    }
    Ok(o)
}

fn main() -> i32 {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            println!("fuzz: {e}");
            println!("usage: /test/fuzz [calls=N] [threads=T] [seed=S] | park | child calls=N seed=S | elf raw=N std=M [seed=S]");
            return 2;
        }
    };
    match o.mode {
        // Bounded, so a child whose handle the fuzzer closed (without
        // killing it) does not live on and hold memory for the whole run.
        "park" => {
            for _ in 0..400 {
                let _ = sys::sleep(5_000_000);
            }
            0
        }
        "child" => child(o.calls, o.seed),
        "elf" => elf_run::run(o.raw, o.std, o.seeded.then_some(o.seed)),
        _ => fuzz(&o),
    }
}

/// A child's run: its handles 1, 2, … are whatever the parent passed.
fn child(calls: u64, seed: u64) -> i32 {
    let mut w = match Worker::new(1, seed, true) {
        Ok(w) => w,
        Err(e) => {
            println!("fuzz child: cannot start: {}", e.name());
            return 3;
        }
    };
    while w.made < calls {
        w.step();
    }
    w.finish();
    if stats::VIOLATIONS.load(Ordering::Relaxed) != 0 {
        println!("fuzz child: seed={seed:#x}: violations above");
        return 1;
    }
    0
}

fn free_memory() -> u64 {
    sys::sysinfo().map_or(0, |i| i.free_memory)
}

fn fuzz(o: &Opts) -> i32 {
    // As init we hold the device right (handle 1). A driver with it is
    // trusted with device registers and DMA, so it is dropped first: the
    // device calls are fuzzed without it, and must all be refused.
    if sys::sysinfo().is_ok_and(|i| i.pid == 1) {
        let _ = sys::close(1);
    }
    let cpus = sys::sysinfo().map_or(0, |i| i.cpus);
    let free_before = free_memory();
    println!(
        "fuzz: seed={:#x} calls={} threads={} cpus={cpus} free={} KiB",
        o.seed,
        o.calls,
        o.threads,
        free_before >> 10
    );
    let start = sys::now_ns();
    let per_thread = o.calls.div_ceil(o.threads);
    let mut joins = Vec::new();
    for i in 1..=o.threads {
        let seed = o.seed;
        // Starting the thread makes a handle: under the ownership lock, so
        // no fuzzing thread closes it as a "stale" value.
        let _g = owner::LOCK.lock();
        let only = o.only;
        let spawned = thread::spawn(move || run_thread(i as u8, seed, per_thread, only));
        match spawned {
            Ok(j) => {
                owner::claim(j.raw(), owner::MAIN);
                SELF_HANDLES[i as usize].store(j.raw(), Ordering::Release);
                joins.push(j);
            }
            Err(e) => {
                println!("fuzz: cannot start thread {i}: {}", e.name());
                return 3;
            }
        }
    }
    let mut last = sys::now_ns();
    let mut last_calls = u64::MAX;
    while DONE.load(Ordering::Acquire) < joins.len() as u64 {
        let _ = sys::sleep(20_000_000);
        if sys::now_ns() - last >= 5_000_000_000 {
            last = sys::now_ns();
            let calls = stats::CALLS.load(Ordering::Relaxed);
            if calls == last_calls {
                stats::print_current(joins.len());
            }
            last_calls = calls;
            println!(
                "fuzz: progress calls={} violations={} ({} s)",
                stats::CALLS.load(Ordering::Relaxed),
                stats::VIOLATIONS.load(Ordering::Relaxed),
                (last - start) / 1_000_000_000
            );
        }
    }
    for j in joins {
        let h = j.raw();
        if j.join() != Ok(0) {
            stats::violation_note("a fuzzing thread did not end with status 0");
        }
        owner::release(h);
    }
    // Threads started by ThreadSpawn end at once; make sure they have, so
    // the process never ends while one of its threads still runs.
    let deadline = sys::now_ns() + 5_000_000_000;
    while Worker::stubs_live() != 0 && sys::now_ns() < deadline {
        let _ = sys::sleep(1_000_000);
    }
    if Worker::stubs_live() != 0 {
        stats::violation_note("threads started with ThreadSpawn did not end");
    }
    let _ = sys::sleep(10_000_000);
    let secs = (sys::now_ns() - start) / 1_000_000;
    // The kernel must still start, run and end a program.
    match vireo_rt::process::run("/bin/hello", &[]) {
        Ok(0) => {}
        Ok(s) => stats::violation_note(&alloc::format!("/bin/hello after the run ended with {s:#x}")),
        Err(e) => stats::violation_note(&alloc::format!("/bin/hello after the run: {}", e.name())),
    }
    // Children whose handles were closed without a Kill end on their own
    // within about 2 s; only then does free memory say whether anything leaked.
    let _ = sys::sleep(2_500_000_000);
    let free_after = free_memory();
    println!(
        "fuzz: free memory {} KiB before, {} KiB after ({} KiB less)",
        free_before >> 10,
        free_after >> 10,
        (free_before.saturating_sub(free_after)) >> 10
    );
    println!("fuzz: {} ms, seed={:#x}", secs, o.seed);
    stats::summary("fuzz: done:");
    if stats::VIOLATIONS.load(Ordering::Relaxed) != 0 {
        println!("fuzz: FAILED (seed={:#x})", o.seed);
        return 1;
    }
    println!("fuzz: ok");
    0
}

fn run_thread(id: u8, seed: u64, calls: u64, only: Option<u64>) {
    match Worker::new(id, seed, false) {
        Ok(mut w) => {
            if let Some(mask) = only {
                w.only = mask;
            }
            while w.made < calls {
                if w.self_handle == 0 && w.made % 64 == 0 {
                    w.self_handle = SELF_HANDLES[id as usize].load(Ordering::Acquire);
                }
                w.step();
            }
            w.finish();
        }
        Err(e) => stats::violation_note(&alloc::format!("thread {id} cannot start: {}", e.name())),
    }
    DONE.fetch_add(1, Ordering::AcqRel);
}
