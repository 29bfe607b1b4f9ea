//! Counters shared by all fuzzing threads, and violation reports.
use crate::abi::{self, SLOTS};
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use vireo_rt::{println, Error};

pub static CALLS: AtomicU64 = AtomicU64::new(0);
pub static VIOLATIONS: AtomicU64 = AtomicU64::new(0);
/// Successful results per call slot.
static OK: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];
/// Results per error code (index = code; codes are < 64).
static ERRS: [AtomicU64; 64] = [const { AtomicU64::new(0) }; 64];
/// What each thread is doing (call number and first three arguments; the
/// number is u64::MAX + 1 - k for clean-up step k), printed when the run stalls.
pub static CURRENT: [[AtomicU64; 4]; 17] = [const { [const { AtomicU64::new(0) }; 4] }; 17];

pub fn doing(id: u8, n: u64, a: &[u64; 6]) {
    let c = &CURRENT[(id as usize).min(16)];
    c[0].store(n, Relaxed);
    c[1].store(a[0], Relaxed);
    c[2].store(a[1], Relaxed);
    c[3].store(a[2], Relaxed);
}

pub fn print_current(threads: usize) {
    for (id, c) in CURRENT.iter().enumerate().take(threads + 1).skip(1) {
        let n = c[0].load(Relaxed);
        println!(
            "fuzz: t{id} in {} ({n:#x}) ({:#x}, {:#x}, {:#x})",
            abi::name(n),
            c[1].load(Relaxed),
            c[2].load(Relaxed),
            c[3].load(Relaxed)
        );
    }
}

/// Protect calls on a range holding no mapping that returned 0 (Unmap
/// refuses the same range with Invalid): reported, not a violation.
static PROTECT_EMPTY: AtomicU64 = AtomicU64::new(0);
/// Violations printed in full; the rest are only counted.
const PRINT_LIMIT: u64 = 40;

pub fn slot(n: u64) -> usize {
    if n < abi::UNKNOWN as u64 {
        n as usize
    } else {
        abi::UNKNOWN
    }
}

pub fn count(n: u64, r: Result<u64, Option<Error>>) {
    CALLS.fetch_add(1, Relaxed);
    match r {
        Ok(_) => {
            OK[slot(n)].fetch_add(1, Relaxed);
        }
        Err(Some(e)) => {
            ERRS[(e as usize) & 63].fetch_add(1, Relaxed);
        }
        Err(None) => {}
    }
}

pub fn note_protect_empty() {
    PROTECT_EMPTY.fetch_add(1, Relaxed);
}

/// Records an ABI violation; `who` names the process mode and thread.
pub fn violation(who: &str, n: u64, a: &[u64; 6], rax: u64, why: &str) {
    let k = VIOLATIONS.fetch_add(1, Relaxed);
    if k < PRINT_LIMIT {
        println!(
            "fuzz: VIOLATION [{who}] {}({:#x}, {:#x}, {:#x}, {:#x}, {:#x}, {:#x}) = {:#x}: {why}",
            abi::name(n),
            a[0],
            a[1],
            a[2],
            a[3],
            a[4],
            a[5],
            rax
        );
    }
}

/// A violation found outside a single call (a child's status, a check after the run).
pub fn violation_note(why: &str) {
    let k = VIOLATIONS.fetch_add(1, Relaxed);
    if k < PRINT_LIMIT {
        println!("fuzz: VIOLATION {why}");
    }
}

/// The final summary line (one line, so tests can find it).
pub fn summary(prefix: &str) {
    let mut line = alloc::string::String::new();
    use core::fmt::Write;
    let _ = write!(line, "{prefix} calls={} ok=", CALLS.load(Relaxed));
    let ok: u64 = OK.iter().map(|c| c.load(Relaxed)).sum();
    let _ = write!(line, "{ok}");
    for (code, c) in ERRS.iter().enumerate() {
        let c = c.load(Relaxed);
        if c != 0 {
            let name = Error::from_raw(code as u16).map_or("?", |e| e.name());
            let _ = write!(line, " [{name}]={c}");
        }
    }
    let _ = write!(line, " protect-of-others={}", PROTECT_EMPTY.load(Relaxed));
    let _ = write!(line, " violations={}", VIOLATIONS.load(Relaxed));
    println!("{line}");
    let mut per = alloc::string::String::from("fuzz: successes per call:");
    for (i, c) in OK.iter().enumerate() {
        let _ = write!(per, " {}={}", if i == abi::UNKNOWN { "unknown" } else { abi::name(i as u64) }, c.load(Relaxed));
    }
    println!("{per}");
}
