//! The virtio-mmio transport against a register-level mock.
use super::*;
use crate::features::{self, BLK_RO, VERSION_1};

/// Registers as a version-2 block device presents them.
struct Mock {
    r: [u32; 0x200 / 4],
    offered: u64,
    accepted: u64,
}

impl Mock {
    fn new() -> Self {
        let mut r = [0; 0x200 / 4];
        r[0] = MAGIC_VALUE;
        r[1] = 2;
        r[2] = 2;
        r[(QUEUE_NUM_MAX / 4) as usize] = 128;
        Mock { r, offered: VERSION_1 | BLK_RO | 1 << 3, accepted: 0 }
    }
}

impl Regs for Mock {
    fn read8(&self, off: u64) -> u8 {
        self.read32(off & !3) as u8
    }
    fn read16(&self, off: u64) -> u16 {
        self.read32(off & !3) as u16
    }
    fn read32(&self, off: u64) -> u32 {
        let sel = self.r[(DEVICE_FEATURES_SEL / 4) as usize];
        match off {
            DEVICE_FEATURES => (self.offered >> (32 * sel)) as u32,
            _ => self.r[off as usize / 4],
        }
    }
    fn write8(&mut self, off: u64, v: u8) {
        self.write32(off, u32::from(v))
    }
    fn write16(&mut self, off: u64, v: u16) {
        self.write32(off, u32::from(v))
    }
    fn write32(&mut self, off: u64, v: u32) {
        if off == DRIVER_FEATURES {
            let sh = 32 * self.r[(DRIVER_FEATURES_SEL / 4) as usize];
            self.accepted = self.accepted & !(0xffff_ffff << sh) | u64::from(v) << sh;
        }
        self.r[off as usize / 4] = v;
    }
    fn len(&self) -> u64 {
        0x200
    }
}

#[test]
fn only_modern_virtio_windows_are_accepted() {
    let mut m = Mock::new();
    m.r[0] = 0x1234;
    assert_eq!(MmioTransport::new(m).err(), Some(Error::NotVirtio));
    let mut m = Mock::new();
    m.r[1] = 1;
    assert_eq!(MmioTransport::new(m).err(), Some(Error::UnsupportedVersion(1)));
    let mut m = Mock::new();
    m.r[2] = 0;
    assert_eq!(MmioTransport::new(m).err(), Some(Error::WrongDevice(0)));
    assert_eq!(MmioTransport::new(Mock::new()).unwrap().device_type(), 2);
}

#[test]
fn negotiation_writes_only_understood_bits_through_both_halves() {
    let mut t = MmioTransport::new(Mock::new()).unwrap();
    assert_eq!(features::negotiate(&mut t, BLK_RO), Ok(VERSION_1 | BLK_RO));
    assert_eq!(t.regs.accepted, VERSION_1 | BLK_RO);
    assert_eq!(t.status(), 1 | 2 | 8);
}

#[test]
fn queue_setup_writes_the_ring_addresses() {
    let mut t = MmioTransport::new(Mock::new()).unwrap();
    assert_eq!(t.queue_max(0), 128);
    let a = QueueAddrs { desc: 0x1_2345_6000, avail: 0x1_2345_6800, used: 0x1_2345_7000 };
    t.queue_setup(0, 64, a).unwrap();
    let r = |o: u64| t.regs.r[o as usize / 4];
    assert_eq!((r(QUEUE_NUM), r(QUEUE_DESC), r(QUEUE_DESC + 4), r(QUEUE_READY)), (64, 0x2345_6000, 1, 1));
    assert_eq!(t.queue_setup(0, 64, a), Err(Error::DeviceFailed), "a queue already live");
}

#[test]
fn config_space_is_bounded_by_the_window() {
    let mut m = Mock::new();
    m.r[0x100 / 4] = 0x1000;
    let t = MmioTransport::new(m).unwrap();
    assert_eq!(t.config_len(), 0x100);
    assert_eq!(t.config_read32(0), 0x1000);
}
