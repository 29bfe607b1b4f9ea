//! `/test/spawn`: process creation, arguments and exit statuses, a missing
//! program, and 50 spawn+wait rounds that must not leak memory.
#![no_std]
#![no_main]

use vireo_rt::sys;
use vireo_rt::{println, Error, Process};

vireo_rt::entry!(main);

/// What 50 children may leave behind in free memory (kernel allocator slack).
const LEAK_SLACK: u64 = 64 << 10;

fn main() -> i32 {
    match run() {
        Ok(()) => {
            println!("test-spawn: ok");
            0
        }
        Err(why) => {
            println!("test-spawn: FAILED: {why}");
            1
        }
    }
}

fn status_of(path: &str, args: &[&str]) -> Result<i32, &'static str> {
    let p = Process::spawn(path, args).map_err(|e| e.name())?;
    p.wait().map_err(|e| e.name())
}

fn free_memory() -> Result<u64, &'static str> {
    sys::sysinfo().map(|i| i.free_memory).map_err(|e| e.name())
}

fn run() -> Result<(), &'static str> {
    let s = status_of("/bin/hello", &["42"])?;
    if s != 42 {
        println!("test-spawn: /bin/hello 42 ended with {s:#x}");
        return Err("wrong status from /bin/hello 42");
    }
    // Several arguments, one with a space: they arrive separately and in order.
    let s = status_of("/bin/hello", &["5", "two words", "last"])?;
    if s != 5 {
        println!("test-spawn: /bin/hello 5 'two words' last ended with {s:#x}");
        return Err("wrong status from /bin/hello with three arguments");
    }
    let s = status_of("/bin/hello", &[])?;
    if s != 0 {
        println!("test-spawn: /bin/hello ended with {s:#x}");
        return Err("wrong status from /bin/hello");
    }
    match Process::spawn("/nonexistent", &[]) {
        Err(Error::NotFound) => {}
        Err(e) => {
            println!("test-spawn: /nonexistent: {}", e.name());
            return Err("spawning /nonexistent did not give NotFound");
        }
        Ok(_) => return Err("spawning /nonexistent succeeded"),
    }

    // Warm up first: the first spawns may grow kernel caches (heap, page
    // table pools) and this process's own heap, which is not a leak.
    for _ in 0..5 {
        status_of("/bin/hello", &["0"])?;
    }
    let before = free_memory()?;
    for i in 0..50 {
        let s = status_of("/bin/hello", &["7"])?;
        if s != 7 {
            println!("test-spawn: child {i} ended with {s:#x}");
            return Err("wrong status in the spawn loop");
        }
    }
    let after = free_memory()?;
    println!("test-spawn: free memory before {} KiB, after 50 children {} KiB", before >> 10, after >> 10);
    if before.saturating_sub(after) > LEAK_SLACK {
        return Err("50 spawn+wait rounds leaked more than 64 KiB");
    }
    Ok(())
}
