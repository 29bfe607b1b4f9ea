//! The clock page every process maps read-only at
//! `pv_abi::clock::PAGE_VADDR` (layout there): the mode and TSC scale the
//! kernel chose, and the kvmclock areas, which the host keeps current in
//! place, so a program reads the time as `now_ns` does, without a system
//! call. The page itself (`ClockPage`) is defined with the kvmclock areas
//! it holds, in `kvmclock.rs`; it holds nothing else: it is shown to every
//! process.
use super::kvmclock::{ClockPage, PAGE};
use crate::arch::x86_64::layout::KERNEL_VMA;
use core::sync::atomic::Ordering;

/// Tells programs how to read the clock (once, at boot, before any
/// process exists).
pub fn publish(mode: u32, mult: u64) {
    PAGE.mult.store(mult, Ordering::Relaxed);
    PAGE.mode.store(mode, Ordering::Release);
}

/// The page's physical address (statics live at `KERNEL_VMA + phys`).
pub fn paddr() -> u64 {
    (&PAGE as *const ClockPage as u64).wrapping_sub(KERNEL_VMA)
}
