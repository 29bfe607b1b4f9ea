//! The clock page every process maps read-only at
//! `pv_abi::clock::PAGE_VADDR` (layout there): the mode and TSC scale the
//! kernel chose, and the kvmclock areas, which the host keeps current in
//! place, so a program reads the time as `now_ns` does, without a system
//! call. The page holds nothing else: it is shown to every process.
use super::kvmclock::PvclockArea;
use crate::arch::x86_64::layout::KERNEL_VMA;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use pv_abi::clock;
use pv_abi::MAX_CPUS;

#[repr(C, align(4096))]
pub struct ClockPage {
    mode: AtomicU32,
    _pad: u32,
    mult: AtomicU64,
    _reserved: [u64; 6],
    /// One pvclock area per vCPU (kernel CPU index); the boot CPU's first.
    pub areas: [PvclockArea; MAX_CPUS],
}

const _: () = assert!(core::mem::offset_of!(ClockPage, mode) == clock::MODE_AT);
const _: () = assert!(core::mem::offset_of!(ClockPage, mult) == clock::TSC_MULT_AT);
const _: () = assert!(core::mem::offset_of!(ClockPage, areas) == clock::PVCLOCK_AT);
const _: () = assert!(core::mem::size_of::<ClockPage>() == 4096);

pub static PAGE: ClockPage = ClockPage {
    mode: AtomicU32::new(clock::MODE_SYSCALL),
    _pad: 0,
    mult: AtomicU64::new(0),
    _reserved: [0; 6],
    areas: [const { PvclockArea::new() }; MAX_CPUS],
};

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
