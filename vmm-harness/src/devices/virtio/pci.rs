//! The virtio-pci transport (virtio 1.2, 4.1), modern only: a PCI function
//! on bus 0 whose config space the guest reads through ECAM (`PciBus`),
//! with the virtio capabilities and MSI-X, and one 64-bit memory BAR holding
//! the common config, notify, ISR and device config structures and the
//! MSI-X table (`layout::bar`). Interrupts are MSI-X messages sent with
//! KVM_SIGNAL_MSI.
//!
//! PCI config space behaves like hardware: read-only fields ignore writes.
//! Inside the BAR, the core's failures apply, and so does a write to a
//! read-only device-config or common-config field, or of a width other
//! than the field's.

use std::sync::{Arc, Mutex};

use vm_memory::GuestMemoryMmap;

use super::core::{Failure, Transport, VirtioCore, VirtioDevice};
use super::irq::Irq;
use super::layout::{bar, BAR_SIZE};
use super::mmio::read_config;
use super::msix::{Msix, NO_VECTOR, VECTORS};
use super::state::{DeviceState, PciState, TransportState};
use crate::devices::MmioDevice;

const VIRTIO_VENDOR: u16 = 0x1af4;
/// Modern virtio-pci device IDs are 0x1040 + the device type.
const MODERN_BASE: u16 = 0x1040;
const CMD_MEMORY: u16 = 1 << 1;
const CMD_BUS_MASTER: u16 = 1 << 2;
const STATUS_CAP_LIST: u16 = 1 << 4;
const CAP_VENDOR: u8 = 0x09;
const CAP_MSIX: u8 = 0x11;
const MSIX_CAP: usize = 0x84;
const MSIX_ENABLE: u16 = 1 << 15;
const MSIX_MASK: u16 = 1 << 14;

/// Common config field offsets (virtio 1.2, 4.1.4.3) and their widths.
mod common {
    pub const DEVICE_FEATURE_SELECT: u64 = 0x00;
    pub const DEVICE_FEATURE: u64 = 0x04;
    pub const DRIVER_FEATURE_SELECT: u64 = 0x08;
    pub const DRIVER_FEATURE: u64 = 0x0c;
    pub const MSIX_CONFIG: u64 = 0x10;
    pub const NUM_QUEUES: u64 = 0x12;
    pub const DEVICE_STATUS: u64 = 0x14;
    pub const CONFIG_GENERATION: u64 = 0x15;
    pub const QUEUE_SELECT: u64 = 0x16;
    pub const QUEUE_SIZE: u64 = 0x18;
    pub const QUEUE_MSIX_VECTOR: u64 = 0x1a;
    pub const QUEUE_ENABLE: u64 = 0x1c;
    pub const QUEUE_NOTIFY_OFF: u64 = 0x1e;
    pub const QUEUE_DESC: u64 = 0x20;
    pub const QUEUE_DEVICE_HIGH: u64 = 0x34;

    /// The width of the field at `offset`, if one starts there.
    pub fn width(offset: u64) -> Option<usize> {
        match offset {
            0x00 | 0x04 | 0x08 | 0x0c => Some(4),
            0x10 | 0x12 | 0x16 | 0x18 | 0x1a | 0x1c | 0x1e => Some(2),
            0x14 | 0x15 => Some(1),
            0x20..=0x34 if offset.is_multiple_of(4) => Some(4),
            _ => None,
        }
    }
}

/// One virtio-pci function.
pub struct PciTransport<D> {
    pub core: VirtioCore<D>,
    bar: u64,
    command: u16,
    /// BAR 0 low/high read back the size mask after an all-ones write.
    sizing: [bool; 2],
    interrupt_line: u8,
    features_sel: u32,
    driver_features_sel: u32,
    queue_sel: u16,
}

impl<D: VirtioDevice> PciTransport<D> {
    /// `irq` must be an [`Irq::Msix`].
    pub fn new(device: D, slot: u8, bar: u64, mem: GuestMemoryMmap, irq: Irq, queue_max: u16) -> Self {
        let core = VirtioCore::new(device, format!("00:{slot:02x}.0"), mem, irq, queue_max);
        PciTransport {
            core,
            bar,
            command: 0,
            sizing: [false; 2],
            interrupt_line: 0,
            features_sel: 0,
            driver_features_sel: 0,
            queue_sel: 0,
        }
    }

    fn msix(&mut self) -> Option<&mut Msix> {
        match &mut self.core.irq {
            Irq::Msix(m) => Some(m),
            Irq::Line(_) => None,
        }
    }

    /// The first 256 bytes of config space as they read now.
    fn config_space(&self) -> [u8; 256] {
        let mut c = [0u8; 256];
        let put = |c: &mut [u8; 256], at: usize, b: &[u8]| c[at..at + b.len()].copy_from_slice(b);
        let ty = self.core.device.device_type();
        put(&mut c, 0x00, &VIRTIO_VENDOR.to_le_bytes());
        put(&mut c, 0x02, &(MODERN_BASE + ty as u16).to_le_bytes());
        put(&mut c, 0x04, &self.command.to_le_bytes());
        put(&mut c, 0x06, &STATUS_CAP_LIST.to_le_bytes());
        c[0x08] = 1; // revision: modern
                     // Class: network controller / mass storage (other).
        let class: u32 = if ty == 1 { 0x02_0000 } else { 0x01_8000 };
        put(&mut c, 0x09, &class.to_le_bytes()[..3]);
        let mask = !(BAR_SIZE - 1);
        let lo = if self.sizing[0] { mask as u32 } else { self.bar as u32 } | 0b100; // 64-bit memory
        let hi = if self.sizing[1] { (mask >> 32) as u32 } else { (self.bar >> 32) as u32 };
        put(&mut c, 0x10, &lo.to_le_bytes());
        put(&mut c, 0x14, &hi.to_le_bytes());
        put(&mut c, 0x2c, &VIRTIO_VENDOR.to_le_bytes());
        put(&mut c, 0x2e, &0x40u16.to_le_bytes());
        c[0x34] = 0x40;
        c[0x3c] = self.interrupt_line;
        // The virtio capabilities: (at, next, type, offset, length).
        let caps = [
            (0x40, 0x50, 1, bar::COMMON, bar::COMMON_LEN),
            (0x50, 0x64, 2, bar::NOTIFY, bar::NOTIFY_LEN),
            (0x64, 0x74, 3, bar::ISR, 4),
            (0x74, MSIX_CAP, 4, bar::DEVICE, bar::DEVICE_LEN),
        ];
        for (at, next, ty, offset, len) in caps {
            let cap_len = if ty == 2 { 20 } else { 16 };
            put(&mut c, at, &[CAP_VENDOR, next as u8, cap_len, ty, 0]);
            put(&mut c, at + 8, &(offset as u32).to_le_bytes());
            put(&mut c, at + 12, &len.to_le_bytes());
        }
        put(&mut c, 0x50 + 16, &bar::NOTIFY_MULTIPLIER.to_le_bytes());
        let (enabled, masked) = match &self.core.irq {
            Irq::Msix(m) => (m.enabled, m.function_masked),
            Irq::Line(_) => (false, false),
        };
        let control = (VECTORS as u16 - 1) | if enabled { MSIX_ENABLE } else { 0 } | if masked { MSIX_MASK } else { 0 };
        put(&mut c, MSIX_CAP, &[CAP_MSIX, 0]);
        put(&mut c, MSIX_CAP + 2, &control.to_le_bytes());
        put(&mut c, MSIX_CAP + 4, &(bar::MSIX_TABLE as u32).to_le_bytes());
        put(&mut c, MSIX_CAP + 8, &(bar::MSIX_PBA as u32).to_le_bytes());
        c
    }

    pub fn config_read(&self, offset: u64, data: &mut [u8]) {
        read_config(&self.config_space(), offset, data);
    }

    /// Writable: command, BAR 0 (sizing only: the BAR stays where it is),
    /// interrupt line, MSI-X control. Everything else ignores writes.
    pub fn config_write(&mut self, offset: u64, data: &[u8]) {
        let v = data.iter().rev().fold(0u32, |a, &b| a << 8 | u32::from(b));
        match (offset, data.len()) {
            (0x04, 2 | 4) => self.command = v as u16 & (CMD_MEMORY | CMD_BUS_MASTER),
            (0x10, 4) => self.sizing[0] = v == u32::MAX,
            (0x14, 4) => self.sizing[1] = v == u32::MAX,
            (0x3c, _) => self.interrupt_line = v as u8,
            (o, 2 | 4) if o == MSIX_CAP as u64 + 2 || (o == MSIX_CAP as u64 && data.len() == 4) => {
                let control = if o == MSIX_CAP as u64 { (v >> 16) as u16 } else { v as u16 };
                if let Some(m) = self.msix() {
                    m.enabled = control & MSIX_ENABLE != 0;
                    m.function_masked = control & MSIX_MASK != 0;
                    m.flush_pending();
                }
            }
            _ => {}
        }
    }

    pub fn bar_read(&mut self, offset: u64, data: &mut [u8]) {
        data.fill(0);
        match offset {
            o if o < bar::NOTIFY => self.common_read(o, data),
            o if (bar::ISR..bar::ISR + 4).contains(&o) => {
                // Reading the ISR status clears it.
                let isr = self.core.irq.status();
                self.core.irq.ack(isr);
                data[0] = isr as u8;
            }
            o if (bar::DEVICE..bar::DEVICE + u64::from(bar::DEVICE_LEN)).contains(&o) => {
                read_config(&self.core.device.config(), o - bar::DEVICE, data)
            }
            o if (bar::MSIX_TABLE..bar::MSIX_PBA).contains(&o) => {
                if let Irq::Msix(m) = &self.core.irq {
                    m.read_table(o - bar::MSIX_TABLE, data)
                }
            }
            o if o >= bar::MSIX_PBA => {
                if let Irq::Msix(m) = &self.core.irq {
                    m.read_pba(o - bar::MSIX_PBA, data)
                }
            }
            _ => {}
        }
    }

    pub fn bar_write(&mut self, offset: u64, data: &[u8]) {
        let r = match offset {
            o if o < bar::NOTIFY => self.common_write(o, data),
            o if (bar::NOTIFY..bar::NOTIFY + u64::from(bar::NOTIFY_LEN)).contains(&o) => {
                // The queue is the one whose notify address this is.
                let q = (o - bar::NOTIFY) / u64::from(bar::NOTIFY_MULTIPLIER);
                self.core.notify(q as u32)
            }
            o if (bar::DEVICE..bar::DEVICE + u64::from(bar::DEVICE_LEN)).contains(&o) => {
                self.core.device.write_config(o - bar::DEVICE, data)
            }
            o if (bar::MSIX_TABLE..bar::MSIX_PBA).contains(&o) => {
                if let Some(m) = self.msix() {
                    m.write_table(o - bar::MSIX_TABLE, data);
                }
                Ok(())
            }
            // ISR and PBA are read-only.
            o => Err(Failure::ReadOnlyRegister(o)),
        };
        if let Err(e) = r {
            self.core.fail(e);
        }
    }

    fn common_read(&mut self, offset: u64, data: &mut [u8]) {
        if common::width(offset) != Some(data.len()) {
            return;
        }
        let c = &self.core;
        let q = c.queue(u32::from(self.queue_sel));
        let v: u32 = match offset {
            common::DEVICE_FEATURE_SELECT => self.features_sel,
            common::DEVICE_FEATURE => c.device_features(self.features_sel),
            common::DRIVER_FEATURE_SELECT => self.driver_features_sel,
            common::MSIX_CONFIG => match &c.irq {
                Irq::Msix(m) => u32::from(m.config_vector),
                Irq::Line(_) => u32::from(NO_VECTOR),
            },
            common::NUM_QUEUES => c.queues.len() as u32,
            common::DEVICE_STATUS => c.status(),
            common::CONFIG_GENERATION => 0,
            common::QUEUE_SELECT => u32::from(self.queue_sel),
            common::QUEUE_SIZE => q.map_or(0, |q| q.size()),
            common::QUEUE_MSIX_VECTOR => match &c.irq {
                Irq::Msix(m) => u32::from(m.queue_vector(self.queue_sel)),
                Irq::Line(_) => u32::from(NO_VECTOR),
            },
            common::QUEUE_ENABLE => q.map_or(0, |q| u32::from(q.ready())),
            common::QUEUE_NOTIFY_OFF => u32::from(self.queue_sel),
            _ => 0,
        };
        data.copy_from_slice(&v.to_le_bytes()[..data.len()]);
    }

    fn common_write(&mut self, offset: u64, data: &[u8]) -> Result<(), Failure> {
        if common::width(offset) != Some(data.len()) {
            return Err(Failure::BadWidth { offset, len: data.len() });
        }
        let v = data.iter().rev().fold(0u32, |a, &b| a << 8 | u32::from(b));
        let sel = u32::from(self.queue_sel);
        match offset {
            common::DEVICE_FEATURE_SELECT => self.features_sel = v,
            common::DRIVER_FEATURE_SELECT => self.driver_features_sel = v,
            common::DRIVER_FEATURE => return self.core.set_driver_features(self.driver_features_sel, v),
            common::MSIX_CONFIG => {
                if let Some(m) = self.msix() {
                    m.config_vector = usable_vector(v as u16);
                }
            }
            common::DEVICE_STATUS => {
                if v == 0 {
                    self.features_sel = 0;
                    self.driver_features_sel = 0;
                    self.queue_sel = 0;
                }
                return self.core.set_status(v);
            }
            common::QUEUE_SELECT => self.queue_sel = v as u16,
            common::QUEUE_SIZE => return self.core.with_queue(sel, |q, _| q.set_size(v)),
            common::QUEUE_MSIX_VECTOR => {
                let queues = self.core.queues.len();
                if let Some(m) = self.msix() {
                    if let Some(slot) =
                        m.queue_vectors.get_mut(usize::from(sel as u16)).filter(|_| (sel as usize) < queues)
                    {
                        *slot = usable_vector(v as u16);
                    }
                }
            }
            common::QUEUE_ENABLE => return self.core.with_queue(sel, |q, mem| q.set_ready(v == 1, mem)),
            common::QUEUE_DESC..=common::QUEUE_DEVICE_HIGH => {
                let ring = ((offset - common::QUEUE_DESC) / 8) as usize;
                let high = offset & 4 != 0;
                return self.core.with_queue(sel, |q, _| q.set_address(ring, high, v));
            }
            _ => return Err(Failure::ReadOnlyRegister(offset)),
        }
        Ok(())
    }
}

impl<D: VirtioDevice> PciTransport<D> {
    /// The state for a snapshot (the device then serves nothing more).
    pub fn save(&mut self) -> Option<DeviceState> {
        let kind = self.core.device.kind()?;
        let msix = match &self.core.irq {
            Irq::Msix(m) => m.state(),
            Irq::Line(_) => return None,
        };
        let transport = TransportState::Pci(PciState {
            command: self.command,
            sizing: self.sizing,
            interrupt_line: self.interrupt_line,
            features_sel: self.features_sel,
            driver_features_sel: self.driver_features_sel,
            queue_sel: self.queue_sel,
            msix,
        });
        Some(DeviceState { base: self.bar, kind, core: self.core.save(), transport })
    }

    /// Back to a saved state, or why it does not fit this function.
    pub fn restore(&mut self, s: &DeviceState) -> Result<(), String> {
        let TransportState::Pci(p) = &s.transport else {
            return Err("saved on virtio-mmio".into());
        };
        if s.base != self.bar {
            return Err(format!("BAR 0 saved at {:#x}, restored at {:#x}", s.base, self.bar));
        }
        self.core.device.restore_kind(&s.kind)?;
        self.core.restore(&s.core)?;
        self.msix().ok_or("no MSI-X")?.restore(&p.msix)?;
        self.command = p.command & (CMD_MEMORY | CMD_BUS_MASTER);
        self.sizing = p.sizing;
        self.interrupt_line = p.interrupt_line;
        (self.features_sel, self.driver_features_sel, self.queue_sel) =
            (p.features_sel, p.driver_features_sel, p.queue_sel);
        Ok(())
    }
}

/// A vector the table has, else NO_VECTOR (which the driver reads back).
fn usable_vector(v: u16) -> u16 {
    if usize::from(v) < VECTORS {
        v
    } else {
        NO_VECTOR
    }
}

impl<D: VirtioDevice> Transport<D> for PciTransport<D> {
    fn core(&mut self) -> &mut VirtioCore<D> {
        &mut self.core
    }
}

/// What the bus needs of a function.
pub trait PciFunction: Send {
    fn config_read(&mut self, offset: u64, data: &mut [u8]);
    fn config_write(&mut self, offset: u64, data: &[u8]);
}

impl<D: VirtioDevice> PciFunction for PciTransport<D> {
    fn config_read(&mut self, offset: u64, data: &mut [u8]) {
        PciTransport::config_read(self, offset, data)
    }
    fn config_write(&mut self, offset: u64, data: &[u8]) {
        PciTransport::config_write(self, offset, data)
    }
}

/// BAR 0 of a function, as an MMIO window.
pub struct BarWindow<D>(pub Arc<Mutex<PciTransport<D>>>);

impl<D: VirtioDevice> MmioDevice for BarWindow<D> {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).bar_read(offset, data)
    }
    fn write(&mut self, offset: u64, data: &[u8]) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).bar_write(offset, data)
    }
    fn save(&mut self) -> Option<DeviceState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).save()
    }
}

/// Bus 0's ECAM window: slot n's function 0 at n << 15; absent functions
/// read all-ones.
#[derive(Default)]
pub struct PciBus {
    /// (slot, function).
    pub functions: Vec<(u8, Arc<Mutex<dyn PciFunction>>)>,
}

impl PciBus {
    fn function(&self, offset: u64) -> Option<(&Arc<Mutex<dyn PciFunction>>, u64)> {
        let (slot, func, reg) = (offset >> 15 & 31, offset >> 12 & 7, offset & 0xfff);
        let f = self.functions.iter().find(|(s, _)| u64::from(*s) == slot && func == 0)?;
        Some((&f.1, reg))
    }
}

impl MmioDevice for PciBus {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        match self.function(offset) {
            Some((f, reg)) => f.lock().unwrap_or_else(|e| e.into_inner()).config_read(reg, data),
            None => data.fill(0xff),
        }
    }
    fn write(&mut self, offset: u64, data: &[u8]) {
        if let Some((f, reg)) = self.function(offset) {
            f.lock().unwrap_or_else(|e| e.into_inner()).config_write(reg, data);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::virtio::core::status::*;
    use crate::devices::virtio::mmio::tests::Echo;
    use crate::devices::virtio::queue::tests::{desc, ram};
    use virtio_queue::mock::MockSplitQueue;

    fn function() -> (GuestMemoryMmap, PciTransport<Echo>) {
        let mem = ram();
        let irq = Irq::Msix(Msix::new(None, 1));
        (mem.clone(), PciTransport::new(Echo, 1, 0xc100_0000, mem, irq, 256))
    }

    fn cfg32(t: &PciTransport<Echo>, off: u64) -> u32 {
        let mut b = [0u8; 4];
        t.config_read(off, &mut b);
        u32::from_le_bytes(b)
    }

    fn bw(t: &mut PciTransport<Echo>, off: u64, v: u32, width: usize) {
        t.bar_write(off, &v.to_le_bytes()[..width]);
    }

    fn br(t: &mut PciTransport<Echo>, off: u64, width: usize) -> u32 {
        let mut b = [0u8; 4];
        t.bar_read(off, &mut b[..width]);
        u32::from_le_bytes(b)
    }

    #[test]
    fn config_space_describes_a_modern_virtio_function() {
        let (_, mut t) = function();
        assert_eq!(cfg32(&t, 0), (0x1040 + 42) << 16 | 0x1af4);
        assert_eq!(cfg32(&t, 0x10), 0xc100_0004);
        t.config_write(0x10, &[0xff; 4]);
        t.config_write(0x14, &[0xff; 4]);
        assert_eq!(cfg32(&t, 0x10), !(BAR_SIZE as u32 - 1) | 4);
        assert_eq!(cfg32(&t, 0x14), u32::MAX);
        t.config_write(0x10, &0xc100_0004u32.to_le_bytes());
        t.config_write(0x14, &[0; 4]);
        assert_eq!(cfg32(&t, 0x10), 0xc100_0004);
        // Read-only fields ignore writes.
        t.config_write(0, &[0; 4]);
        assert_eq!(cfg32(&t, 0) & 0xffff, 0x1af4);
        // The capability chain: four virtio structures, then MSI-X with 4 vectors.
        let mut at = cfg32(&t, 0x34) as u64 & 0xfc;
        let mut kinds = Vec::new();
        while at != 0 {
            let head = cfg32(&t, at);
            kinds.push((head as u8, (head >> 24) as u8));
            at = u64::from(head >> 8 & 0xfc);
        }
        assert_eq!(kinds, vec![(9, 1), (9, 2), (9, 3), (9, 4), (0x11, 0)]);
        assert_eq!(cfg32(&t, 0x84) >> 16 & 0x7ff, 3, "4 vectors");
        assert_eq!(cfg32(&t, 0x84 + 4), 0x4000);
        t.config_write(0x86, &(1u16 << 15).to_le_bytes());
        assert!(matches!(&t.core.irq, Irq::Msix(m) if m.enabled));
    }

    /// A driver's bring-up through BAR 0, a notify, and the MSI-X message.
    #[test]
    fn a_queue_served_over_pci_sends_its_msix_vector() {
        let (mem, mut t) = function();
        let mock = MockSplitQueue::new(&mem, 16);
        t.bar_write(bar::MSIX_TABLE, &0xfee0_0000u64.to_le_bytes());
        bw(&mut t, bar::MSIX_TABLE + 8, 0x45, 4);
        bw(&mut t, bar::MSIX_TABLE + 12, 0, 4);
        t.config_write(0x86, &(1u16 << 15).to_le_bytes());
        bw(&mut t, common::DEVICE_STATUS, ACKNOWLEDGE | DRIVER, 1);
        bw(&mut t, common::DRIVER_FEATURE_SELECT, 1, 4);
        bw(&mut t, common::DRIVER_FEATURE, 1, 4);
        bw(&mut t, common::DEVICE_STATUS, ACKNOWLEDGE | DRIVER | FEATURES_OK, 1);
        assert_eq!(br(&mut t, common::DEVICE_STATUS, 1), ACKNOWLEDGE | DRIVER | FEATURES_OK);
        assert_eq!(br(&mut t, common::NUM_QUEUES, 2), 1);
        bw(&mut t, common::QUEUE_SELECT, 0, 2);
        assert_eq!(br(&mut t, common::QUEUE_SIZE, 2), 256);
        bw(&mut t, common::QUEUE_SIZE, 16, 2);
        bw(&mut t, common::QUEUE_MSIX_VECTOR, 0, 2);
        assert_eq!(br(&mut t, common::QUEUE_MSIX_VECTOR, 2), 0);
        for (i, a) in [mock.desc_table_addr(), mock.avail_addr(), mock.used_addr()].iter().enumerate() {
            bw(&mut t, common::QUEUE_DESC + 8 * i as u64, a.0 as u32, 4);
        }
        bw(&mut t, common::QUEUE_ENABLE, 1, 2);
        bw(&mut t, common::DEVICE_STATUS, 0xF, 1);
        mock.add_desc_chains(&[desc(0x8000, 16, 0, 0)], 0).unwrap();
        bw(&mut t, bar::NOTIFY, 0, 2);
        assert_eq!(mock.used().idx().load(), 1);
        assert!(matches!(&t.core.irq, Irq::Msix(m) if m.sent == vec![(0xfee0_0000, 0x45)]));
        assert_eq!(br(&mut t, bar::ISR, 1), 1);
        assert_eq!(br(&mut t, bar::ISR, 1), 0, "reading the ISR clears it");
        assert_eq!(t.core.failure(), None);
        // A vector the table does not have reads back as NO_VECTOR.
        bw(&mut t, common::MSIX_CONFIG, 9, 2);
        assert_eq!(br(&mut t, common::MSIX_CONFIG, 2), 0xffff);
    }

    #[test]
    fn bad_programming_over_pci_fails_the_device() {
        for (what, off, v, width) in [
            ("read-only field", common::NUM_QUEUES, 1, 2),
            ("wrong width", common::DEVICE_STATUS, 1, 4),
            ("device config", bar::DEVICE, 0, 4),
            ("ISR", bar::ISR, 0, 1),
            ("notify before DRIVER_OK", bar::NOTIFY, 0, 2),
            ("queue size", common::QUEUE_SIZE, 3, 2),
        ] {
            let (_, mut t) = function();
            bw(&mut t, off, v, width);
            if what == "queue size" {
                bw(&mut t, common::QUEUE_ENABLE, 1, 2);
            }
            assert!(t.core.failure().is_some(), "{what}");
            assert_ne!(t.core.status() & NEEDS_RESET, 0, "{what}");
            bw(&mut t, common::DEVICE_STATUS, 0, 1);
            assert_eq!(t.core.failure(), None, "{what}: reset");
        }
    }

    #[test]
    fn the_bus_finds_functions_by_slot() {
        let (_, t) = function();
        let f: Arc<Mutex<dyn PciFunction>> = Arc::new(Mutex::new(t));
        let mut bus = PciBus { functions: vec![(1, f)] };
        let mut b = [0u8; 4];
        bus.read(1 << 15, &mut b);
        assert_eq!(u16::from_le_bytes([b[0], b[1]]), 0x1af4);
        bus.read(2 << 15, &mut b);
        assert_eq!(b, [0xff; 4]);
        bus.read(1 << 15 | 1 << 12, &mut b);
        assert_eq!(b, [0xff; 4], "function 1");
    }
}
