//! Devices for user-space drivers: the kernel finds them (PCI functions
//! through ECAM, virtio-mmio transports from the command line or the DSDT),
//! describes them, and lets a process holding the device right open one,
//! map its register windows uncached, get DMA memory and interrupts. When
//! the last handle to an opened device goes (its process died, or closed
//! it), the device is reset first (virtio: status 0; PCI: bus mastering
//! off) and only then are its DMA frames freed and its vectors released,
//! so a dead driver never leaves a device writing into reused memory.
mod dma;
mod found;
pub mod irq_handle;
pub mod pci;
mod virtio_mmio;

pub use dma::DmaBuffer;
pub use found::{Access, Device};
pub use irq_handle::IrqObject;

use crate::sync::SpinLock;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use pv_abi::syscall::Error;
use spin::Once;

static DEVICES: Once<Vec<Device>> = Once::new();
/// Where to look for devices, recorded at boot.
static SOURCES: Once<(Option<&'static crate::acpi::AcpiInfo>, &'static [u8])> = Once::new();

/// Records where devices are described (the ACPI tables, the command line).
/// They are looked for only when a driver first asks: a boot that runs no
/// driver never pays for walking PCI and the DSDT.
pub fn init(acpi: Option<&'static crate::acpi::AcpiInfo>, cmdline: &'static [u8]) {
    SOURCES.call_once(|| (acpi, cmdline));
}

fn discover() -> Vec<Device> {
    let (acpi, cmdline) = SOURCES.get().copied().unwrap_or((None, &[]));
    let mut found = Vec::new();
    if let Some(a) = acpi {
        for m in a.mcfg() {
            pci::enumerate(m, &mut found);
        }
    }
    virtio_mmio::discover(acpi, cmdline, &mut found);
    kprintln!(
        "devices: {} pci, {} virtio-mmio",
        found.iter().filter(|d| matches!(d.access, Access::Pci { .. })).count(),
        found.iter().filter(|d| matches!(d.access, Access::VirtioMmio { .. })).count()
    );
    found
}

/// Every device, found on the first call.
pub fn all() -> &'static [Device] {
    DEVICES.call_once(discover).as_slice()
}

pub fn get(index: u64) -> Result<&'static Device, Error> {
    usize::try_from(index).ok().and_then(|i| all().get(i)).ok_or(Error::NotFound)
}

/// An opened device: what its driver was given, kept until the device is reset.
pub struct OpenDevice {
    pub device: &'static Device,
    pub dma: SpinLock<Vec<Arc<DmaBuffer>>>,
    pub irqs: SpinLock<Vec<Arc<IrqObject>>>,
}

impl OpenDevice {
    pub fn open(device: &'static Device, pid: u32) -> Result<Arc<Self>, Error> {
        if device.opened.compare_exchange(0, pid, Ordering::AcqRel, Ordering::Acquire).is_err() {
            return Err(Error::Busy);
        }
        Ok(Arc::new(Self { device, dma: SpinLock::new(Vec::new()), irqs: SpinLock::new(Vec::new()) }))
    }

    /// Names this session's free-page-reporting batch (`mm::frame::report::report_take`):
    /// one session per device at a time, and its batch ends with it.
    pub fn report_owner(&self) -> u64 {
        self.device as *const Device as u64
    }
}

impl Drop for OpenDevice {
    fn drop(&mut self) {
        reset(self.device);
        // The device no longer reads the batch it was reporting, if any.
        crate::mm::frame::report::report_abandon(self.report_owner());
        for irq in core::mem::take(&mut *self.irqs.lock()) {
            irq.detach();
        }
        // Only now can the frames go back: the device no longer writes them.
        drop(core::mem::take(&mut *self.dma.lock()));
        self.device.opened.store(0, Ordering::Release);
    }
}

/// Stops a device from reaching memory and raising interrupts.
fn reset(d: &Device) {
    match d.access {
        Access::VirtioMmio { regs } => virtio_mmio::reset(regs),
        Access::Pci { config } => pci::quiesce(config),
    }
}
