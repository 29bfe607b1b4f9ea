//! virtio-blk against the mock device: data round trips with many
//! requests in flight, refusals, and every lie the device can tell.
use super::*;
use crate::features::{BLK_SEG_MAX, VERSION_1};
use crate::mock::{mem, Lie, MockBlk};

const MIB64: u64 = 64 << 20;

fn blk(dev: &MockBlk) -> Result<Blk<MockBlk>> {
    Blk::new(dev.clone(), mem(queue::layout(queue::MAX_SIZE).2), mem(REQ_MEM))
}

/// The mock serves what is queued when the driver waits.
fn serve(dev: &MockBlk) -> impl FnMut() -> Result<()> + '_ {
    move || {
        dev.0.borrow_mut().serve();
        Ok(())
    }
}

#[test]
fn negotiates_only_the_features_it_understands() {
    let dev = MockBlk::new(MIB64 / 512, 0);
    let b = blk(&dev).unwrap();
    let s = dev.0.borrow();
    assert_eq!(s.accepted, VERSION_1 | BLK_FLUSH | BLK_BLK_SIZE);
    assert_eq!(s.accepted & BLK_SEG_MAX, 0);
    assert_eq!(s.status & features::status::DRIVER_OK, features::status::DRIVER_OK);
    assert_eq!(s.q.unwrap().0, queue::MAX_SIZE);
    assert_eq!(b.capacity(), MIB64 / 512);
    assert_eq!(b.block_size(), 512);
}

#[test]
fn many_reads_and_writes_in_flight_round_trip() {
    let dev = MockBlk::new(MIB64 / 512, 64 << 10);
    dev.0.borrow_mut().auto = false;
    let mut b = blk(&dev).unwrap();
    let mut data = mem(32 * 512);
    for i in 0..32 * 512 {
        data.write8(i, (i / 512) as u8 ^ 0x5a);
    }
    let tokens: Vec<_> = (0..32u64).map(|i| b.submit_write(i, data.slice(i * 512, 512).unwrap()).unwrap()).collect();
    assert_eq!(b.q.in_flight(), 32);
    let mut done = Vec::new();
    while done.len() < tokens.len() {
        let (t, r) = b.complete(&mut serve(&dev)).unwrap();
        r.unwrap();
        done.push(t);
    }
    done.sort();
    assert_eq!(done, {
        let mut t = tokens.clone();
        t.sort();
        t
    });
    assert_eq!(dev.0.borrow().disk[5 * 512], 5 ^ 0x5a);
    let back = mem(32 * 512);
    b.read(0, back.slice(0, 32 * 512).unwrap(), &mut serve(&dev)).unwrap();
    assert!((0..32 * 512).all(|i| back.read8(i) == (i / 512) as u8 ^ 0x5a));
    b.flush(&mut serve(&dev)).unwrap();
    assert_eq!(dev.0.borrow().flushes, 1);
}

#[test]
fn waiting_for_one_request_keeps_the_others() {
    let dev = MockBlk::new(16, 16 * 512);
    dev.0.borrow_mut().auto = false;
    let mut b = blk(&dev).unwrap();
    let buf = mem(2 * 512);
    let first = b.submit_read(0, buf.slice(0, 512).unwrap()).unwrap();
    let second = b.submit_read(1, buf.slice(512, 512).unwrap()).unwrap();
    b.wait_for(second, &mut serve(&dev)).unwrap();
    assert_eq!(b.poll().unwrap().map(|(t, r)| (t, r.is_ok())), Some((first, true)));
    assert_eq!(b.poll().unwrap().map(|(t, _)| t), None);
}

#[test]
fn read_only_device_refuses_writes_before_sending_them() {
    let dev = MockBlk::new(16, 0).read_only();
    let mut b = blk(&dev).unwrap();
    assert!(b.read_only());
    let buf = mem(512);
    assert_eq!(b.write(0, buf.slice(0, 512).unwrap(), &mut serve(&dev)), Err(Error::ReadOnly));
    assert_eq!(dev.0.borrow().notifies, 0);
    b.read(0, buf.slice(0, 512).unwrap(), &mut serve(&dev)).unwrap();
}

#[test]
fn requests_past_the_end_or_of_partial_sectors_are_refused() {
    let dev = MockBlk::new(16, 0);
    let mut b = blk(&dev).unwrap();
    let buf = mem(1024);
    assert_eq!(b.submit_read(15, buf.slice(0, 1024).unwrap()), Err(Error::OutOfRange));
    assert_eq!(b.submit_read(u64::MAX, buf.slice(0, 512).unwrap()), Err(Error::OutOfRange));
    assert_eq!(b.submit_read(0, buf.slice(0, 100).unwrap()), Err(Error::BadBuffer));
    assert_eq!(b.submit_read(0, buf.slice(0, 0).unwrap()), Err(Error::BadBuffer));
    assert!(b.submit_read(15, buf.slice(0, 512).unwrap()).is_ok());
}

#[test]
fn an_8_gib_disk_is_addressed_to_its_last_sector() {
    let sectors = (8u64 << 30) / 512;
    let dev = MockBlk::new(sectors, 0);
    let mut b = blk(&dev).unwrap();
    assert_eq!(b.capacity(), sectors);
    let buf = mem(512);
    b.read(sectors - 1, buf.slice(0, 512).unwrap(), &mut serve(&dev)).unwrap();
    assert_eq!(b.submit_read(sectors, buf.slice(0, 512).unwrap()), Err(Error::OutOfRange));
}

#[test]
fn more_requests_than_slots_is_queue_full_not_a_panic() {
    let dev = MockBlk::new(1024, 0);
    dev.0.borrow_mut().auto = false;
    let mut b = blk(&dev).unwrap();
    let buf = mem(512);
    for _ in 0..MAX_REQS {
        b.submit_read(0, buf.slice(0, 512).unwrap()).unwrap();
    }
    assert_eq!(b.submit_read(0, buf.slice(0, 512).unwrap()), Err(Error::QueueFull));
}

#[test]
fn device_without_flush_needs_none() {
    let dev = MockBlk::new(16, 0);
    dev.0.borrow_mut().offered &= !BLK_FLUSH;
    let mut b = blk(&dev).unwrap();
    assert_eq!(b.submit_flush(), Ok(None));
    assert_eq!(dev.0.borrow().notifies, 0);
}

fn lie_on_read(lie: Lie) -> Result<()> {
    let dev = MockBlk::new(16, 0);
    dev.0.borrow_mut().lie = lie;
    let mut b = blk(&dev).unwrap();
    let buf = mem(512);
    let r = b.read(0, buf.slice(0, 512).unwrap(), &mut serve(&dev));
    r
}

#[test]
fn lying_used_ring_entries_are_errors() {
    assert_eq!(lie_on_read(Lie::UsedId(4096)), Err(Error::BadUsedId(4096)));
    assert_eq!(lie_on_read(Lie::UsedId(7)), Err(Error::NotInFlight(7)));
    assert_eq!(lie_on_read(Lie::UsedLen(514)), Err(Error::BadUsedLen { id: 0, len: 514 }));
    assert_eq!(lie_on_read(Lie::UsedLen(513)), Ok(()));
    assert!(matches!(lie_on_read(Lie::UsedIdxJump(5)), Err(Error::BadUsedIndex(_))));
}

#[test]
fn status_bytes_are_checked() {
    assert_eq!(lie_on_read(Lie::NoStatus), Err(Error::BadStatus(0xff)));
    assert_eq!(lie_on_read(Lie::Status(1)), Err(Error::IoError));
    assert_eq!(lie_on_read(Lie::Status(2)), Err(Error::Unsupported));
    assert_eq!(lie_on_read(Lie::Status(9)), Err(Error::BadStatus(9)));
}

#[test]
fn queue_size_0_is_an_error() {
    let dev = MockBlk::new(16, 0);
    dev.0.borrow_mut().queue_max = 0;
    assert_eq!(blk(&dev).err(), Some(Error::QueueUnavailable(0)));
}

#[test]
fn a_device_offering_odd_queue_sizes_gets_a_power_of_two() {
    let dev = MockBlk::new(16, 0);
    dev.0.borrow_mut().queue_max = 100;
    blk(&dev).unwrap();
    assert_eq!(dev.0.borrow().q.unwrap().0, 64);
}

#[test]
fn feature_refusals_are_errors() {
    let dev = MockBlk::new(16, 0);
    dev.0.borrow_mut().offered &= !VERSION_1;
    assert_eq!(blk(&dev).err(), Some(Error::NotModern));
    let dev = MockBlk::new(16, 0);
    dev.0.borrow_mut().reject_features = true;
    assert_eq!(blk(&dev).err(), Some(Error::FeaturesRejected));
}

#[test]
fn config_that_lies_or_never_settles_is_an_error() {
    let dev = MockBlk::new(16, 0);
    dev.0.borrow_mut().config[5] = 3;
    assert_eq!(blk(&dev).err(), Some(Error::BadConfig));
    let dev = MockBlk::new(16, 0);
    dev.0.borrow_mut().config.truncate(1);
    assert_eq!(blk(&dev).err(), Some(Error::BadConfig));
    let dev = MockBlk::new(16, 0);
    dev.0.borrow_mut().unstable = true;
    assert_eq!(blk(&dev).err(), Some(Error::ConfigUnstable));
}

#[test]
fn a_config_change_interrupt_rereads_the_capacity() {
    let dev = MockBlk::new(16, 0);
    dev.0.borrow_mut().auto = false;
    let mut b = blk(&dev).unwrap();
    let buf = mem(512);
    let t = b.submit_read(0, buf.slice(0, 512).unwrap()).unwrap();
    let mut wait = || {
        let mut s = dev.0.borrow_mut();
        s.resize(1 << 40);
        s.serve();
        Ok(())
    };
    b.wait_for(t, &mut wait).unwrap();
    assert_eq!(b.capacity(), 1 << 40);
}

#[test]
fn a_wrong_device_type_or_too_little_memory_is_refused() {
    let dev = MockBlk::new(16, 0);
    dev.0.borrow_mut().device_type = 4;
    assert_eq!(blk(&dev).err(), Some(Error::WrongDevice(4)));
    let dev = MockBlk::new(16, 0);
    assert_eq!(Blk::new(dev, mem(8192), mem(8)).err(), Some(Error::BadConfig));
}
