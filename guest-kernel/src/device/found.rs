//! A device the kernel found: what drivers are told about it and how the
//! kernel reaches its registers itself. A leaf, so the bus scanners that
//! build these need nothing from the device layer above them.
use core::sync::atomic::{AtomicU32, Ordering};
use pv_abi::syscall::device::DeviceInfo;

/// How the kernel reaches a device's registers itself (to reset it).
pub enum Access {
    /// Its 4 KiB configuration space, mapped uncached.
    Pci { config: crate::arch::x86_64::mmio::Mmio },
    /// Its register window, mapped uncached.
    VirtioMmio { regs: crate::arch::x86_64::mmio::Mmio },
}

pub struct Device {
    pub info: DeviceInfo,
    pub access: Access,
    /// Pid of the process that opened it (0 = not open).
    pub(super) opened: AtomicU32,
}

impl Device {
    pub fn opener(&self) -> u32 {
        self.opened.load(Ordering::Acquire)
    }
}
