//! `/test/vm`: regression tests for address-space teardown and page tables
//! (issue 9). `/test/vm MODE [N]`, MODE one of:
//! - `exit-race N`: N rounds of spawning a child whose three threads spin on
//!   `Yield` while its main thread calls `Exit(0)`. Tearing the address space
//!   down while a sibling still ran on its page tables used to reset the VM
//!   on 4 vCPUs within seconds.
//! - `tables N`: N rounds of mapping a large lazy region above a growing pad,
//!   touching one page per 2 MiB (each touch needs a page table of its own)
//!   and unmapping it. Free memory must come back to where it was after
//!   every round: `Unmap` frees the page tables it empties.
//! - `tables-oom`: a child touches spread pages until memory runs out; it
//!   alone is killed for it (page tables count against user memory, never
//!   the kernel's reserve), and the system still runs programs.
//! - `last-page`: the page below the canonical boundary can never be user
//!   memory: `Map` never returns it, `Protect`/`Unmap` on it are refused.
//! - `protect`: `Protect` to 0 makes populated pages inaccessible to the
//!   program (a read kills it) and to the kernel (`Fault`), and back to
//!   READ restores the data; `Protect` of a range without mappings is
//!   `Invalid`, as `Unmap` is (found by the fuzzer).
//! - `thread-limit`: a process cannot start more than `MAX_THREADS`
//!   threads (each takes a kernel stack slot and frames); the next is
//!   `Limit`, and the process carries on.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use vireo_rt::pv_abi::syscall::{layout, Error};
use vireo_rt::sys::{self, prot, status};
use vireo_rt::{println, process, thread};

vireo_rt::entry!(main);

use vireo_rt::pv_abi::PAGE_SIZE as PAGE;
const TWO_MIB: u64 = 2 << 20;
/// Pages touched per `tables` round: each lands in its own page table.
const SPREAD_TOUCHES: u64 = 256;
/// Free memory may differ by this much between rounds (kernel heap growth).
const SLACK: u64 = 256 << 10;

fn main() -> i32 {
    let args = process::args();
    let mode = args.get(0).unwrap_or("");
    let n: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(100);
    let result = match mode {
        "exit-race" => exit_race(n),
        "exit-race-child" => exit_race_child(),
        "tables" => tables(n),
        "tables-oom" => tables_oom(),
        "tables-oom-child" => touch_spread_forever(),
        "last-page" => last_page(),
        "protect" => protect(),
        "protect-none-child" => protect_none_child(),
        "thread-limit" => thread_limit(),
        _ => Err("usage: /test/vm exit-race|tables|tables-oom|last-page|protect|thread-limit [N]"),
    };
    match result {
        Ok(()) => {
            println!("test-vm {mode}: ok");
            0
        }
        Err(why) => {
            println!("test-vm {mode}: FAILED: {why}");
            1
        }
    }
}

fn free_memory() -> Result<u64, &'static str> {
    sys::sysinfo().map(|i| i.free_memory).map_err(|e| e.name())
}

fn exit_race(rounds: u64) -> Result<(), &'static str> {
    for i in 0..rounds {
        match process::run("/test/vm", &["exit-race-child"]) {
            Ok(0) => {}
            Ok(s) => {
                println!("test-vm: round {i}: child ended with {s:#x}");
                return Err("a child did not exit with 0");
            }
            Err(e) => {
                println!("test-vm: round {i}: spawn: {}", e.name());
                return Err("spawn failed");
            }
        }
        if i % 1000 == 999 {
            println!("test-vm: exit-race {} rounds", i + 1);
        }
    }
    Ok(())
}

/// Three threads that never stop yielding, then the whole process exits
/// while they run.
fn exit_race_child() -> Result<(), &'static str> {
    for _ in 0..3 {
        thread::spawn(|| loop {
            let _ = sys::yield_now();
        })
        .map_err(|_| "thread spawn failed")?;
    }
    let _ = sys::yield_now();
    sys::exit(0)
}

/// Touches one page per 2 MiB of a fresh lazy mapping.
fn touch_spread(base: u64, touches: u64) {
    for k in 0..touches {
        // SAFETY: the page lies in a read-write mapping this program owns.
        unsafe { ((base + k * TWO_MIB) as *mut u8).write_volatile(1) };
    }
}

fn tables(rounds: u64) -> Result<(), &'static str> {
    let len = SPREAD_TOUCHES * TWO_MIB;
    let rw = prot::READ | prot::WRITE;
    // One round first, so the kernel heap's growth is not counted as lost.
    let first = sys::map(0, len, rw).map_err(|e| e.name())?;
    touch_spread(first, SPREAD_TOUCHES);
    // SAFETY: nothing refers to this mapping any more.
    unsafe { sys::unmap(first, len) }.map_err(|e| e.name())?;
    let before = free_memory()?;
    let mut pads = Vec::new();
    for i in 0..rounds {
        // The pad (never touched, so it costs no memory) pushes each round's
        // region to fresh addresses, which need fresh page tables.
        let pad = sys::map(0, (i + 1) * (1 << 30), prot::READ).map_err(|e| e.name())?;
        pads.push(pad);
        let base = sys::map(0, len, rw).map_err(|e| e.name())?;
        touch_spread(base, SPREAD_TOUCHES);
        // SAFETY: as above.
        unsafe { sys::unmap(base, len) }.map_err(|e| e.name())?;
        let now = free_memory()?;
        if before.saturating_sub(now) > SLACK {
            println!("test-vm: round {i}: free memory {} KiB, was {} KiB", now >> 10, before >> 10);
            return Err("page tables emptied by Unmap were not freed");
        }
    }
    println!(
        "test-vm: tables: {rounds} rounds of {SPREAD_TOUCHES} spread pages, free memory {} KiB before, {} KiB after",
        before >> 10,
        free_memory()? >> 10
    );
    Ok(())
}

fn touch_spread_forever() -> Result<(), &'static str> {
    let len = 1 << 40;
    let base = sys::map(0, len, prot::READ | prot::WRITE).map_err(|e| e.name())?;
    touch_spread(base, len / TWO_MIB);
    Err("touched 1 TiB of spread pages without running out of memory")
}

fn oom_child() -> Result<(), &'static str> {
    let s = process::run("/test/vm", &["tables-oom-child"]).map_err(|e| e.name())?;
    if s != status::OUT_OF_MEMORY {
        println!("test-vm: child ended with {s:#x}, want {:#x}", status::OUT_OF_MEMORY);
        return Err("the table-hungry child was not killed for running out of memory");
    }
    Ok(())
}

fn tables_oom() -> Result<(), &'static str> {
    // A first child grows the kernel heap (its region's page list) once;
    // the heap keeps that, so memory is compared across the second child.
    oom_child()?;
    let before = free_memory()?;
    oom_child()?;
    let after = free_memory()?;
    println!("test-vm: free memory before {} KiB, after the child {} KiB", before >> 10, after >> 10);
    if before.saturating_sub(after) > SLACK {
        return Err("memory not given back after the OOM kill");
    }
    match process::run("/bin/hello", &[]) {
        Ok(0) => Ok(()),
        _ => Err("cannot run /bin/hello after the child ran out of memory"),
    }
}

fn last_page() -> Result<(), &'static str> {
    let last = layout::LOWER_HALF_END - PAGE;
    if layout::USER_END != last {
        return Err("USER_END is not one page below the canonical boundary");
    }
    // The hint is advisory: whatever Map picks must lie below USER_END.
    for p in [prot::READ | prot::EXEC, prot::READ | prot::WRITE] {
        let a = sys::map(last, PAGE, p).map_err(|e| e.name())?;
        if a + PAGE > layout::USER_END {
            return Err("Map placed memory in the last lower-half page");
        }
        // SAFETY: just mapped, unused.
        unsafe { sys::unmap(a, PAGE) }.map_err(|e| e.name())?;
    }
    // SAFETY: the range is not user memory; the kernel must refuse it.
    let r = unsafe { sys::protect(last, PAGE, prot::READ | prot::EXEC) };
    if r != Err(Error::Invalid) {
        return Err("Protect accepted the last lower-half page");
    }
    // SAFETY: as above.
    if unsafe { sys::unmap(last, PAGE) } != Err(Error::Invalid) {
        return Err("Unmap accepted the last lower-half page");
    }
    Ok(())
}

/// Maps a page, writes to it and takes every access away from it.
fn none_page() -> Result<u64, &'static str> {
    let a = sys::map(0, PAGE, prot::READ | prot::WRITE).map_err(|e| e.name())?;
    // SAFETY: just mapped read-write for us.
    unsafe { (a as *mut u64).write_volatile(0x5eed) };
    // SAFETY: nothing else uses the page.
    unsafe { sys::protect(a, PAGE, 0) }.map_err(|e| e.name())?;
    Ok(a)
}

fn protect_none_child() -> Result<(), &'static str> {
    let a = none_page()?;
    // SAFETY: deliberately reads a page without access: the kernel must kill us.
    let v = unsafe { (a as *const u64).read_volatile() };
    println!("test-vm: read {v:#x} from a page protected to 0");
    Err("a page protected to 0 was still readable")
}

fn protect() -> Result<(), &'static str> {
    let s = process::run("/test/vm", &["protect-none-child"]).map_err(|e| e.name())?;
    if s != status::killed_by_exception(14) {
        println!("test-vm: protect-none child ended with {s:#x}");
        return Err("reading a page protected to 0 did not end in a page fault");
    }
    let a = none_page()?;
    // SAFETY: the kernel only reads the range and must refuse it.
    let bytes = unsafe { core::slice::from_raw_parts(a as *const u8, 8) };
    if sys::console_write(bytes) != Err(Error::Fault) {
        return Err("the kernel read a page protected to 0 for the program");
    }
    // SAFETY: the page is ours; READ again.
    unsafe { sys::protect(a, PAGE, prot::READ) }.map_err(|e| e.name())?;
    // SAFETY: readable again.
    if unsafe { (a as *const u64).read_volatile() } != 0x5eed {
        return Err("data lost across Protect to 0 and back");
    }
    let hole = sys::map(0, 2 * PAGE, prot::READ).map_err(|e| e.name())?;
    // SAFETY: unmapping our own fresh mapping.
    unsafe { sys::unmap(hole, 2 * PAGE) }.map_err(|e| e.name())?;
    // SAFETY: nothing is mapped there; the kernel must refuse.
    if unsafe { sys::protect(hole, PAGE, prot::READ) } != Err(Error::Invalid) {
        return Err("Protect of a range without mappings was not Invalid");
    }
    Ok(())
}

fn thread_limit() -> Result<(), &'static str> {
    use core::sync::atomic::{AtomicU32, Ordering};
    static GO: AtomicU32 = AtomicU32::new(0);
    let max = vireo_rt::pv_abi::syscall::MAX_THREADS;
    let mut threads = Vec::new();
    let refused = loop {
        let t = thread::spawn(|| {
            while GO.load(Ordering::Acquire) == 0 {
                let _ = sys::futex_wait(&GO, 0, sys::FOREVER);
            }
        });
        match t {
            Ok(t) => threads.push(t),
            Err(e) => break e,
        }
        if threads.len() > max {
            break Error::Invalid;
        }
    };
    // The main thread counts: `max` live threads in all.
    println!("test-vm: thread-limit: {} threads started, then {}", threads.len(), refused.name());
    GO.store(1, Ordering::Release);
    let _ = sys::futex_wake(&GO, u64::MAX);
    for t in threads.drain(..) {
        t.join().map_err(|e| e.name())?;
    }
    if refused != Error::Limit {
        return Err("the thread past the limit was not refused with Limit");
    }
    match process::run("/bin/hello", &[]) {
        Ok(0) => Ok(()),
        _ => Err("cannot run /bin/hello after hitting the thread limit"),
    }
}
