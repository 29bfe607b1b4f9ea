//! The virtio-mmio transport, version 2 (virtio 1.2, 4.2.2): the register
//! window of one device, its device status, feature negotiation and queue
//! set-up, and the failed state.
//!
//! Bad programming (a write to a read-only register or to the device
//! config, an invalid queue size or ring, a notification before DRIVER_OK,
//! a chain the queue refuses, a request the device cannot answer) puts the
//! device in the failed state: DEVICE_NEEDS_RESET in Status, a config-change
//! interrupt, one line on stderr, and every notification ignored until the
//! driver resets the device by writing 0 to Status. The VM keeps running.

use std::fmt;

use vm_memory::GuestMemoryMmap;

use super::irq::{Interrupt, CONFIG_CHANGE, USED_BUFFER};
use super::queue::{QueueError, VirtQueue};

/// "virt".
const MAGIC_VALUE: u32 = 0x7472_6976;
const VERSION: u32 = 2;
/// "VIRE", Vireo's harness.
const VENDOR_ID: u32 = u32::from_le_bytes(*b"VIRE");

/// Device status bits (virtio 1.2, 2.1).
pub mod status {
    pub const ACKNOWLEDGE: u32 = 1;
    pub const DRIVER: u32 = 2;
    pub const DRIVER_OK: u32 = 4;
    pub const FEATURES_OK: u32 = 8;
    pub const NEEDS_RESET: u32 = 0x40;
    pub const FAILED: u32 = 0x80;
}
use status::*;

/// VIRTIO_F_VERSION_1: every device here is a modern one.
pub const F_VERSION_1: u64 = 1 << 32;

/// Register offsets.
mod reg {
    pub const MAGIC: u64 = 0x000;
    pub const VERSION: u64 = 0x004;
    pub const DEVICE_ID: u64 = 0x008;
    pub const VENDOR_ID: u64 = 0x00c;
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
    pub const QUEUE_DESC_LOW: u64 = 0x080;
    pub const QUEUE_USED_HIGH: u64 = 0x0a4;
    pub const CONFIG_GENERATION: u64 = 0x0fc;
    pub const CONFIG: u64 = 0x100;
}

/// Why a device failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Queue(u16, QueueError),
    ReadOnlyRegister(u64),
    UnknownRegister(u64),
    BadWidth {
        offset: u64,
        len: usize,
    },
    ConfigWrite(u64),
    NoSuchQueue(u32),
    NotifyBeforeDriverOk(u32),
    NotifyNotReady(u32),
    DriverOkWithoutFeatures,
    StatusCleared {
        from: u32,
        to: u32,
    },
    FeaturesAfterFeaturesOk,
    /// A chain that is well formed but not a request of this device.
    Request(u16, String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Queue(q, e) => write!(f, "queue {q}: {e}"),
            Failure::ReadOnlyRegister(o) => write!(f, "write to read-only register {o:#x}"),
            Failure::UnknownRegister(o) => write!(f, "write to unknown register {o:#x}"),
            Failure::BadWidth { offset, len } => write!(f, "{len}-byte write to register {offset:#x}"),
            Failure::ConfigWrite(o) => write!(f, "write to read-only config field at {o:#x}"),
            Failure::NoSuchQueue(q) => write!(f, "queue {q} does not exist"),
            Failure::NotifyBeforeDriverOk(q) => write!(f, "queue {q} notified before DRIVER_OK"),
            Failure::NotifyNotReady(q) => write!(f, "queue {q} notified while not ready"),
            Failure::DriverOkWithoutFeatures => write!(f, "DRIVER_OK without FEATURES_OK"),
            Failure::StatusCleared { from, to } => write!(f, "status {from:#x} -> {to:#x} clears bits without a reset"),
            Failure::FeaturesAfterFeaturesOk => write!(f, "driver features written after FEATURES_OK"),
            Failure::Request(q, e) => write!(f, "queue {q}: {e}"),
        }
    }
}

/// What a device type adds to the transport.
pub trait VirtioDevice: Send {
    /// For the log line and the exit counts.
    fn name(&self) -> &'static str;
    fn device_type(&self) -> u32;
    /// Features offered, VERSION_1 included.
    fn features(&self) -> u64;
    fn queue_count(&self) -> usize;
    /// The device config space (read-only for every device here).
    fn config(&self) -> Vec<u8>;
    /// The driver notified queue `q` (DRIVER_OK set, the queue ready).
    /// Returns whether used buffers were added (then the transport interrupts).
    fn notify(&mut self, q: u16, queues: &mut [VirtQueue], mem: &GuestMemoryMmap) -> Result<bool, Failure>;
    /// The driver reset the device.
    fn reset(&mut self) {}
}

/// One virtio-mmio window.
pub struct MmioTransport<D> {
    pub device: D,
    base: u64,
    mem: GuestMemoryMmap,
    irq: Interrupt,
    queues: Vec<VirtQueue>,
    status: u32,
    features_sel: u32,
    driver_features_sel: u32,
    driver_features: u64,
    queue_sel: u32,
    failed: Option<Failure>,
}

impl<D: VirtioDevice> MmioTransport<D> {
    pub fn new(device: D, base: u64, mem: GuestMemoryMmap, irq: Interrupt, queue_max: u16) -> Self {
        let queues = (0..device.queue_count()).filter_map(|_| VirtQueue::new(queue_max).ok()).collect();
        MmioTransport {
            device,
            base,
            mem,
            irq,
            queues,
            status: 0,
            features_sel: 0,
            driver_features_sel: 0,
            driver_features: 0,
            queue_sel: 0,
            failed: None,
        }
    }

    /// Why the device failed, while it is failed.
    #[cfg(test)]
    pub fn failure(&self) -> Option<&Failure> {
        self.failed.as_ref()
    }

    /// Runs `f` on the device and its queues when the driver is up and the
    /// device not failed (the net RX thread); interrupts if `f` used
    /// buffers, and says whether it did.
    pub fn run(&mut self, f: impl FnOnce(&mut D, &mut [VirtQueue], &GuestMemoryMmap) -> Result<bool, Failure>) -> bool {
        if self.failed.is_some() || self.status & DRIVER_OK == 0 {
            return false;
        }
        match f(&mut self.device, &mut self.queues, &self.mem) {
            Ok(true) => {
                self.irq.raise(USED_BUFFER);
                true
            }
            Ok(false) => false,
            Err(e) => {
                self.fail(e);
                false
            }
        }
    }

    pub fn read(&mut self, offset: u64, data: &mut [u8]) {
        data.fill(0);
        if offset >= reg::CONFIG {
            let config = self.device.config();
            let start = usize::try_from(offset - reg::CONFIG).unwrap_or(usize::MAX);
            for (i, d) in data.iter_mut().enumerate() {
                *d = start.checked_add(i).and_then(|j| config.get(j)).copied().unwrap_or(0);
            }
            return;
        }
        if data.len() != 4 {
            return;
        }
        let v = match offset {
            reg::MAGIC => MAGIC_VALUE,
            reg::VERSION => VERSION,
            reg::DEVICE_ID => self.device.device_type(),
            reg::VENDOR_ID => VENDOR_ID,
            reg::DEVICE_FEATURES => match self.features_sel {
                0 => self.device.features() as u32,
                1 => (self.device.features() >> 32) as u32,
                _ => 0,
            },
            reg::QUEUE_NUM_MAX => self.queue().map_or(0, |q| u32::from(q.max_size())),
            reg::QUEUE_READY => self.queue().map_or(0, |q| u32::from(q.ready())),
            reg::INTERRUPT_STATUS => self.irq.status(),
            reg::STATUS => self.status,
            _ => 0,
        };
        data.copy_from_slice(&v.to_le_bytes());
    }

    pub fn write(&mut self, offset: u64, data: &[u8]) {
        if let Err(e) = self.write_register(offset, data) {
            self.fail(e);
        }
    }

    fn write_register(&mut self, offset: u64, data: &[u8]) -> Result<(), Failure> {
        if offset >= reg::CONFIG {
            return Err(Failure::ConfigWrite(offset - reg::CONFIG));
        }
        let Ok(bytes) = <[u8; 4]>::try_from(data) else {
            return Err(Failure::BadWidth { offset, len: data.len() });
        };
        let v = u32::from_le_bytes(bytes);
        match offset {
            reg::MAGIC
            | reg::VERSION
            | reg::DEVICE_ID
            | reg::VENDOR_ID
            | reg::DEVICE_FEATURES
            | reg::QUEUE_NUM_MAX
            | reg::INTERRUPT_STATUS
            | reg::CONFIG_GENERATION => Err(Failure::ReadOnlyRegister(offset)),
            reg::DEVICE_FEATURES_SEL => {
                self.features_sel = v;
                Ok(())
            }
            reg::DRIVER_FEATURES_SEL => {
                self.driver_features_sel = v;
                Ok(())
            }
            reg::DRIVER_FEATURES => {
                if self.status & FEATURES_OK != 0 {
                    return Err(Failure::FeaturesAfterFeaturesOk);
                }
                match self.driver_features_sel {
                    0 => self.driver_features = (self.driver_features & !0xffff_ffff) | u64::from(v),
                    1 => self.driver_features = (self.driver_features & 0xffff_ffff) | u64::from(v) << 32,
                    // Pages past the ones devices define: no features there to take.
                    _ => {}
                }
                Ok(())
            }
            reg::QUEUE_SEL => {
                self.queue_sel = v;
                Ok(())
            }
            reg::QUEUE_NUM => self.with_queue(|q, _| q.set_size(v)),
            reg::QUEUE_READY => self.with_queue(|q, mem| q.set_ready(v == 1, mem)),
            reg::QUEUE_DESC_LOW..=reg::QUEUE_USED_HIGH if offset.is_multiple_of(4) && (offset & 0xf) < 8 => {
                let ring = ((offset - reg::QUEUE_DESC_LOW) / 0x10) as usize;
                let high = offset & 4 != 0;
                self.with_queue(|q, _| q.set_address(ring, high, v))
            }
            reg::QUEUE_NOTIFY => self.notify(v),
            reg::INTERRUPT_ACK => {
                self.irq.ack(v);
                Ok(())
            }
            reg::STATUS => self.set_status(v),
            _ => Err(Failure::UnknownRegister(offset)),
        }
    }

    fn queue(&self) -> Option<&VirtQueue> {
        usize::try_from(self.queue_sel).ok().and_then(|i| self.queues.get(i))
    }

    fn with_queue(
        &mut self,
        f: impl FnOnce(&mut VirtQueue, &GuestMemoryMmap) -> Result<(), QueueError>,
    ) -> Result<(), Failure> {
        let sel = self.queue_sel;
        let q = usize::try_from(sel).ok().and_then(|i| self.queues.get_mut(i)).ok_or(Failure::NoSuchQueue(sel))?;
        f(q, &self.mem).map_err(|e| Failure::Queue(sel as u16, e))
    }

    fn notify(&mut self, v: u32) -> Result<(), Failure> {
        if self.failed.is_some() {
            return Ok(());
        }
        // Without VIRTIO_F_NOTIFICATION_DATA the value is the queue index.
        let q = usize::try_from(v).ok().filter(|&i| i < self.queues.len()).ok_or(Failure::NoSuchQueue(v))?;
        if self.status & DRIVER_OK == 0 {
            return Err(Failure::NotifyBeforeDriverOk(v));
        }
        if !self.queues[q].ready() {
            return Err(Failure::NotifyNotReady(v));
        }
        if self.device.notify(q as u16, &mut self.queues, &self.mem)? {
            self.irq.raise(USED_BUFFER);
        }
        Ok(())
    }

    fn set_status(&mut self, v: u32) -> Result<(), Failure> {
        if v == 0 {
            self.reset();
            return Ok(());
        }
        let old = self.status & !NEEDS_RESET;
        if old & !v != 0 {
            return Err(Failure::StatusCleared { from: old, to: v });
        }
        let mut new = v & (ACKNOWLEDGE | DRIVER | DRIVER_OK | FEATURES_OK | FAILED);
        if new & FEATURES_OK != 0 && old & FEATURES_OK == 0 {
            let offered = self.device.features();
            // Not accepted: FEATURES_OK stays clear, as the driver will see.
            if self.driver_features & !offered != 0 || self.driver_features & F_VERSION_1 == 0 {
                new &= !FEATURES_OK;
            }
        }
        if new & DRIVER_OK != 0 && new & FEATURES_OK == 0 {
            return Err(Failure::DriverOkWithoutFeatures);
        }
        self.status = new | (self.status & NEEDS_RESET);
        Ok(())
    }

    fn reset(&mut self) {
        self.device.reset();
        for q in &mut self.queues {
            q.reset();
        }
        self.status = 0;
        self.features_sel = 0;
        self.driver_features_sel = 0;
        self.driver_features = 0;
        self.queue_sel = 0;
        self.failed = None;
        self.irq.clear();
    }

    /// Enter the failed state (once: later faults of a failed device are
    /// the same fault's echoes and are not logged again).
    fn fail(&mut self, why: Failure) {
        if self.failed.is_some() {
            return;
        }
        eprintln!(
            "vmm-harness: {} at {:#x}: {why}; device needs reset (the VM keeps running)",
            self.device.name(),
            self.base
        );
        self.status |= NEEDS_RESET;
        self.failed = Some(why);
        self.irq.raise(CONFIG_CHANGE);
    }
}

impl<D: VirtioDevice> crate::devices::MmioDevice for MmioTransport<D> {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        MmioTransport::read(self, offset, data)
    }
    fn write(&mut self, offset: u64, data: &[u8]) {
        MmioTransport::write(self, offset, data)
    }
}

#[cfg(test)]
pub mod tests {
    //! The transport driven as a driver would, on a device that echoes
    //! (returns every chain with its readable length).
    use super::*;
    use crate::devices::virtio::queue::tests::{desc, ram};
    use virtio_queue::mock::MockSplitQueue;

    pub struct Echo;

    impl VirtioDevice for Echo {
        fn name(&self) -> &'static str {
            "virtio-echo"
        }
        fn device_type(&self) -> u32 {
            42
        }
        fn features(&self) -> u64 {
            F_VERSION_1 | 1
        }
        fn queue_count(&self) -> usize {
            1
        }
        fn config(&self) -> Vec<u8> {
            vec![1, 2, 3, 4]
        }
        fn notify(&mut self, q: u16, queues: &mut [VirtQueue], mem: &GuestMemoryMmap) -> Result<bool, Failure> {
            let queue = &mut queues[usize::from(q)];
            let mut used = false;
            while let Some(c) = queue.pop(mem).map_err(|e| Failure::Queue(q, e))? {
                queue.add_used(mem, c.head, c.len(false) as u32).map_err(|e| Failure::Queue(q, e))?;
                used = true;
            }
            Ok(used)
        }
    }

    pub fn w(t: &mut MmioTransport<impl VirtioDevice>, off: u64, v: u32) {
        t.write(off, &v.to_le_bytes());
    }

    pub fn r(t: &mut MmioTransport<impl VirtioDevice>, off: u64) -> u32 {
        let mut b = [0u8; 4];
        t.read(off, &mut b);
        u32::from_le_bytes(b)
    }

    /// Negotiate `features`, set up queue `q` on the mock's rings, DRIVER_OK.
    pub fn bring_up<D: VirtioDevice>(
        t: &mut MmioTransport<D>,
        mock: &MockSplitQueue<GuestMemoryMmap>,
        queues: &[u32],
        size: u32,
    ) {
        w(t, reg::STATUS, ACKNOWLEDGE);
        w(t, reg::STATUS, ACKNOWLEDGE | DRIVER);
        w(t, reg::DRIVER_FEATURES_SEL, 1);
        w(t, reg::DRIVER_FEATURES, 1);
        w(t, reg::DRIVER_FEATURES_SEL, 0);
        w(t, reg::DRIVER_FEATURES, 0);
        w(t, reg::STATUS, ACKNOWLEDGE | DRIVER | FEATURES_OK);
        assert_eq!(r(t, reg::STATUS), ACKNOWLEDGE | DRIVER | FEATURES_OK);
        for &q in queues {
            w(t, reg::QUEUE_SEL, q);
            w(t, reg::QUEUE_NUM, size);
            for (i, a) in [mock.desc_table_addr(), mock.avail_addr(), mock.used_addr()].iter().enumerate() {
                w(t, reg::QUEUE_DESC_LOW + 0x10 * i as u64, a.0 as u32);
                w(t, reg::QUEUE_DESC_LOW + 0x10 * i as u64 + 4, (a.0 >> 32) as u32);
            }
            w(t, reg::QUEUE_READY, 1);
        }
        w(t, reg::STATUS, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        assert_eq!(t.failure(), None);
    }

    fn echo() -> (GuestMemoryMmap, MmioTransport<Echo>) {
        let mem = ram();
        let t = MmioTransport::new(Echo, 0xc000_1000, mem.clone(), Interrupt::detached(), 256);
        (mem, t)
    }

    #[test]
    fn identity_registers() {
        let (_, mut t) = echo();
        assert_eq!(r(&mut t, reg::MAGIC), 0x7472_6976);
        assert_eq!(r(&mut t, reg::VERSION), 2);
        assert_eq!(r(&mut t, reg::DEVICE_ID), 42);
        assert_eq!(r(&mut t, reg::DEVICE_FEATURES), 1);
        w(&mut t, reg::DEVICE_FEATURES_SEL, 1);
        assert_eq!(r(&mut t, reg::DEVICE_FEATURES), 1);
        assert_eq!(r(&mut t, reg::QUEUE_NUM_MAX), 256);
        w(&mut t, reg::QUEUE_SEL, 1);
        assert_eq!(r(&mut t, reg::QUEUE_NUM_MAX), 0, "no queue 1");
        let mut b = [0u8; 2];
        t.read(reg::CONFIG + 2, &mut b);
        assert_eq!(b, [3, 4]);
        t.read(reg::CONFIG + 0xeff, &mut b);
        assert_eq!(b, [0, 0]);
        assert_eq!(t.failure(), None);
    }

    #[test]
    fn a_notified_queue_is_served_and_interrupts() {
        let (mem, mut t) = echo();
        let mock = MockSplitQueue::new(&mem, 16);
        bring_up(&mut t, &mock, &[0], 16);
        mock.add_desc_chains(&[desc(0x8000, 16, 0, 0)], 0).unwrap();
        w(&mut t, reg::QUEUE_NOTIFY, 0);
        assert_eq!(mock.used().idx().load(), 1);
        assert_eq!(r(&mut t, reg::INTERRUPT_STATUS), USED_BUFFER);
        w(&mut t, reg::INTERRUPT_ACK, USED_BUFFER);
        assert_eq!(r(&mut t, reg::INTERRUPT_STATUS), 0);
        assert_eq!(t.failure(), None);
    }

    #[test]
    fn unaccepted_features_leave_features_ok_clear() {
        let (_, mut t) = echo();
        w(&mut t, reg::DRIVER_FEATURES, 2);
        w(&mut t, reg::STATUS, ACKNOWLEDGE | DRIVER | FEATURES_OK);
        assert_eq!(r(&mut t, reg::STATUS) & FEATURES_OK, 0);
        // ... and without VERSION_1 either.
        let (_, mut t) = echo();
        w(&mut t, reg::DRIVER_FEATURES, 1);
        w(&mut t, reg::STATUS, ACKNOWLEDGE | DRIVER | FEATURES_OK);
        assert_eq!(r(&mut t, reg::STATUS) & FEATURES_OK, 0);
        assert_eq!(t.failure(), None);
    }

    /// Each kind of bad programming: the device fails, says why, raises a
    /// config-change interrupt, ignores notifications, and a reset revives it.
    #[test]
    fn bad_programming_fails_the_device_until_reset() {
        type Program = Box<dyn Fn(&mut MmioTransport<Echo>, &MockSplitQueue<GuestMemoryMmap>)>;
        let cases: Vec<(&str, Program, Failure)> = vec![
            ("read-only register", Box::new(|t, _| w(t, reg::MAGIC, 1)), Failure::ReadOnlyRegister(0)),
            ("config write", Box::new(|t, _| t.write(reg::CONFIG + 1, &[9])), Failure::ConfigWrite(1)),
            ("narrow write", Box::new(|t, _| t.write(reg::STATUS, &[1])), Failure::BadWidth { offset: 0x70, len: 1 }),
            ("unknown register", Box::new(|t, _| w(t, 0x0c0, 1)), Failure::UnknownRegister(0xc0)),
            ("notify before DRIVER_OK", Box::new(|t, _| w(t, reg::QUEUE_NOTIFY, 0)), Failure::NotifyBeforeDriverOk(0)),
            ("notify no such queue", Box::new(|t, _| w(t, reg::QUEUE_NOTIFY, 7)), Failure::NoSuchQueue(7)),
            (
                "bad queue size",
                Box::new(|t, _| {
                    w(t, reg::QUEUE_NUM, 100);
                    w(t, reg::QUEUE_READY, 1);
                }),
                Failure::Queue(0, QueueError::BadSize(100)),
            ),
            (
                "ring outside RAM",
                Box::new(|t, _| {
                    w(t, reg::QUEUE_NUM, 16);
                    w(t, reg::QUEUE_DESC_LOW + 4, 0x10);
                    w(t, reg::QUEUE_READY, 1);
                }),
                Failure::Queue(0, QueueError::BadRings { desc: 0x10_0000_0000, avail: 0, used: 0 }),
            ),
            (
                "DRIVER_OK without FEATURES_OK",
                Box::new(|t, _| w(t, reg::STATUS, ACKNOWLEDGE | DRIVER | DRIVER_OK)),
                Failure::DriverOkWithoutFeatures,
            ),
            (
                "looping chain",
                Box::new(|t, mock| {
                    bring_up(t, mock, &[0], 16);
                    mock.add_desc_chains(&[desc(0x8000, 16, 1, 0)], 0).unwrap();
                    w(t, reg::QUEUE_NOTIFY, 0);
                }),
                Failure::Queue(0, QueueError::Unterminated { head: 0, size: 16 }),
            ),
            (
                "queue changed while ready",
                Box::new(|t, mock| {
                    bring_up(t, mock, &[0], 16);
                    w(t, reg::QUEUE_NUM, 8);
                }),
                Failure::Queue(0, QueueError::ChangedWhileReady),
            ),
        ];
        for (what, program, want) in cases {
            let (mem, mut t) = echo();
            let mock = MockSplitQueue::new(&mem, 16);
            program(&mut t, &mock);
            assert_eq!(t.failure(), Some(&want), "{what}");
            assert_ne!(r(&mut t, reg::STATUS) & NEEDS_RESET, 0, "{what}");
            assert_ne!(r(&mut t, reg::INTERRUPT_STATUS) & CONFIG_CHANGE, 0, "{what}");
            // Failed: a good chain is not served.
            let used = mock.used().idx().load();
            w(&mut t, reg::QUEUE_NOTIFY, 0);
            assert_eq!(mock.used().idx().load(), used, "{what}");
            // A reset revives it.
            w(&mut t, reg::STATUS, 0);
            assert_eq!((r(&mut t, reg::STATUS), t.failure()), (0, None), "{what}");
            let mock = MockSplitQueue::create(&mem, vm_memory::GuestAddress(0x4_0000), 16);
            bring_up(&mut t, &mock, &[0], 16);
            mock.add_desc_chains(&[desc(0x8000, 16, 0, 0)], 0).unwrap();
            w(&mut t, reg::QUEUE_NOTIFY, 0);
            assert_eq!(mock.used().idx().load(), 1, "{what}");
        }
    }
}
