//! The wall clock for file times: Unix time at boot (from the kernel, once)
//! carried forward by the monotonic clock.
//!
//! Every request samples it, and a clock read is a system call, as costly
//! as a quarter of a whole 4 KiB read. File times need no finer clock than
//! Linux's coarse one (a few milliseconds), so a reading is reused while the
//! TSC says fewer than [`REUSE_TICKS`] passed since it was taken.

use core::sync::atomic::{AtomicU64, Ordering};
use vireo_rt::sys;

/// About 1-4 ms at the TSC rates of today's hosts.
const REUSE_TICKS: u64 = 1 << 22;

/// Unix ns at monotonic 0; 0 until first read (or without a wall clock).
static WALL_AT_ZERO: AtomicU64 = AtomicU64::new(0);
/// The last reading and the TSC when it was taken (0: none yet). Two
/// threads racing here at worst return a reading a few ms older.
static LAST_NS: AtomicU64 = AtomicU64::new(0);
static LAST_TSC: AtomicU64 = AtomicU64::new(0);

fn tsc() -> u64 {
    // SAFETY: RDTSC has no preconditions; user mode may execute it.
    unsafe { core::arch::x86_64::_rdtsc() }
}

pub fn now_ns() -> u64 {
    let t = tsc();
    let last = LAST_TSC.load(Ordering::Acquire);
    if last != 0 && t.wrapping_sub(last) < REUSE_TICKS {
        return LAST_NS.load(Ordering::Relaxed);
    }
    let mut at_zero = WALL_AT_ZERO.load(Ordering::Relaxed);
    if at_zero == 0 {
        if let Ok(info) = sys::sysinfo() {
            at_zero = info.wall_ns.saturating_sub(info.boot_ns);
            WALL_AT_ZERO.store(at_zero, Ordering::Relaxed);
        }
    }
    let ns = at_zero.saturating_add(sys::now_ns());
    LAST_NS.store(ns, Ordering::Relaxed);
    LAST_TSC.store(t, Ordering::Release);
    ns
}
