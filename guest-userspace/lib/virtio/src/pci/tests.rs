//! Capability parsing and MSI-X set-up against a mock config space.
use super::*;

struct Cfg([u8; 256]);

impl ConfigSpace for Cfg {
    fn read(&self, off: u16, width: u8) -> Result<u32> {
        let o = usize::from(off);
        Ok((0..usize::from(width)).fold(0, |v, i| v | u32::from(self.0[o + i]) << (8 * i)))
    }
    fn write(&mut self, off: u16, width: u8, v: u32) -> Result<()> {
        for i in 0..usize::from(width) {
            self.0[usize::from(off) + i] = (v >> (8 * i)) as u8;
        }
        Ok(())
    }
}

/// A virtio capability at `at` of `kind`, linking to `next`.
fn cap(c: &mut Cfg, at: usize, next: u8, kind: u8, bar: u8, off: u32, len: u32) {
    c.0[at..at + 4].copy_from_slice(&[0x09, next, 20, kind]);
    c.0[at + 4] = bar;
    c.0[at + 8..at + 12].copy_from_slice(&off.to_le_bytes());
    c.0[at + 12..at + 16].copy_from_slice(&len.to_le_bytes());
    c.0[at + 16..at + 20].copy_from_slice(&4u32.to_le_bytes());
}

fn qemu_like() -> Cfg {
    let mut c = Cfg([0; 256]);
    c.0[0x34] = 0x40;
    // MSI-X capability (id 0x11) first, table in BAR 1 at 0x800.
    c.0[0x40..0x44].copy_from_slice(&[0x11, 0x50, 0x02, 0x00]);
    c.0[0x44..0x48].copy_from_slice(&0x801u32.to_le_bytes());
    cap(&mut c, 0x50, 0x64, CAP_COMMON, 4, 0, 0x1000);
    cap(&mut c, 0x64, 0x78, CAP_ISR, 4, 0x1000, 0x1000);
    cap(&mut c, 0x78, 0x8c, CAP_DEVICE, 4, 0x2000, 0x1000);
    cap(&mut c, 0x8c, 0x00, CAP_NOTIFY, 4, 0x3000, 0x1000);
    c
}

#[test]
fn finds_the_four_virtio_structures() {
    let caps = find_caps(&qemu_like()).unwrap();
    assert_eq!(caps.common, CapRef { bar: 4, offset: 0, len: 0x1000 });
    assert_eq!(caps.device.offset, 0x2000);
    assert_eq!((caps.notify.offset, caps.notify_mult), (0x3000, 4));
}

#[test]
fn a_missing_structure_is_named() {
    let mut c = qemu_like();
    c.0[0x78 + 1] = 0; // the list ends before the notify capability
    assert_eq!(find_caps(&c), Err(Error::MissingCapability(CAP_NOTIFY)));
}

#[test]
fn a_looping_capability_list_ends() {
    let mut c = qemu_like();
    c.0[0x78 + 1] = 0x50;
    assert_eq!(find_caps(&c), Err(Error::MissingCapability(CAP_NOTIFY)));
}

#[test]
fn a_capability_naming_a_bar_past_5_is_ignored() {
    let mut c = qemu_like();
    c.0[0x50 + 4] = 9;
    assert_eq!(find_caps(&c), Err(Error::MissingCapability(CAP_COMMON)));
}

struct Table([u32; 8]);

impl Regs for Table {
    fn read8(&self, _: u64) -> u8 {
        0
    }
    fn read16(&self, _: u64) -> u16 {
        0
    }
    fn read32(&self, off: u64) -> u32 {
        self.0[off as usize / 4]
    }
    fn write8(&mut self, _: u64, _: u8) {}
    fn write16(&mut self, _: u64, _: u16) {}
    fn write32(&mut self, off: u64, v: u32) {
        self.0[off as usize / 4] = v;
    }
    fn len(&self) -> u64 {
        32
    }
}

#[test]
fn msix_entry_is_programmed_unmasked_and_enabled() {
    let mut c = qemu_like();
    c.0[0x43] = 0x40; // function mask set by firmware
    assert_eq!(msix_table(&c, 0x40), Ok((1, 0x800)));
    let mut t = Table([0xffff_ffff; 8]);
    enable_msix(&mut c, 0x40, &mut t, 0, 0xfee0_0000, 0x41).unwrap();
    assert_eq!(&t.0[..4], &[0xfee0_0000, 0, 0x41, 0]);
    assert_eq!(c.read(0x42, 2), Ok(0x8002));
    assert_eq!(c.read(4, 2).unwrap() & 0b110, 0b110);
    assert_eq!(enable_msix(&mut c, 0x40, &mut t, 2, 0, 0), Err(Error::NoMsix));
}

/// Plain memory as a register window; `no_vectors` makes the common cfg
/// answer NO_VECTOR to vector writes, as a device out of MSI-X resources.
struct Bytes {
    b: Vec<u8>,
    no_vectors: bool,
}

impl Bytes {
    fn new(len: usize) -> Self {
        Bytes { b: vec![0; len], no_vectors: false }
    }
    fn get(&self, off: u64, n: usize) -> u64 {
        (0..n).fold(0, |v, i| v | u64::from(self.b[off as usize + i]) << (8 * i))
    }
    fn set(&mut self, off: u64, n: usize, v: u64) {
        for i in 0..n {
            self.b[off as usize + i] = (v >> (8 * i)) as u8;
        }
    }
}

impl Regs for Bytes {
    fn read8(&self, off: u64) -> u8 {
        self.get(off, 1) as u8
    }
    fn read16(&self, off: u64) -> u16 {
        self.get(off, 2) as u16
    }
    fn read32(&self, off: u64) -> u32 {
        self.get(off, 4) as u32
    }
    fn write8(&mut self, off: u64, v: u8) {
        self.set(off, 1, v.into())
    }
    fn write16(&mut self, off: u64, v: u16) {
        let refused = self.no_vectors && (off == MSIX_CONFIG || off == QUEUE_MSIX_VECTOR);
        self.set(off, 2, if refused { NO_VECTOR.into() } else { v.into() })
    }
    fn write32(&mut self, off: u64, v: u32) {
        self.set(off, 4, v.into())
    }
    fn len(&self) -> u64 {
        self.b.len() as u64
    }
}

fn transport(no_vectors: bool) -> PciTransport<Bytes> {
    let mut common = Bytes::new(0x38);
    common.no_vectors = no_vectors;
    common.set(QUEUE_NOTIFY_OFF, 2, 3);
    PciTransport::new(0x1042, common, Bytes::new(64), 4, Bytes::new(4), Bytes::new(64), Some(0)).unwrap()
}

const ADDRS: QueueAddrs = QueueAddrs { desc: 0x10_0000, avail: 0x10_1000, used: 0x10_2000 };

#[test]
fn queue_setup_points_both_vectors_at_entry_0_and_notifies_at_the_queue_s_offset() {
    let mut t = transport(false);
    assert_eq!(t.device_type(), 2);
    t.queue_setup(0, 64, ADDRS).unwrap();
    assert_eq!((t.common.get(MSIX_CONFIG, 2), t.common.get(QUEUE_MSIX_VECTOR, 2)), (0, 0));
    assert_eq!(t.common.get(QUEUE_DEVICE, 8), 0x10_2000);
    assert_eq!(t.common.get(QUEUE_ENABLE, 2), 1);
    t.common.set(QUEUE_NOTIFY_OFF, 2, 5);
    t.queue_setup(1, 64, ADDRS).unwrap();
    t.notify(1);
    t.notify(7);
    assert_eq!((t.notify_at[0], t.notify.get(20, 2)), (12, 1), "queue 1 notified at 5 * 4");
    assert_eq!(t.notify.b.iter().filter(|&&b| b != 0).count(), 1, "queue 7 was never set up");
}

#[test]
fn a_device_refusing_the_msix_vector_is_an_error() {
    assert_eq!(transport(true).queue_setup(0, 64, ADDRS), Err(Error::NoMsix));
}

#[test]
fn a_notify_offset_outside_the_window_is_an_error() {
    let mut t = transport(false);
    t.common.set(QUEUE_NOTIFY_OFF, 2, 100);
    assert_eq!(t.queue_setup(0, 64, ADDRS), Err(Error::MissingCapability(CAP_NOTIFY)));
}

#[test]
fn non_virtio_pci_ids_are_refused() {
    let r = PciTransport::new(0x1234, Bytes::new(0x38), Bytes::new(4), 4, Bytes::new(4), Bytes::new(4), None);
    assert_eq!(r.err().map(|_| ()), Some(()));
}
