//! The virtio-mmio transport, version 2 (virtio 1.2, 4.2.2): the register
//! window of one device over its [`VirtioCore`]. Besides the core's
//! failures, a write to a read-only or unknown register, of a width other
//! than 4 bytes, or to a read-only device config field fails the device.

use vm_memory::GuestMemoryMmap;

use super::core::{Failure, Transport, VirtioCore, VirtioDevice};
use super::irq::Irq;
use super::state::{DeviceState, TransportState};

/// "virt".
const MAGIC_VALUE: u32 = 0x7472_6976;
const VERSION: u32 = 2;
/// "VIRE", Vireo's harness.
pub const VENDOR_ID: u32 = u32::from_le_bytes(*b"VIRE");

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

/// One virtio-mmio window.
pub struct MmioTransport<D> {
    pub core: VirtioCore<D>,
    base: u64,
    features_sel: u32,
    driver_features_sel: u32,
    queue_sel: u32,
}

impl<D: VirtioDevice> MmioTransport<D> {
    pub fn new(device: D, base: u64, mem: GuestMemoryMmap, irq: Irq, queue_max: u16) -> Self {
        let core = VirtioCore::new(device, format!("{base:#x}"), mem, irq, queue_max);
        MmioTransport { core, base, features_sel: 0, driver_features_sel: 0, queue_sel: 0 }
    }

    pub fn read(&mut self, offset: u64, data: &mut [u8]) {
        data.fill(0);
        if offset >= reg::CONFIG {
            read_config(&self.core.device.config(), offset - reg::CONFIG, data);
            return;
        }
        if data.len() != 4 {
            return;
        }
        let c = &self.core;
        let v = match offset {
            reg::MAGIC => MAGIC_VALUE,
            reg::VERSION => VERSION,
            reg::DEVICE_ID => c.device.device_type(),
            reg::VENDOR_ID => VENDOR_ID,
            reg::DEVICE_FEATURES => c.device_features(self.features_sel),
            reg::QUEUE_NUM_MAX => c.queue(self.queue_sel).map_or(0, |q| u32::from(q.max_size())),
            reg::QUEUE_READY => c.queue(self.queue_sel).map_or(0, |q| u32::from(q.ready())),
            reg::INTERRUPT_STATUS => c.irq.status(),
            reg::STATUS => c.status(),
            _ => 0,
        };
        data.copy_from_slice(&v.to_le_bytes());
    }

    pub fn write(&mut self, offset: u64, data: &[u8]) {
        if let Err(e) = self.write_register(offset, data) {
            self.core.fail(e);
        }
    }

    fn write_register(&mut self, offset: u64, data: &[u8]) -> Result<(), Failure> {
        if offset >= reg::CONFIG {
            return self.core.device.write_config(offset - reg::CONFIG, data);
        }
        let Ok(bytes) = <[u8; 4]>::try_from(data) else {
            return Err(Failure::BadWidth { offset, len: data.len() });
        };
        let v = u32::from_le_bytes(bytes);
        let sel = self.queue_sel;
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
            reg::DRIVER_FEATURES => self.core.set_driver_features(self.driver_features_sel, v),
            reg::QUEUE_SEL => {
                self.queue_sel = v;
                Ok(())
            }
            reg::QUEUE_NUM => self.core.with_queue(sel, |q, _| q.set_size(v)),
            reg::QUEUE_READY => self.core.with_queue(sel, |q, mem| q.set_ready(v == 1, mem)),
            reg::QUEUE_DESC_LOW..=reg::QUEUE_USED_HIGH if offset.is_multiple_of(4) && (offset & 0xf) < 8 => {
                let ring = ((offset - reg::QUEUE_DESC_LOW) / 0x10) as usize;
                let high = offset & 4 != 0;
                self.core.with_queue(sel, |q, _| q.set_address(ring, high, v))
            }
            reg::QUEUE_NOTIFY => self.core.notify(v),
            reg::INTERRUPT_ACK => {
                self.core.irq.ack(v);
                Ok(())
            }
            reg::STATUS => {
                if v == 0 {
                    self.features_sel = 0;
                    self.driver_features_sel = 0;
                    self.queue_sel = 0;
                }
                self.core.set_status(v)
            }
            _ => Err(Failure::UnknownRegister(offset)),
        }
    }
}

impl<D: VirtioDevice> MmioTransport<D> {
    /// The state for a snapshot (the device then serves nothing more).
    pub fn save(&mut self) -> Option<DeviceState> {
        let kind = self.core.device.kind()?;
        let transport = TransportState::Mmio {
            features_sel: self.features_sel,
            driver_features_sel: self.driver_features_sel,
            queue_sel: self.queue_sel,
            interrupt_status: self.core.irq.status(),
        };
        Some(DeviceState { base: self.base, kind, core: self.core.save(), transport })
    }

    /// Back to a saved state, or why it does not fit this window.
    pub fn restore(&mut self, s: &DeviceState) -> Result<(), String> {
        let TransportState::Mmio { features_sel, driver_features_sel, queue_sel, interrupt_status } = s.transport
        else {
            return Err("saved on virtio-pci".into());
        };
        if s.base != self.base {
            return Err(format!("saved at {:#x}, restored at {:#x}", s.base, self.base));
        }
        self.core.device.restore_kind(&s.kind)?;
        self.core.restore(&s.core)?;
        (self.features_sel, self.driver_features_sel, self.queue_sel) = (features_sel, driver_features_sel, queue_sel);
        if let Irq::Line(i) = &self.core.irq {
            i.set_status(interrupt_status);
        }
        Ok(())
    }
}

/// Bytes of a device config at `offset`; zeros past its end.
pub fn read_config(config: &[u8], offset: u64, data: &mut [u8]) {
    let start = usize::try_from(offset).unwrap_or(usize::MAX);
    for (i, d) in data.iter_mut().enumerate() {
        *d = start.checked_add(i).and_then(|j| config.get(j)).copied().unwrap_or(0);
    }
}

#[cfg(test)]
impl<D: VirtioDevice> MmioTransport<D> {
    pub fn failure(&self) -> Option<&Failure> {
        self.core.failure()
    }
}

impl<D: VirtioDevice> Transport<D> for MmioTransport<D> {
    fn core(&mut self) -> &mut VirtioCore<D> {
        &mut self.core
    }
}

impl<D: VirtioDevice> crate::devices::MmioDevice for MmioTransport<D> {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        MmioTransport::read(self, offset, data)
    }
    fn write(&mut self, offset: u64, data: &[u8]) {
        MmioTransport::write(self, offset, data)
    }
    fn save(&mut self) -> Option<DeviceState> {
        MmioTransport::save(self)
    }
}

#[cfg(test)]
pub mod tests {
    //! The transport driven as a driver would, on a device that echoes
    //! (returns every chain with its readable length).
    use super::*;
    use crate::devices::virtio::core::status::*;
    use crate::devices::virtio::core::F_VERSION_1;
    use crate::devices::virtio::irq::{Interrupt, CONFIG_CHANGE, USED_BUFFER};
    use crate::devices::virtio::queue::tests::{desc, ram};
    use crate::devices::virtio::queue::{QueueError, VirtQueue};
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
        let t = MmioTransport::new(Echo, 0xc000_1000, mem.clone(), Irq::Line(Interrupt::detached()), 256);
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
