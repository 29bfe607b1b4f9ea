//! `/bin/alloc-bomb`: maps memory in 16 MiB chunks and touches every page
//! until the kernel kills it for running out of memory
//! (`status::OUT_OF_MEMORY`). Where `Map` itself refuses with NoMemory it
//! falls back to smaller chunks and keeps touching, so the fault that kills
//! it has to come. It never exits normally; if it ever stops, it exits 1.
#![no_std]
#![no_main]

use vireo_rt::sys::{self, prot};
use vireo_rt::{println, Error};

vireo_rt::entry!(main);

use vireo_rt::pv_abi::PAGE_SIZE as PAGE;
const CHUNK: u64 = 16 << 20;

fn main() -> i32 {
    let mut chunk = CHUNK;
    let mut total: u64 = 0;
    let mut next_report: u64 = 0;
    loop {
        match sys::map(0, chunk, prot::READ | prot::WRITE) {
            Ok(base) => {
                let mut a = base;
                while a < base + chunk {
                    // SAFETY: `a` is inside the mapping we just made, readable
                    // and writable; each write populates one page.
                    unsafe { (a as *mut u8).write_volatile(1) };
                    a += PAGE;
                }
                total += chunk;
                if total >= next_report {
                    println!("alloc-bomb: {} MiB touched", total >> 20);
                    next_report = total + (64 << 20);
                }
            }
            Err(Error::NoMemory) if chunk > PAGE => chunk /= 2,
            Err(Error::NoMemory) => {
                // Even one page cannot be mapped, yet nothing faulted: give
                // the kernel a chance to run others and try again.
                let _ = sys::yield_now();
            }
            Err(e) => {
                println!("alloc-bomb: map({chunk}) failed after {} MiB: {}", total >> 20, e.name());
                return 1;
            }
        }
    }
}
