//! The wall clock for file times: Unix time at boot (from the kernel, once)
//! carried forward by the monotonic clock.

use core::sync::atomic::{AtomicU64, Ordering};
use vireo_rt::sys;

/// Unix ns at monotonic 0; 0 until first read (or without a wall clock).
static WALL_AT_ZERO: AtomicU64 = AtomicU64::new(0);

pub fn now_ns() -> u64 {
    let mut at_zero = WALL_AT_ZERO.load(Ordering::Relaxed);
    if at_zero == 0 {
        if let Ok(info) = sys::sysinfo() {
            at_zero = info.wall_ns.saturating_sub(info.boot_ns);
            WALL_AT_ZERO.store(at_zero, Ordering::Relaxed);
        }
    }
    at_zero.saturating_add(sys::now_ns())
}
