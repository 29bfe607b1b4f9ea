//! The transports over the kernel's device calls (docs/abi.md, "Devices
//! for user-space drivers"): find a virtio device, open it, map its
//! register windows (`DeviceMap`), get DMA memory (`DmaAlloc`) and its
//! interrupt (`IrqOpen`: the line for virtio-mmio, an MSI vector written
//! into MSI-X entry 0 for virtio-pci).
use crate::dma::DmaRegion;
use crate::error::{Error, Result};
use crate::mmio::MmioTransport;
use crate::pci::{self, ConfigSpace, PciTransport};
use crate::regs::MmioRegs;
use crate::transport::Either;
use vireo_rt::device::{self as dev, DeviceInfo, KIND_PCI, KIND_VIRTIO_MMIO};

const VIRTIO_VENDOR: u16 = 0x1af4;

pub type AnyTransport = Either<MmioTransport<MmioRegs>, PciTransport<MmioRegs>>;

/// PCI config space through `ConfigRead`/`ConfigWrite`.
pub struct KernelConfig(pub u64);

impl ConfigSpace for KernelConfig {
    fn read(&self, off: u16, width: u8) -> Result<u32> {
        Ok(dev::config_read(self.0, u64::from(off), u64::from(width))? as u32)
    }
    fn write(&mut self, off: u16, width: u8, v: u32) -> Result<()> {
        dev::config_write(self.0, u64::from(off), u64::from(width), u64::from(v))?;
        Ok(())
    }
}

/// An interrupt handle.
pub struct Irq(pub u64);

impl Irq {
    /// Waits until the interrupt fires, or [`Error::TimedOut`].
    pub fn wait(&self, timeout_ns: u64) -> Result<()> {
        match dev::wait_many(&[self.0], timeout_ns) {
            Ok(_) => {
                dev::irq_ack(self.0)?;
                Ok(())
            }
            Err(pv_abi::syscall::Error::TimedOut) => Err(Error::TimedOut),
            Err(e) => Err(e.into()),
        }
    }
}

/// An opened virtio device: its handle (closing it resets the device and
/// frees its DMA memory), transport and interrupt.
pub struct Opened {
    pub handle: u64,
    pub transport: AnyTransport,
    pub irq: Irq,
}

/// The virtio device type of `info`, if it is a virtio device.
pub fn virtio_type(info: &DeviceInfo) -> Option<u32> {
    match info.kind {
        KIND_VIRTIO_MMIO if info.device != 0 => Some(u32::from(info.device)),
        KIND_PCI if info.vendor == VIRTIO_VENDOR => match info.device {
            0x1041..=0x107f => Some(u32::from(info.device - 0x1040)),
            0x1000 => Some(1),
            0x1001 => Some(2),
            0x1002 => Some(5),
            0x1005 => Some(4),
            _ => None,
        },
        _ => None,
    }
}

/// The first device of virtio type `ty`: (index, info).
pub fn find(right: u64, ty: u32) -> Option<(u64, DeviceInfo)> {
    let (_, count) = dev::info(right, 0).ok()?;
    (0..count).filter_map(|i| dev::info(right, i).ok().map(|(d, _)| (i, d))).find(|(_, d)| virtio_type(d) == Some(ty))
}

fn map(handle: u64, bar: u8, offset: u32, len: u32) -> Result<MmioRegs> {
    let va = dev::map(handle, u64::from(bar), u64::from(offset), u64::from(len))?;
    // SAFETY: the kernel just mapped `len` bytes of the device's window at `va`; the mapping lives as long as the device handle, which the caller keeps open while it uses the transport.
    Ok(unsafe { MmioRegs::new(va, u64::from(len)) })
}

/// `len` bytes of zeroed DMA memory for device `handle`.
pub fn dma(handle: u64, len: u64) -> Result<DmaRegion> {
    let len = len.div_ceil(4096) * 4096;
    let (va, pa) = dev::dma_alloc(handle, len)?;
    // SAFETY: the kernel mapped `len` fresh, zeroed, page-aligned bytes at `va` (device address `pa`) for this process only, until the device handle is closed.
    Ok(unsafe { DmaRegion::new(va, pa, len) })
}

/// Opens device `index` (described by `info`) with its transport.
pub fn open(right: u64, index: u64, info: &DeviceInfo) -> Result<Opened> {
    attach(dev::open(right, index)?, info)
}

/// Maps the transport of a device already opened (`DeviceOpen` gave
/// `handle`; on failure the handle is closed). Opening first and mapping
/// later lets one process drive two virtio-mmio devices whose windows
/// share a page: the kernel maps such a page only once the process has
/// opened every present device on it.
pub fn attach(handle: u64, info: &DeviceInfo) -> Result<Opened> {
    let opened = match info.kind {
        KIND_VIRTIO_MMIO => open_mmio(handle, info),
        _ => open_pci(handle, info),
    };
    if opened.is_err() {
        let _ = vireo_rt::sys::close(handle);
    }
    opened
}

fn open_mmio(handle: u64, info: &DeviceInfo) -> Result<Opened> {
    let len = u32::try_from(info.bars[0].size).map_err(|_| Error::NotVirtio)?;
    let transport = MmioTransport::new(map(handle, 0, 0, len)?)?;
    let irq = Irq(dev::irq_line(handle)?);
    Ok(Opened { handle, transport: Either::A(transport), irq })
}

fn open_pci(handle: u64, info: &DeviceInfo) -> Result<Opened> {
    if info.msix_entries == 0 || info.msix_cap == 0 {
        return Err(Error::NoMsix);
    }
    let (transport, irq) = pci_transport(handle, info)?;
    Ok(Opened { handle, transport, irq: irq.ok_or(Error::NoMsix)? })
}

/// The PCI transport, with its MSI-X vector 0 as the interrupt when the
/// device has MSI-X.
fn pci_transport(handle: u64, info: &DeviceInfo) -> Result<(AnyTransport, Option<Irq>)> {
    let mut cfg = KernelConfig(handle);
    let caps = pci::find_caps(&cfg)?;
    let regs = |c: pci::CapRef| map(handle, c.bar, c.offset, c.len);
    let (common, notify, isr, device) = (regs(caps.common)?, regs(caps.notify)?, regs(caps.isr)?, regs(caps.device)?);
    let irq = if info.msix_entries == 0 || info.msix_cap == 0 {
        None
    } else {
        let (bar, offset) = pci::msix_table(&cfg, info.msix_cap)?;
        let mut table = map(handle, bar, offset, 16 * u32::from(info.msix_entries))?;
        let (irq, msg) = dev::irq_msi(handle)?;
        pci::enable_msix(&mut cfg, info.msix_cap, &mut table, 0, msg.address, msg.data)?;
        Some(Irq(irq))
    };
    let vector = irq.as_ref().map(|_| 0);
    let t = PciTransport::new(info.device, common, notify, caps.notify_mult, isr, device, vector)?;
    Ok((Either::B(t), irq))
}

/// As [`attach`], for a driver that can do without interrupts: a PCI
/// device without MSI-X (QEMU's virtio-balloon-pci has none; the kernel
/// routes no PCI INTx) comes with `None`, and the driver polls.
pub fn attach_polling(handle: u64, info: &DeviceInfo) -> Result<(AnyTransport, Option<Irq>)> {
    let opened = match info.kind {
        KIND_VIRTIO_MMIO => open_mmio(handle, info).map(|o| (o.transport, Some(o.irq))),
        _ => pci_transport(handle, info),
    };
    if opened.is_err() {
        let _ = vireo_rt::sys::close(handle);
    }
    opened
}
