//! virtio-net against the mock card: frames both ways with many buffers in
//! flight, buffer recycling, batched notifications, and every lie.
use super::*;
use crate::features::VERSION_1;
use crate::mock::mem;
use crate::mock::net::{driver_ok, MockNet, NetLie, MAC};

fn net_mem(rx: u16, tx: u16) -> NetMem {
    let q = queue::layout(queue::MAX_SIZE).2;
    NetMem {
        rx_queue: mem(q),
        tx_queue: mem(q),
        rx_bufs: mem(u64::from(rx) * BUF_STRIDE),
        tx_bufs: mem(u64::from(tx) * BUF_STRIDE),
    }
}

fn net(dev: &MockNet) -> Result<Net<MockNet>> {
    Net::new(dev.clone(), net_mem(RX_BUFS, TX_BUFS))
}

fn frame(n: u32, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i as u32 ^ n.wrapping_mul(31)) as u8).collect()
}

fn rd16(pa: u64) -> u16 {
    // SAFETY: a ring address inside the test's leaked memory.
    unsafe { (pa as *const u16).read_volatile() }
}

/// Sends `f` from a free buffer.
fn send(n: &mut Net<MockNet>, f: &[u8]) -> Result<()> {
    let mut slot = n.tx_slot()?.ok_or(Error::QueueFull)?;
    slot.frame_mut(f.len())?.copy_from_slice(f);
    slot.send(f.len())
}

/// Everything the driver has received now, recycling each buffer.
fn drain(n: &mut Net<MockNet>) -> Result<Vec<Vec<u8>>> {
    let mut got = Vec::new();
    while let Some(r) = n.receive()? {
        got.push(r.frame().to_vec());
    }
    Ok(got)
}

#[test]
fn takes_mac_and_status_only_and_posts_every_receive_buffer() {
    let dev = MockNet::new();
    let n = net(&dev).unwrap();
    let s = dev.0.borrow();
    assert_eq!(s.accepted, VERSION_1 | NET_MAC | NET_STATUS);
    assert!(driver_ok(&s));
    assert_eq!(n.mac(), Some(MAC));
    assert!(n.link_up());
    assert_eq!(n.buffers(), (RX_BUFS, TX_BUFS));
    let (_, rx) = s.q[0].unwrap();
    assert_eq!(rd16(rx.avail + 2), RX_BUFS, "every receive buffer is posted");
    assert_eq!(s.notifies, [1, 0]);
}

#[test]
fn more_frames_than_buffers_arrive_in_order() {
    let dev = MockNet::new();
    let mut n = net(&dev).unwrap();
    let sent: Vec<_> = (0..300).map(|i| frame(i, 60 + (i as usize * 7) % 1455)).collect();
    dev.0.borrow_mut().inbound.extend(sent.iter().cloned());
    dev.0.borrow_mut().deliver();
    let mut got = drain(&mut n).unwrap();
    assert_eq!(got.len(), usize::from(RX_BUFS), "one frame per posted buffer");
    while got.len() < sent.len() {
        n.flush();
        let more = drain(&mut n).unwrap();
        assert!(!more.is_empty(), "recycled buffers were not posted again");
        got.extend(more);
    }
    assert_eq!(got, sent);
}

#[test]
fn sends_queue_until_buffers_run_out_then_recycle() {
    let dev = MockNet::new();
    dev.0.borrow_mut().auto_tx = false;
    let mut n = net(&dev).unwrap();
    for i in 0..u32::from(TX_BUFS) {
        let f = frame(i, 1514);
        send(&mut n, &f).unwrap();
    }
    assert!(n.tx_slot().unwrap().is_none(), "all buffers are in flight");
    let (_, tx) = dev.0.borrow().q[1].unwrap();
    assert_eq!(rd16(tx.avail) & 1, 0, "out of buffers, the driver wants completion interrupts");
    n.flush();
    assert_eq!(dev.0.borrow().notifies[1], 1, "one notification for the whole batch");
    dev.0.borrow_mut().serve_tx();
    assert!(n.tx_slot().unwrap().is_some());
    assert_eq!(rd16(tx.avail) & 1, 1, "with buffers back, completions need no interrupt");
    let s = dev.0.borrow();
    assert_eq!(s.sent.len(), usize::from(TX_BUFS));
    assert!(s.sent.iter().enumerate().all(|(i, f)| *f == frame(i as u32, 1514)));
    assert!(s.sent_headers.iter().all(|h| *h == [0; HDR_LEN]), "no offloads asked for");
}

#[test]
fn thousands_of_sends_reuse_the_same_buffers() {
    let dev = MockNet::new();
    let mut n = net(&dev).unwrap();
    for i in 0..5000u32 {
        let f = frame(i, 64);
        send(&mut n, &f).unwrap();
        n.flush();
    }
    assert_eq!(dev.0.borrow().sent.len(), 5000);
    assert_eq!(dev.0.borrow().sent[4999], frame(4999, 64));
}

#[test]
fn a_reply_is_written_while_the_frame_is_read_in_place() {
    let dev = MockNet::new();
    let mut n = net(&dev).unwrap();
    dev.0.borrow_mut().inbound.push_back(frame(7, 100));
    dev.0.borrow_mut().deliver();
    let (rx, tx) = n.split();
    let got = rx.receive().unwrap().unwrap();
    let mut slot = tx.reserve().unwrap().unwrap();
    slot.frame_mut(got.frame().len()).unwrap().copy_from_slice(got.frame());
    slot.send(got.frame().len()).unwrap();
    drop(got);
    n.flush();
    assert_eq!(dev.0.borrow().sent, vec![frame(7, 100)]);
}

#[test]
fn no_notification_while_the_device_says_it_needs_none() {
    let dev = MockNet::new();
    let mut n = net(&dev).unwrap();
    dev.0.borrow_mut().set_used_flags(1);
    dev.0.borrow_mut().inbound.push_back(frame(1, 60));
    dev.0.borrow_mut().deliver();
    drain(&mut n).unwrap();
    send(&mut n, &[1; 60]).unwrap();
    n.flush();
    assert_eq!(dev.0.borrow().notifies, [1, 0]);
}

#[test]
fn an_oversized_send_is_refused_and_its_buffer_kept() {
    let dev = MockNet::new();
    let mut n = net(&dev).unwrap();
    let free = n.tx_free();
    assert_eq!(send(&mut n, &[0; MAX_FRAME + 1]), Err(Error::BadBuffer));
    assert_eq!(n.tx_free(), free);
}

fn lie_on_receive(lie: NetLie, len: usize) -> Result<Vec<Vec<u8>>> {
    let dev = MockNet::new();
    let mut n = net(&dev).unwrap();
    dev.0.borrow_mut().lie = lie;
    dev.0.borrow_mut().inbound.push_back(frame(0, len));
    dev.0.borrow_mut().deliver();
    drain(&mut n)
}

#[test]
fn lying_receive_entries_are_errors() {
    assert_eq!(lie_on_receive(NetLie::RxUsedId(4096), 60), Err(Error::BadUsedId(4096)));
    assert_eq!(lie_on_receive(NetLie::RxUsedId(200), 60), Err(Error::NotInFlight(200)));
    assert!(matches!(lie_on_receive(NetLie::RxUsedLen(2049), 60), Err(Error::BadUsedLen { len: 2049, .. })));
    assert!(matches!(lie_on_receive(NetLie::RxUsedLen(11), 60), Err(Error::BadUsedLen { len: 11, .. })));
    assert!(matches!(lie_on_receive(NetLie::RxUsedIdxJump(200), 60), Err(Error::BadUsedIndex(_))));
    assert_eq!(lie_on_receive(NetLie::RxUsedLen(12), 60), Ok(vec![vec![]]), "an empty frame is the stack's to drop");
}

#[test]
fn a_frame_longer_than_its_buffer_is_an_error() {
    assert!(matches!(lie_on_receive(NetLie::None, 3000), Err(Error::BadUsedLen { len: 3012, .. })));
    assert_eq!(lie_on_receive(NetLie::None, BUF_STRIDE as usize - HDR_LEN).map(|f| f.len()), Ok(1));
}

#[test]
fn headers_asking_for_offloads_we_refused_are_errors() {
    assert_eq!(lie_on_receive(NetLie::RxHeader { flags: 1, gso: 0 }, 60), Err(Error::BadNetHeader));
    assert_eq!(lie_on_receive(NetLie::RxHeader { flags: 0, gso: 1 }, 60), Err(Error::BadNetHeader));
    // DATA_VALID (2) only says the device checked the checksum: harmless.
    assert_eq!(lie_on_receive(NetLie::RxHeader { flags: 2, gso: 0 }, 60).map(|f| f.len()), Ok(1));
}

#[test]
fn a_send_completion_claiming_written_bytes_is_an_error() {
    let dev = MockNet::new();
    dev.0.borrow_mut().lie = NetLie::TxUsedLen(1);
    let mut n = net(&dev).unwrap();
    for _ in 0..TX_BUFS {
        send(&mut n, &[0; 60]).unwrap();
        n.flush();
    }
    assert!(matches!(n.tx_slot().err(), Some(Error::BadUsedLen { len: 1, .. })));
}

#[test]
fn queue_size_0_is_an_error_for_either_queue() {
    for q in 0..2 {
        let dev = MockNet::new();
        dev.0.borrow_mut().queue_max[q] = 0;
        assert_eq!(net(&dev).err(), Some(Error::QueueUnavailable(q as u16)));
    }
}

#[test]
fn small_queues_get_fewer_buffers() {
    let dev = MockNet::new();
    dev.0.borrow_mut().queue_max = [100, 16];
    let n = net(&dev).unwrap();
    assert_eq!(n.buffers(), (64, 16));
    let dev = MockNet::new();
    assert_eq!(Net::new(dev, net_mem(0, 4)).err(), Some(Error::BadBuffer));
}

#[test]
fn config_that_lies_or_never_settles_is_an_error() {
    let dev = MockNet::new();
    dev.0.borrow_mut().config[0] = 0x01;
    assert_eq!(net(&dev).err(), Some(Error::BadConfig), "a multicast MAC");
    let dev = MockNet::new();
    dev.0.borrow_mut().config[..6].fill(0);
    assert_eq!(net(&dev).err(), Some(Error::BadConfig), "a zero MAC");
    let dev = MockNet::new();
    dev.0.borrow_mut().config.truncate(6);
    assert_eq!(net(&dev).err(), Some(Error::BadConfig), "status out of config space");
    let dev = MockNet::new();
    dev.0.borrow_mut().unstable = true;
    assert_eq!(net(&dev).err(), Some(Error::ConfigUnstable));
}

#[test]
fn without_mac_or_status_the_card_still_works() {
    let dev = MockNet::new();
    dev.0.borrow_mut().offered = VERSION_1;
    dev.0.borrow_mut().config.clear();
    let mut n = net(&dev).unwrap();
    assert_eq!(n.mac(), None);
    assert!(n.link_up());
    dev.0.borrow_mut().inbound.push_back(frame(3, 60));
    dev.0.borrow_mut().deliver();
    assert_eq!(drain(&mut n).unwrap(), vec![frame(3, 60)]);
}

#[test]
fn a_legacy_only_card_is_refused() {
    let dev = MockNet::new();
    dev.0.borrow_mut().offered &= !VERSION_1;
    assert_eq!(net(&dev).err(), Some(Error::NotModern));
}

#[test]
fn a_config_interrupt_rereads_the_link_state() {
    let dev = MockNet::new();
    let mut n = net(&dev).unwrap();
    dev.0.borrow_mut().set_link(false);
    assert_eq!(n.ack_interrupt(), Ok(true));
    assert!(!n.link_up());
    assert_eq!(n.ack_interrupt(), Ok(false));
    dev.0.borrow_mut().set_link(true);
    assert_eq!(n.ack_interrupt(), Ok(true));
    assert!(n.link_up());
}
