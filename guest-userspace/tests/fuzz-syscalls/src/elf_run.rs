//! `/test/fuzz elf raw=N std=M`: spawns every mutated ELF image the host
//! packed as /test/mut/raw-I and /test/mut/std-I (mkinitrd --mutants; the
//! seed is in the build or test log). Each must be refused with a loader
//! error, or run and end (by itself, by a fault, or by our Kill after a
//! timeout) without taking anything else with it.
use crate::stats;
use alloc::format;
use vireo_rt::println;
use vireo_rt::pv_abi::syscall::status;
use vireo_rt::sys::{self, FOREVER};
use vireo_rt::Error::{self, *};

/// How long a running mutant may take before it is killed.
const RUN_NS: u64 = 2_000_000_000;

/// What Spawn may say about a malformed image besides the ELF errors
/// (`abi::ELF`).
const OTHER_REFUSALS: [Error; 3] = [Invalid, NoMemory, Limit];

#[derive(Default)]
struct Tally {
    refused: u64,
    exit0: u64,
    exit_other: u64,
    faulted: u64,
    killed: u64,
}

pub fn run(raw: u64, std: u64, seed: Option<u64>) -> i32 {
    match seed {
        Some(s) => println!("fuzz-elf: {raw} + {std} mutants, seed {s:#x} (mkinitrd::mutate::mutant(image, seed, i))"),
        None => println!("fuzz-elf: {raw} + {std} mutants"),
    }
    let mut t = Tally::default();
    let mut errors = [0u64; 64];
    for (prefix, count) in [("raw", raw), ("std", std)] {
        for i in 0..count {
            let path = format!("/test/mut/{prefix}-{i}");
            match sys::spawn(&path, &[]) {
                Err(e) if crate::abi::ELF.contains(&e) || OTHER_REFUSALS.contains(&e) => {
                    t.refused += 1;
                    errors[(e as usize) & 63] += 1;
                }
                Err(e) => stats::violation_note(&format!("spawn {path}: unexpected error {}", e.name())),
                Ok(h) => {
                    let s = match sys::wait(h, RUN_NS) {
                        Err(TimedOut) => {
                            let _ = sys::kill(h);
                            sys::wait(h, FOREVER)
                        }
                        other => other,
                    };
                    match s {
                        Ok(0) => t.exit0 += 1,
                        Ok(status::KILLED) => t.killed += 1,
                        Ok(s) if status::is_killed(s) => t.faulted += 1,
                        Ok(_) => t.exit_other += 1,
                        Err(e) => stats::violation_note(&format!("wait {path}: {}", e.name())),
                    }
                    let _ = sys::close(h);
                }
            }
        }
    }
    match vireo_rt::process::run("/bin/hello", &[]) {
        Ok(0) => {}
        other => stats::violation_note(&format!("/bin/hello after the mutants: {other:?}")),
    }
    let mut why = alloc::string::String::new();
    for (code, n) in errors.iter().enumerate() {
        if *n != 0 {
            let name = Error::from_raw(code as u16).map_or("?", |e| e.name());
            why.push_str(&format!(" [{name}]={n}"));
        }
    }
    let v = stats::VIOLATIONS.load(core::sync::atomic::Ordering::Relaxed);
    println!(
        "fuzz-elf: done: mutants={} refused={} ran: exit0={} exit-other={} faulted={} killed-after-timeout={} violations={v}",
        raw + std,
        t.refused,
        t.exit0,
        t.exit_other,
        t.faulted,
        t.killed
    );
    println!("fuzz-elf: refusals:{why}");
    if v != 0 {
        println!("fuzz-elf: FAILED");
        return 1;
    }
    println!("fuzz-elf: ok");
    0
}
