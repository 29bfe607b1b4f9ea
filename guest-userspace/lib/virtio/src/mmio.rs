//! The virtio-mmio transport, version 2 only (QEMU microvm with
//! `force-legacy=false`, Firecracker): registers per the virtio 1.2 spec
//! section 4.2.2, reached through a [`Regs`] window.
use crate::error::{Error, Result};
use crate::regs::Regs;
use crate::transport::{QueueAddrs, Transport};

/// Register offsets (virtio 1.2, 4.2.2), shared with drivers that drive a
/// device by hand (`tests/test-devices`).
pub mod reg {
    pub const MAGIC: u64 = 0x000;
    pub const VERSION: u64 = 0x004;
    pub const DEVICE_ID: u64 = 0x008;
    pub const DEVICE_FEATURES: u64 = 0x010;
    pub const DEVICE_FEATURES_SEL: u64 = 0x014;
    pub const DRIVER_FEATURES: u64 = 0x020;
    pub const DRIVER_FEATURES_SEL: u64 = 0x024;
    pub const QUEUE_SEL: u64 = 0x030;
    pub const QUEUE_NUM_MAX: u64 = 0x034;
    pub const QUEUE_NUM: u64 = 0x038;
    pub const QUEUE_READY: u64 = 0x044;
    pub const QUEUE_NOTIFY: u64 = 0x050;
    pub const INTERRUPT_STATUS: u64 = 0x060;
    pub const INTERRUPT_ACK: u64 = 0x064;
    pub const STATUS: u64 = 0x070;
    pub const QUEUE_DESC: u64 = 0x080;
    pub const QUEUE_DRIVER: u64 = 0x090;
    pub const QUEUE_DEVICE: u64 = 0x0a0;
    pub const CONFIG_GENERATION: u64 = 0x0fc;
    pub const CONFIG: u64 = 0x100;
}
use reg::*;

/// "virt", little-endian.
const MAGIC_VALUE: u32 = 0x7472_6976;

pub struct MmioTransport<R> {
    regs: R,
    device_type: u32,
}

impl<R: Regs> MmioTransport<R> {
    /// Checks the window holds a modern virtio device (magic, version 2,
    /// a device type other than 0, which means "no device here").
    pub fn new(regs: R) -> Result<Self> {
        if regs.len() < CONFIG || regs.read32(MAGIC) != MAGIC_VALUE {
            return Err(Error::NotVirtio);
        }
        let version = regs.read32(VERSION);
        if version != 2 {
            return Err(Error::UnsupportedVersion(version));
        }
        let device_type = regs.read32(DEVICE_ID);
        if device_type == 0 {
            return Err(Error::WrongDevice(0));
        }
        Ok(MmioTransport { regs, device_type })
    }
}

impl<R: Regs> Transport for MmioTransport<R> {
    fn device_type(&self) -> u32 {
        self.device_type
    }
    fn reset(&mut self) -> Result<()> {
        self.regs.write32(STATUS, 0);
        if (0..1000).any(|_| self.regs.read32(STATUS) == 0) {
            Ok(())
        } else {
            Err(Error::DeviceFailed)
        }
    }
    fn status(&self) -> u8 {
        self.regs.read32(STATUS) as u8
    }
    fn set_status(&mut self, s: u8) {
        self.regs.write32(STATUS, u32::from(s));
    }
    fn device_features(&mut self) -> u64 {
        self.regs.write32(DEVICE_FEATURES_SEL, 1);
        let high = self.regs.read32(DEVICE_FEATURES);
        self.regs.write32(DEVICE_FEATURES_SEL, 0);
        u64::from(high) << 32 | u64::from(self.regs.read32(DEVICE_FEATURES))
    }
    fn set_driver_features(&mut self, f: u64) {
        self.regs.write32(DRIVER_FEATURES_SEL, 1);
        self.regs.write32(DRIVER_FEATURES, (f >> 32) as u32);
        self.regs.write32(DRIVER_FEATURES_SEL, 0);
        self.regs.write32(DRIVER_FEATURES, f as u32);
    }
    fn queue_max(&mut self, q: u16) -> u16 {
        self.regs.write32(QUEUE_SEL, u32::from(q));
        // A size beyond u16 cannot be a split queue's; report it as the
        // largest so the caller's own bound applies.
        self.regs.read32(QUEUE_NUM_MAX).min(u32::from(u16::MAX)) as u16
    }
    fn queue_setup(&mut self, q: u16, size: u16, a: QueueAddrs) -> Result<()> {
        self.regs.write32(QUEUE_SEL, u32::from(q));
        if self.regs.read32(QUEUE_READY) != 0 {
            return Err(Error::DeviceFailed);
        }
        self.regs.write32(QUEUE_NUM, u32::from(size));
        self.regs.write64(QUEUE_DESC, a.desc);
        self.regs.write64(QUEUE_DRIVER, a.avail);
        self.regs.write64(QUEUE_DEVICE, a.used);
        self.regs.write32(QUEUE_READY, 1);
        Ok(())
    }
    fn notify(&mut self, q: u16) {
        self.regs.write32(QUEUE_NOTIFY, u32::from(q));
    }
    fn ack_interrupt(&mut self) -> u8 {
        let isr = self.regs.read32(INTERRUPT_STATUS);
        self.regs.write32(INTERRUPT_ACK, isr);
        isr as u8
    }
    fn config_generation(&self) -> u32 {
        self.regs.read32(CONFIG_GENERATION)
    }
    fn config_len(&self) -> u64 {
        self.regs.len() - CONFIG
    }
    fn config_read32(&self, off: u64) -> u32 {
        self.regs.read32(CONFIG + off)
    }
}

#[cfg(test)]
mod tests;
