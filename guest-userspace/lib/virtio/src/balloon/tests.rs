//! virtio-balloon reporting against a mock device: the queue number it
//! picks, runs split into descriptors and all reported before `report`
//! returns, and each way a device can refuse or lie.
use super::*;
use crate::features::{BALLOON_PAGE_POISON, VERSION_1};
use crate::mock::mem;
use crate::transport::QueueAddrs;
use std::cell::RefCell;
use std::rc::Rc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lie {
    None,
    UsedId(u32),
    UsedLen(u32),
    /// Never uses anything.
    Silent,
}

struct State {
    offered: u64,
    accepted: u64,
    status: u8,
    /// Sizes of queues 0.. (missing: 0).
    queue_max: Vec<u16>,
    q: Option<(u16, u16, QueueAddrs)>,
    num_pages: u32,
    lie: Lie,
    /// What the device discarded: (pa, len) per descriptor.
    discarded: Vec<(u64, u32)>,
    last_avail: u16,
    used_idx: u16,
}

#[derive(Clone)]
struct Mock(Rc<RefCell<State>>);

fn rd<V: Copy>(pa: u64) -> V {
    // SAFETY: the driver put `pa` in its ring; in host tests it is live memory from `mem`.
    unsafe { (pa as *const V).read_volatile() }
}
fn wr<V: Copy>(pa: u64, v: V) {
    // SAFETY: as for `rd`.
    unsafe { (pa as *mut V).write_volatile(v) }
}

impl Mock {
    /// QEMU's balloon with free-page-reporting=on: STATS_VQ offered, queues
    /// 0-2 of 128 entries, reporting queue 3 of 32.
    fn qemu() -> Self {
        Mock(Rc::new(RefCell::new(State {
            offered: VERSION_1 | BALLOON_STATS_VQ | BALLOON_PAGE_POISON | BALLOON_REPORTING,
            accepted: 0,
            status: 0,
            queue_max: vec![128, 128, 128, 32],
            q: None,
            num_pages: 0,
            lie: Lie::None,
            discarded: Vec::new(),
            last_avail: 0,
            used_idx: 0,
        })))
    }

    fn serve(&self) {
        let mut s = self.0.borrow_mut();
        let Some((_, size, a)) = s.q else { return };
        if s.lie == Lie::Silent {
            return;
        }
        let size = u64::from(size);
        while s.last_avail != rd::<u16>(a.avail + 2) {
            let head: u16 = rd(a.avail + 4 + 2 * (u64::from(s.last_avail) % size));
            s.last_avail = s.last_avail.wrapping_add(1);
            let at = a.desc + 16 * u64::from(head);
            let (pa, len, flags) = (rd::<u64>(at), rd::<u32>(at + 8), rd::<u16>(at + 12));
            assert_eq!(flags, 2, "one device-writable descriptor per chain");
            s.discarded.push((pa, len));
            let (id, used_len) = match s.lie {
                Lie::UsedId(i) => (i, 0),
                Lie::UsedLen(l) => (u32::from(head), l),
                _ => (u32::from(head), 0),
            };
            let elem = a.used + 4 + 8 * (u64::from(s.used_idx) % size);
            wr(elem, id);
            wr(elem + 4, used_len);
            s.used_idx = s.used_idx.wrapping_add(1);
            wr(a.used + 2, s.used_idx);
        }
    }
}

impl Transport for Mock {
    fn device_type(&self) -> u32 {
        DEVICE_TYPE
    }
    fn reset(&mut self) -> Result<()> {
        let mut s = self.0.borrow_mut();
        s.status = 0;
        s.q = None;
        Ok(())
    }
    fn status(&self) -> u8 {
        self.0.borrow().status
    }
    fn set_status(&mut self, v: u8) {
        self.0.borrow_mut().status = v;
    }
    fn device_features(&mut self) -> u64 {
        self.0.borrow().offered
    }
    fn set_driver_features(&mut self, f: u64) {
        self.0.borrow_mut().accepted = f;
    }
    fn queue_max(&mut self, q: u16) -> u16 {
        self.0.borrow().queue_max.get(usize::from(q)).copied().unwrap_or(0)
    }
    fn queue_setup(&mut self, q: u16, size: u16, addrs: QueueAddrs) -> Result<()> {
        self.0.borrow_mut().q = Some((q, size, addrs));
        Ok(())
    }
    fn notify(&mut self, _q: u16) {}
    fn ack_interrupt(&mut self) -> u8 {
        1
    }
    fn config_generation(&self) -> u32 {
        0
    }
    fn config_len(&self) -> u64 {
        8
    }
    fn config_read32(&self, off: u64) -> u32 {
        if off == 0 {
            self.0.borrow().num_pages
        } else {
            0
        }
    }
}

fn balloon(dev: &Mock) -> Result<Balloon<Mock>> {
    Balloon::new(dev.clone(), mem(queue::layout(queue::MAX_SIZE).2))
}

/// `report` with the mock serving whenever the driver waits.
fn report(b: &mut Balloon<Mock>, dev: &Mock, runs: &[Run]) -> Result<()> {
    let mut waits = 0;
    b.report(runs, &mut || {
        waits += 1;
        if waits > 1000 {
            return Err(Error::TimedOut);
        }
        dev.serve();
        Ok(())
    })
}

#[test]
fn negotiates_reporting_and_picks_the_queue_after_stats() {
    let dev = Mock::qemu();
    let b = balloon(&dev).unwrap();
    let s = dev.0.borrow();
    assert_eq!(s.accepted, VERSION_1 | BALLOON_STATS_VQ | BALLOON_REPORTING, "no PAGE_POISON");
    assert_eq!(s.status & features::status::DRIVER_OK, features::status::DRIVER_OK);
    assert_eq!((b.queue_index(), b.queue_size()), (3, 32));
    assert_eq!(s.q.unwrap().0, 3);
}

#[test]
fn queue_number_counts_what_the_device_offers() {
    // No statsq offered: reporting is queue 2.
    let dev = Mock::qemu();
    dev.0.borrow_mut().offered = VERSION_1 | BALLOON_REPORTING;
    dev.0.borrow_mut().queue_max = vec![128, 128, 32];
    assert_eq!(balloon(&dev).unwrap().queue_index(), 2);
    // QEMU with free-page-hint=on too: its hint queue is 3 even unnegotiated.
    let dev = Mock::qemu();
    dev.0.borrow_mut().offered |= BALLOON_FREE_PAGE_HINT;
    dev.0.borrow_mut().queue_max.push(32);
    let b = balloon(&dev).unwrap();
    assert_eq!(b.queue_index(), 4);
    assert_eq!(dev.0.borrow().accepted & BALLOON_FREE_PAGE_HINT, 0);
}

#[test]
fn reports_every_run_split_into_descriptors() {
    let dev = Mock::qemu();
    let mut b = balloon(&dev).unwrap();
    // 100 runs (more than the 32-entry queue) and one of 2.5 GiB.
    let mut runs: Vec<Run> =
        (0..100u64).map(|i| Run { addr: (1 << 32) + i * (1 << 21), len: 4096 * (i + 1) }).collect();
    runs.push(Run { addr: 1 << 40, len: 5 << 29 });
    report(&mut b, &dev, &runs).unwrap();
    let d = &dev.0.borrow().discarded;
    assert_eq!(d.len(), 103);
    assert_eq!(d[99], ((1 << 32) + 99 * (1 << 21), 4096 * 100));
    assert_eq!(&d[100..], &[(1 << 40, 1 << 30), ((1 << 40) + (1 << 30), 1 << 30), ((1 << 40) + (2 << 30), 1 << 29)]);
    assert_eq!(b.q.in_flight(), 0);
}

#[test]
fn a_device_without_reporting_is_refused() {
    let dev = Mock::qemu();
    dev.0.borrow_mut().offered = VERSION_1 | BALLOON_STATS_VQ;
    assert_eq!(balloon(&dev).err(), Some(Error::FeatureMissing(BALLOON_REPORTING)));
    assert_eq!(dev.0.borrow().status & features::status::FAILED, features::status::FAILED);
    let dev = Mock::qemu();
    dev.0.borrow_mut().offered &= !VERSION_1;
    assert_eq!(balloon(&dev).err(), Some(Error::NotModern));
}

#[test]
fn a_reporting_queue_of_size_0_is_refused() {
    let dev = Mock::qemu();
    dev.0.borrow_mut().queue_max[3] = 0;
    assert_eq!(balloon(&dev).err(), Some(Error::QueueUnavailable(3)));
    assert!(dev.0.borrow().q.is_none());
}

#[test]
fn lying_used_entries_are_errors() {
    for (lie, want) in [
        (Lie::UsedId(4096), Error::BadUsedId(4096)),
        (Lie::UsedId(7), Error::NotInFlight(7)),
        (Lie::UsedLen(8192), Error::BadUsedLen { id: 0, len: 8192 }),
        (Lie::Silent, Error::TimedOut),
    ] {
        let dev = Mock::qemu();
        let mut b = balloon(&dev).unwrap();
        dev.0.borrow_mut().lie = lie;
        let r = report(&mut b, &dev, &[Run { addr: 1 << 30, len: 4096 }]);
        assert_eq!(r, Err(want), "{lie:?}");
    }
}

#[test]
fn bad_runs_are_refused_before_anything_is_posted() {
    let dev = Mock::qemu();
    let mut b = balloon(&dev).unwrap();
    for bad in [Run { addr: 4096, len: 0 }, Run { addr: 100, len: 4096 }, Run { addr: u64::MAX - 4095, len: 8192 }] {
        assert_eq!(report(&mut b, &dev, &[bad]), Err(Error::BadBuffer), "{bad:?}");
    }
    assert!(dev.0.borrow().discarded.is_empty());
}

#[test]
fn the_host_target_is_read() {
    let dev = Mock::qemu();
    let b = balloon(&dev).unwrap();
    assert_eq!(b.target_pages(), Ok(0));
    dev.0.borrow_mut().num_pages = 2560;
    assert_eq!(b.target_pages(), Ok(2560));
}
