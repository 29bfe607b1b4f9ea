//! virtio-balloon (`--balloon`) for free-page reporting only (virtio 1.2,
//! 5.5, VIRTIO_BALLOON_F_REPORTING): every buffer on the reporting queue is
//! a run of guest memory the guest no longer uses, which the harness drops
//! with madvise(MADV_DONTNEED) on its anonymous mapping of guest RAM (the
//! guest finds zeros there when it touches the run again), then returns
//! used with length 0, as QEMU does. The host never asks for pages back
//! (`num_pages` stays 0), so buffers on the inflate and deflate queues are
//! returned untouched, with one line on stderr the first time.
//!
//! A report that is not whole 4 KiB pages or not device-writable fails the
//! device, as a chain outside RAM or one that does not end does (queue.rs).

use virtio_bindings::virtio_ids::VIRTIO_ID_BALLOON;
use vm_memory::{GuestAddress, GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion};

use super::core::{Failure, VirtioDevice, F_VERSION_1};
use super::queue::{Desc, VirtQueue};
use super::state::DeviceKind;

/// VIRTIO_BALLOON_F_REPORTING (not in virtio-bindings).
pub const F_REPORTING: u64 = 1 << 5;
/// The balloon's page size: reports are in whole ones.
const PAGE: u64 = 4096;
/// Queue numbers. Without STATS_VQ and FREE_PAGE_HINT offered (neither
/// is), the reporting queue follows inflateq and deflateq.
pub const INFLATEQ: u16 = 0;
pub const DEFLATEQ: u16 = 1;
pub const REPORTQ: u16 = 2;
/// Config offset of `actual`, the only field the driver writes.
const ACTUAL: u64 = 4;

#[derive(Default)]
pub struct Balloon {
    /// `actual`: pages the driver says it holds (it never inflates, but the
    /// field is the driver's to write).
    actual: u32,
    /// Bytes dropped so far (for the tests and the curious).
    pub discarded: u64,
    warned: bool,
}

impl Balloon {
    pub fn new() -> Balloon {
        Balloon::default()
    }

    /// Check that one reported buffer is whole pages the device may drop.
    fn check(q: u16, head: u16, d: &Desc) -> Result<(), Failure> {
        let bad = |why: String| Failure::Request(q, format!("virtio-balloon report {head}: {why}"));
        if !d.writable {
            return Err(bad(format!("buffer {:#x}+{:#x} is not device-writable", d.addr, d.len)));
        }
        if !(d.addr | u64::from(d.len)).is_multiple_of(PAGE) {
            return Err(bad(format!("buffer {:#x}+{:#x} is not whole 4 KiB pages", d.addr, d.len)));
        }
        Ok(())
    }

    /// Drop one checked buffer's pages on the host.
    fn discard(&mut self, q: u16, head: u16, d: &Desc, mem: &GuestMemoryMmap) -> Result<(), Failure> {
        let bad = |why: String| Failure::Request(q, format!("virtio-balloon report {head}: {why}"));
        let len = u64::from(d.len);
        // Inside RAM (the queue checked), so `end` does not wrap; a run may
        // still cross from one region's mapping into the next one's.
        let (mut addr, end) = (d.addr, d.addr + len);
        while addr < end {
            let outside = || bad(format!("{addr:#x} is not guest RAM"));
            let region = mem.find_region(GuestAddress(addr)).ok_or_else(outside)?;
            let region_end = region.start_addr().0 + region.len();
            let n = end.min(region_end) - addr;
            let host = mem.get_host_address(GuestAddress(addr)).map_err(|_| outside())?;
            // The harness holds no Rust references into guest memory
            // (vm-memory copies volatile), so dropping the pages only makes
            // the guest read zeros there next, which a reported run may hold.
            // SAFETY: `host..host + n` lies in one region of `mem`, a mapping that lives as long as `mem`.
            let r = unsafe { libc::madvise(host.cast(), n as usize, libc::MADV_DONTNEED) };
            if r != 0 {
                let e = std::io::Error::last_os_error();
                return Err(bad(format!("madvise {addr:#x}+{n:#x}: {e}")));
            }
            self.discarded += n;
            addr += n;
        }
        Ok(())
    }
}

impl VirtioDevice for Balloon {
    fn name(&self) -> &'static str {
        "virtio-balloon"
    }

    fn device_type(&self) -> u32 {
        VIRTIO_ID_BALLOON
    }

    fn features(&self) -> u64 {
        F_VERSION_1 | F_REPORTING
    }

    fn queue_count(&self) -> usize {
        3
    }

    /// num_pages (always 0: the host wants nothing back), actual.
    fn config(&self) -> Vec<u8> {
        let mut c = 0u32.to_le_bytes().to_vec();
        c.extend_from_slice(&self.actual.to_le_bytes());
        c
    }

    fn write_config(&mut self, offset: u64, data: &[u8]) -> Result<(), Failure> {
        let end = offset.checked_add(data.len() as u64);
        if offset < ACTUAL || end.is_none_or(|e| e > ACTUAL + 4) {
            return Err(Failure::ConfigWrite(offset));
        }
        let mut bytes = self.actual.to_le_bytes();
        let at = (offset - ACTUAL) as usize;
        bytes[at..at + data.len()].copy_from_slice(data);
        self.actual = u32::from_le_bytes(bytes);
        Ok(())
    }

    fn notify(&mut self, q: u16, queues: &mut [VirtQueue], mem: &GuestMemoryMmap) -> Result<bool, Failure> {
        let queue = queues.get_mut(usize::from(q)).ok_or(Failure::NoSuchQueue(u32::from(q)))?;
        let qe = |e| Failure::Queue(q, e);
        let report = match q {
            REPORTQ => true,
            INFLATEQ | DEFLATEQ => false,
            _ => return Err(Failure::NoSuchQueue(u32::from(q))),
        };
        // Nothing of a report is copied, so its size is bounded only by RAM
        // (the driver's runs are up to 1 GiB a buffer).
        let max = if report { u64::MAX } else { super::queue::MAX_CHAIN_BYTES };
        let mut used = false;
        while let Some(c) = queue.pop_up_to(mem, max).map_err(qe)? {
            if report {
                // The whole chain first: a bad one drops nothing.
                for d in &c.descs {
                    Balloon::check(q, c.head, d)?;
                }
                for d in &c.descs {
                    self.discard(q, c.head, d, mem)?;
                }
            } else if !self.warned {
                self.warned = true;
                eprintln!("vmm-harness: virtio-balloon: inflation is not supported; buffers are returned untouched");
            }
            queue.add_used(mem, c.head, 0).map_err(qe)?;
            used = true;
        }
        Ok(used)
    }

    fn reset(&mut self) {
        self.actual = 0;
    }

    fn kind(&self) -> Option<DeviceKind> {
        Some(DeviceKind::Balloon { actual: self.actual })
    }

    fn restore_kind(&mut self, kind: &DeviceKind) -> Result<(), String> {
        match kind {
            DeviceKind::Balloon { actual } => {
                self.actual = *actual;
                Ok(())
            }
            other => Err(format!("a {} was saved here", other.name())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::virtio::irq::{Interrupt, Irq};
    use crate::devices::virtio::mmio::tests::{bring_up, r, w};
    use crate::devices::virtio::mmio::MmioTransport;
    use crate::devices::virtio::queue::tests::{desc, ram};
    use crate::devices::virtio::queue::QueueError;
    use virtio_queue::mock::MockSplitQueue;
    use vm_memory::Bytes;

    const NEXT: u16 = 1;
    const WRITE: u16 = 2;
    /// ram()'s size.
    const RAM: u64 = 0x10_0000;
    const NOTIFY: u64 = 0x50;
    const CONFIG: u64 = 0x100;
    const STATUS: u64 = 0x70;

    fn device(mem: &GuestMemoryMmap) -> MmioTransport<Balloon> {
        MmioTransport::new(Balloon::new(), 0xc000_1000, mem.clone(), Irq::Line(Interrupt::detached()), 256)
    }

    /// A device with its reporting queue up on the mock's rings.
    fn reporting(mem: &GuestMemoryMmap) -> (MmioTransport<Balloon>, MockSplitQueue<'_, GuestMemoryMmap>) {
        let mut t = device(mem);
        let mock = MockSplitQueue::new(mem, 16);
        bring_up(&mut t, &mock, &[u32::from(REPORTQ)], 16);
        (t, mock)
    }

    fn fill(mem: &GuestMemoryMmap, addr: u64, len: usize, v: u8) {
        mem.write_slice(&vec![v; len], GuestAddress(addr)).unwrap();
    }

    fn all(mem: &GuestMemoryMmap, addr: u64, len: usize, v: u8) -> bool {
        let mut b = vec![!v; len];
        mem.read_slice(&mut b, GuestAddress(addr)).unwrap();
        b.iter().all(|&x| x == v)
    }

    #[test]
    fn identity_and_config() {
        let mem = ram();
        let mut t = device(&mem);
        assert_eq!(r(&mut t, 0x08), 5, "device type");
        assert_eq!(r(&mut t, 0x10), 1 << 5, "REPORTING");
        w(&mut t, 0x14, 1);
        assert_eq!(r(&mut t, 0x10), 1, "VERSION_1");
        w(&mut t, 0x30, u32::from(REPORTQ));
        assert_eq!(r(&mut t, 0x34), 256, "a reporting queue");
        w(&mut t, 0x30, 3);
        assert_eq!(r(&mut t, 0x34), 0, "no statsq or free_page_vq after it");
        assert_eq!((r(&mut t, CONFIG), r(&mut t, CONFIG + 4)), (0, 0));
        // `actual` is the driver's, whole or a byte at a time.
        w(&mut t, CONFIG + 4, 0x1234_5678);
        t.write(CONFIG + 7, &[0xab]);
        assert_eq!(r(&mut t, CONFIG + 4), 0xab34_5678);
        assert_eq!(t.failure(), None);
        // A reset clears it.
        w(&mut t, STATUS, 0);
        assert_eq!(r(&mut t, CONFIG + 4), 0);
        // num_pages is the host's.
        w(&mut t, CONFIG, 1);
        assert_eq!(t.failure(), Some(&Failure::ConfigWrite(0)));
        let mut t = device(&mem);
        w(&mut t, CONFIG + 6, 1);
        assert_eq!(t.failure(), Some(&Failure::ConfigWrite(6)), "past actual's end");
    }

    #[test]
    fn actual_is_writable_over_pci_too() {
        use crate::devices::virtio::layout::bar;
        use crate::devices::virtio::msix::Msix;
        use crate::devices::virtio::pci::PciTransport;
        let mem = ram();
        let irq = Irq::Msix(Msix::new(None, 3));
        let mut t = PciTransport::new(Balloon::new(), 1, 0xc100_0000, mem, irq, 256);
        t.bar_write(bar::DEVICE + 4, &7u32.to_le_bytes());
        let mut b = [0u8; 8];
        t.bar_read(bar::DEVICE, &mut b);
        assert_eq!(b, [0, 0, 0, 0, 7, 0, 0, 0]);
        assert_eq!(t.core.failure(), None);
        t.bar_write(bar::DEVICE, &1u32.to_le_bytes());
        assert_eq!(t.core.failure(), Some(&Failure::ConfigWrite(0)));
    }

    /// A device saved mid-run and restored into a fresh window goes on:
    /// the next report is served, `actual` and InterruptStatus came back,
    /// and the saved one serves nothing more. State for another window, for
    /// the other transport or for another device type is refused.
    #[test]
    fn a_saved_device_restored_elsewhere_goes_on() {
        let mem = ram();
        let (mut t, mock) = reporting(&mem);
        w(&mut t, CONFIG + 4, 9);
        mock.add_desc_chains(&[desc(0x20000, 0x1000, WRITE, 0)], 0).unwrap();
        w(&mut t, NOTIFY, u32::from(REPORTQ));
        let saved = t.save().unwrap();
        mock.add_desc_chains(&[desc(0x21000, 0x1000, WRITE, 0)], 1).unwrap();
        w(&mut t, NOTIFY, u32::from(REPORTQ));
        assert_eq!(mock.used().idx().load(), 1, "frozen once saved");
        let mut back = device(&mem);
        back.restore(&saved).unwrap();
        assert_eq!((r(&mut back, STATUS), r(&mut back, CONFIG + 4), r(&mut back, 0x60)), (0xf, 9, 1));
        w(&mut back, NOTIFY, u32::from(REPORTQ));
        assert_eq!(mock.used().idx().load(), 2);
        assert_eq!(back.failure(), None);

        let line = Irq::Line(Interrupt::detached());
        let mut elsewhere = MmioTransport::new(Balloon::new(), 0xc000_2000, mem.clone(), line, 256);
        assert!(elsewhere.restore(&saved).unwrap_err().contains("saved at 0xc0001000"));
        let irq = Irq::Msix(crate::devices::virtio::msix::Msix::new(None, 3));
        let mut pci =
            crate::devices::virtio::pci::PciTransport::new(Balloon::new(), 1, 0xc000_1000, mem.clone(), irq, 256);
        assert_eq!(pci.restore(&saved).unwrap_err(), "saved on virtio-mmio");
        let mut other = saved.clone();
        other.kind = DeviceKind::Net { backend: crate::devices::virtio::backend::NetArgs::Loopback, mac: [0; 6] };
        assert_eq!(device(&mem).restore(&other).unwrap_err(), "a virtio-net was saved here");
        other.kind = DeviceKind::Balloon { actual: 0 };
        other.core.queues.pop();
        assert_eq!(device(&mem).restore(&other).unwrap_err(), "2 queues saved, the device has 3");
    }

    #[test]
    fn the_pci_transport_round_trips_its_msix_state() {
        use crate::devices::virtio::layout::bar;
        use crate::devices::virtio::msix::Msix;
        use crate::devices::virtio::pci::PciTransport;
        let mem = ram();
        let new = || PciTransport::new(Balloon::new(), 1, 0xc100_0000, mem.clone(), Irq::Msix(Msix::new(None, 3)), 256);
        let mut t = new();
        t.config_write(0x04, &6u16.to_le_bytes());
        t.bar_write(bar::MSIX_TABLE + 16, &0xfee0_0000u64.to_le_bytes());
        t.config_write(0x86, &(1u16 << 15).to_le_bytes());
        t.bar_write(bar::DEVICE + 4, &5u32.to_le_bytes());
        let saved = t.save().unwrap();
        let mut back = new();
        back.restore(&saved).unwrap();
        assert_eq!(back.save().unwrap(), saved);
        let mut b = [0u8; 4];
        back.config_read(0x84, &mut b);
        assert_ne!(u32::from_le_bytes(b) & 1 << 31, 0, "MSI-X still enabled");
        back.bar_read(bar::MSIX_TABLE + 16, &mut b);
        assert_eq!(u32::from_le_bytes(b), 0xfee0_0000);
    }

    #[test]
    fn a_reported_run_reads_back_as_zeros() {
        let mem = ram();
        let (mut t, mock) = reporting(&mem);
        fill(&mem, 0x20000, 0x6000, 0xaa);
        // Two runs in one chain, then a run of its own; 0x22000 is not reported.
        mock.add_desc_chains(&[desc(0x20000, 0x2000, WRITE | NEXT, 1), desc(0x23000, 0x1000, WRITE, 0)], 0).unwrap();
        mock.add_desc_chains(&[desc(0x24000, 0x2000, WRITE, 0)], 2).unwrap();
        w(&mut t, NOTIFY, u32::from(REPORTQ));
        assert_eq!(t.failure(), None);
        assert_eq!(mock.used().idx().load(), 2);
        assert_eq!(mock.used().ring().ref_at(0).unwrap().load().len(), 0);
        assert!(all(&mem, 0x20000, 0x2000, 0) && all(&mem, 0x23000, 0x3000, 0), "reported pages are zero");
        assert!(all(&mem, 0x22000, 0x1000, 0xaa), "the page between them is kept");
        assert_eq!(t.core.device.discarded, 0x5000);
        // The guest may use a reported run again.
        fill(&mem, 0x20000, 0x1000, 0x55);
        assert!(all(&mem, 0x20000, 0x1000, 0x55));
    }

    #[test]
    fn bad_reports_fail_the_device_and_keep_memory() {
        type Case = (&'static str, Vec<virtio_queue::desc::RawDescriptor>, fn(&Failure) -> bool);
        let cases: Vec<Case> = vec![
            ("outside RAM", vec![desc(RAM - 0x1000, 0x2000, WRITE, 0)], |f| {
                matches!(f, Failure::Queue(2, QueueError::OutsideRam { .. }))
            }),
            ("far outside RAM", vec![desc(1 << 40, 0x1000, WRITE, 0)], |f| {
                matches!(f, Failure::Queue(2, QueueError::OutsideRam { .. }))
            }),
            (
                "misaligned address",
                vec![desc(0x20800, 0x1000, WRITE, 0)],
                |f| matches!(f, Failure::Request(2, m) if m.contains("whole 4 KiB pages")),
            ),
            (
                "misaligned length",
                vec![desc(0x20000, 0x1800, WRITE, 0)],
                |f| matches!(f, Failure::Request(2, m) if m.contains("whole 4 KiB pages")),
            ),
            (
                "good then misaligned",
                vec![desc(0x20000, 0x1000, WRITE | NEXT, 1), desc(0x21000, 0x800, WRITE, 0)],
                |f| matches!(f, Failure::Request(2, m) if m.contains("whole 4 KiB pages")),
            ),
            (
                "readable",
                vec![desc(0x20000, 0x1000, 0, 0)],
                |f| matches!(f, Failure::Request(2, m) if m.contains("not device-writable")),
            ),
            ("loop", vec![desc(0x20000, 0x1000, WRITE | NEXT, 1), desc(0x21000, 0x1000, WRITE | NEXT, 0)], |f| {
                matches!(f, Failure::Queue(2, QueueError::Unterminated { .. }))
            }),
            ("next past the table", vec![desc(0x20000, 0x1000, WRITE | NEXT, 200)], |f| {
                matches!(f, Failure::Queue(2, QueueError::Unterminated { .. }))
            }),
        ];
        for (what, chain, want) in cases {
            let mem = ram();
            let (mut t, mock) = reporting(&mem);
            fill(&mem, 0x20000, 0x2000, 0xaa);
            mock.add_desc_chains(&chain, 0).unwrap();
            w(&mut t, NOTIFY, u32::from(REPORTQ));
            let f = t.failure().cloned();
            assert!(f.as_ref().is_some_and(want), "{what}: {f:?}");
            assert_ne!(r(&mut t, STATUS) & 0x40, 0, "{what}: NEEDS_RESET");
            assert_eq!(mock.used().idx().load(), 0, "{what}");
            assert!(all(&mem, 0x20000, 0x2000, 0xaa), "{what}: nothing discarded");
        }
    }

    #[test]
    fn inflate_and_deflate_buffers_come_back_untouched() {
        let mem = ram();
        let mut t = device(&mem);
        let inflate = MockSplitQueue::new(&mem, 16);
        let deflate = MockSplitQueue::create(&mem, GuestAddress(0x4_0000), 16);
        bring_up(&mut t, &inflate, &[u32::from(INFLATEQ)], 16);
        // Page frame numbers (readable), as a driver that inflates sends them.
        mem.write_obj(0x20u32, GuestAddress(0x8000)).unwrap();
        fill(&mem, 0x20000, 0x1000, 0xaa);
        inflate.add_desc_chains(&[desc(0x8000, 4, 0, 0)], 0).unwrap();
        w(&mut t, NOTIFY, u32::from(INFLATEQ));
        assert_eq!(inflate.used().idx().load(), 1);
        assert!(all(&mem, 0x20000, 0x1000, 0xaa));
        assert_eq!(t.failure(), None);
        // The deflate queue, brought up after a reset.
        w(&mut t, STATUS, 0);
        bring_up(&mut t, &deflate, &[u32::from(DEFLATEQ)], 16);
        deflate.add_desc_chains(&[desc(0x8000, 4, 0, 0)], 0).unwrap();
        w(&mut t, NOTIFY, u32::from(DEFLATEQ));
        assert_eq!(deflate.used().idx().load(), 1);
        assert_eq!((t.failure(), t.core.device.discarded), (None, 0));
    }
}
