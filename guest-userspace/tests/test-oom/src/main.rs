//! `/test/oom`: a process that eats all memory is killed with
//! `status::OUT_OF_MEMORY`, everything it had comes back (free memory within
//! 1 MiB of where it started), and the system still runs programs.
#![no_std]
#![no_main]

use vireo_rt::sys::{self, status};
use vireo_rt::{println, process};

vireo_rt::entry!(main);

const SLACK: u64 = 1 << 20;

fn main() -> i32 {
    match run() {
        Ok(()) => {
            println!("test-oom: ok");
            0
        }
        Err(why) => {
            println!("test-oom: FAILED: {why}");
            1
        }
    }
}

fn free_memory() -> Result<u64, &'static str> {
    sys::sysinfo().map(|i| i.free_memory).map_err(|e| e.name())
}

fn run() -> Result<(), &'static str> {
    // One child first, so kernel caches a spawn grows are not counted as lost.
    if process::run("/bin/hello", &[]).map_err(|e| e.name())? != 0 {
        return Err("/bin/hello failed before the bomb");
    }
    let before = free_memory()?;
    let s = process::run("/bin/alloc-bomb", &[]).map_err(|e| e.name())?;
    if s != status::OUT_OF_MEMORY {
        println!("test-oom: alloc-bomb ended with {s:#x}, want {:#x}", status::OUT_OF_MEMORY);
        return Err("alloc-bomb was not killed for running out of memory");
    }
    let after = free_memory()?;
    println!("test-oom: free memory before {} KiB, after the bomb {} KiB", before >> 10, after >> 10);
    if before.saturating_sub(after) > SLACK {
        return Err("memory not given back after the OOM kill");
    }
    match process::run("/bin/hello", &[]) {
        Ok(0) => Ok(()),
        Ok(_) => Err("/bin/hello failed after the bomb"),
        Err(e) => {
            println!("test-oom: /bin/hello after the bomb: {}", e.name());
            Err("cannot spawn /bin/hello after the bomb")
        }
    }
}
