//! The modern virtio-pci transport (virtio 1.2 section 4.1): the virtio
//! vendor capabilities (common cfg, notify, ISR, device cfg) found in
//! config space, and MSI-X, the only interrupt Cloud Hypervisor offers.
//! One MSI-X table entry (0) serves both the config-change and the queue
//! interrupts: the kernel gives us the message (`IrqOpen(MSI)`), we write
//! it into the table and point `msix_config` and each queue's vector at it.
use crate::error::{Error, Result};
use crate::regs::Regs;
use crate::transport::{QueueAddrs, Transport};

/// PCI config space, as the kernel's `ConfigRead`/`ConfigWrite` give it.
pub trait ConfigSpace {
    fn read(&self, off: u16, width: u8) -> Result<u32>;
    fn write(&mut self, off: u16, width: u8, v: u32) -> Result<()>;
}

pub const CAP_COMMON: u8 = 1;
pub const CAP_NOTIFY: u8 = 2;
pub const CAP_ISR: u8 = 3;
pub const CAP_DEVICE: u8 = 4;

/// Where a virtio structure lives: BAR, offset and length in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapRef {
    pub bar: u8,
    pub offset: u32,
    pub len: u32,
}

/// The four structures, and the notify offset multiplier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VirtioCaps {
    pub common: CapRef,
    pub notify: CapRef,
    pub notify_mult: u32,
    pub isr: CapRef,
    pub device: CapRef,
}

/// Walks the capability list (bounded: a looping list ends the walk) and
/// returns the first virtio capability of each type.
pub fn find_caps<C: ConfigSpace + ?Sized>(cfg: &C) -> Result<VirtioCaps> {
    let mut found: [Option<(CapRef, u32)>; 5] = [None; 5];
    let mut at = cfg.read(0x34, 1)? & 0xfc;
    for _ in 0..48 {
        if at < 0x40 {
            break;
        }
        let head = cfg.read(at as u16, 4)?;
        let kind = (head >> 24) as u8;
        if head as u8 == 0x09 && (1..=4).contains(&kind) && found[kind as usize].is_none() {
            let bar = cfg.read(at as u16 + 4, 1)? as u8;
            let offset = cfg.read(at as u16 + 8, 4)?;
            let len = cfg.read(at as u16 + 12, 4)?;
            let extra = if kind == CAP_NOTIFY { cfg.read(at as u16 + 16, 4)? } else { 0 };
            if bar <= 5 {
                found[kind as usize] = Some((CapRef { bar, offset, len }, extra));
            }
        }
        at = (head >> 8) & 0xfc;
    }
    let get = |k: u8| found[k as usize].ok_or(Error::MissingCapability(k));
    let (notify, notify_mult) = get(CAP_NOTIFY)?;
    Ok(VirtioCaps { common: get(CAP_COMMON)?.0, notify, notify_mult, isr: get(CAP_ISR)?.0, device: get(CAP_DEVICE)?.0 })
}

/// The MSI-X table's (BAR, offset) from the MSI-X capability at `cap`.
pub fn msix_table<C: ConfigSpace + ?Sized>(cfg: &C, cap: u16) -> Result<(u8, u32)> {
    let t = cfg.read(cap + 4, 4)?;
    Ok(((t & 7) as u8, t & !7))
}

/// Writes MSI-X table entry `entry` (unmasked), then enables MSI-X and bus
/// mastering in config space.
pub fn enable_msix<C: ConfigSpace + ?Sized, R: Regs>(
    cfg: &mut C,
    cap: u16,
    table: &mut R,
    entry: u16,
    address: u64,
    data: u32,
) -> Result<()> {
    let e = u64::from(entry) * 16;
    if e + 16 > table.len() {
        return Err(Error::NoMsix);
    }
    table.write32(e, address as u32);
    table.write32(e + 4, (address >> 32) as u32);
    table.write32(e + 8, data);
    table.write32(e + 12, 0);
    let ctrl = cfg.read(cap + 2, 2)?;
    cfg.write(cap + 2, 2, (ctrl | 1 << 15) & !(1 << 14))?;
    let cmd = cfg.read(4, 2)?;
    cfg.write(4, 2, cmd | 0b110)
}

/// Offsets in `struct virtio_pci_common_cfg` (virtio 1.2, 4.1.4.3), shared
/// with drivers that drive a device by hand (`tests/test-devices`).
pub mod common {
    pub const DEVICE_FEATURE_SELECT: u64 = 0x00;
    pub const DEVICE_FEATURE: u64 = 0x04;
    pub const DRIVER_FEATURE_SELECT: u64 = 0x08;
    pub const DRIVER_FEATURE: u64 = 0x0c;
    pub const MSIX_CONFIG: u64 = 0x10;
    pub const DEVICE_STATUS: u64 = 0x14;
    pub const CONFIG_GENERATION: u64 = 0x15;
    pub const QUEUE_SELECT: u64 = 0x16;
    pub const QUEUE_SIZE: u64 = 0x18;
    pub const QUEUE_MSIX_VECTOR: u64 = 0x1a;
    pub const QUEUE_ENABLE: u64 = 0x1c;
    pub const QUEUE_NOTIFY_OFF: u64 = 0x1e;
    pub const QUEUE_DESC: u64 = 0x20;
    pub const QUEUE_DRIVER: u64 = 0x28;
    pub const QUEUE_DEVICE: u64 = 0x30;
}
use common::*;
const NO_VECTOR: u16 = 0xffff;
/// Queues we remember a notify address for.
const MAX_QUEUES: usize = 8;

pub struct PciTransport<R> {
    device_type: u32,
    common: R,
    notify: R,
    notify_mult: u32,
    isr: R,
    device: R,
    /// MSI-X table entry for every interrupt (None: no MSI-X).
    vector: Option<u16>,
    notify_at: [u64; MAX_QUEUES],
}

impl<R: Regs> PciTransport<R> {
    /// `pci_device` is the PCI device ID: 0x1040 + type (modern), or the
    /// transitional IDs 0x1000.. (0x1001 is block).
    pub fn new(
        pci_device: u16,
        common: R,
        notify: R,
        notify_mult: u32,
        isr: R,
        device: R,
        vector: Option<u16>,
    ) -> Result<Self> {
        let device_type = match pci_device {
            0x1041..=0x107f => u32::from(pci_device - 0x1040),
            0x1000 => 1,
            0x1001 => 2,
            0x1002 => 5,
            0x1005 => 4,
            other => return Err(Error::WrongDevice(u32::from(other))),
        };
        if common.len() < 0x38 || isr.is_empty() || notify.len() < 2 {
            return Err(Error::MissingCapability(CAP_COMMON));
        }
        Ok(PciTransport {
            device_type,
            common,
            notify,
            notify_mult,
            isr,
            device,
            vector,
            notify_at: [u64::MAX; MAX_QUEUES],
        })
    }
}

impl<R: Regs> Transport for PciTransport<R> {
    fn device_type(&self) -> u32 {
        self.device_type
    }
    fn reset(&mut self) -> Result<()> {
        self.common.write8(DEVICE_STATUS, 0);
        if (0..1000).any(|_| self.common.read8(DEVICE_STATUS) == 0) {
            Ok(())
        } else {
            Err(Error::DeviceFailed)
        }
    }
    fn status(&self) -> u8 {
        self.common.read8(DEVICE_STATUS)
    }
    fn set_status(&mut self, s: u8) {
        self.common.write8(DEVICE_STATUS, s);
    }
    fn device_features(&mut self) -> u64 {
        self.common.write32(DEVICE_FEATURE_SELECT, 1);
        let high = self.common.read32(DEVICE_FEATURE);
        self.common.write32(DEVICE_FEATURE_SELECT, 0);
        u64::from(high) << 32 | u64::from(self.common.read32(DEVICE_FEATURE))
    }
    fn set_driver_features(&mut self, f: u64) {
        self.common.write32(DRIVER_FEATURE_SELECT, 1);
        self.common.write32(DRIVER_FEATURE, (f >> 32) as u32);
        self.common.write32(DRIVER_FEATURE_SELECT, 0);
        self.common.write32(DRIVER_FEATURE, f as u32);
    }
    fn queue_max(&mut self, q: u16) -> u16 {
        self.common.write16(QUEUE_SELECT, q);
        self.common.read16(QUEUE_SIZE)
    }
    fn queue_setup(&mut self, q: u16, size: u16, a: QueueAddrs) -> Result<()> {
        if let Some(v) = self.vector {
            // The device answers NO_VECTOR when it cannot take the vector.
            self.common.write16(MSIX_CONFIG, v);
            if self.common.read16(MSIX_CONFIG) == NO_VECTOR {
                return Err(Error::NoMsix);
            }
        }
        self.common.write16(QUEUE_SELECT, q);
        self.common.write16(QUEUE_SIZE, size);
        if let Some(v) = self.vector {
            self.common.write16(QUEUE_MSIX_VECTOR, v);
            if self.common.read16(QUEUE_MSIX_VECTOR) == NO_VECTOR {
                return Err(Error::NoMsix);
            }
        }
        self.common.write64(QUEUE_DESC, a.desc);
        self.common.write64(QUEUE_DRIVER, a.avail);
        self.common.write64(QUEUE_DEVICE, a.used);
        let at = u64::from(self.common.read16(QUEUE_NOTIFY_OFF)) * u64::from(self.notify_mult);
        if at + 2 > self.notify.len() || usize::from(q) >= MAX_QUEUES {
            return Err(Error::MissingCapability(CAP_NOTIFY));
        }
        self.notify_at[usize::from(q)] = at;
        self.common.write16(QUEUE_ENABLE, 1);
        Ok(())
    }
    fn notify(&mut self, q: u16) {
        // A queue never set up has no notify address: nothing to tell.
        if let Some(&at) = self.notify_at.get(usize::from(q)).filter(|&&at| at != u64::MAX) {
            self.notify.write16(at, q);
        }
    }
    fn ack_interrupt(&mut self) -> u8 {
        // Reading the ISR clears it; with MSI-X it is still the place
        // that says whether config changed.
        self.isr.read8(0)
    }
    fn config_generation(&self) -> u32 {
        u32::from(self.common.read8(CONFIG_GENERATION))
    }
    fn config_len(&self) -> u64 {
        self.device.len()
    }
    fn config_read32(&self, off: u64) -> u32 {
        self.device.read32(off)
    }
}

#[cfg(test)]
mod tests;
