//! One side writes garbage into the shared head, tail, header or messages;
//! the other side gets a typed error and touches nothing it does not own.

use std::sync::atomic::Ordering;
use vireo_io_channel::host::HeapRegion;
use vireo_io_channel::{Client, Error, Msg, Op, Region, Server, SlotPool, Word, QUEUE_LEN};

fn pair(mem: &HeapRegion) -> (Client, Server) {
    let client = Client::create(mem.region());
    let server = Server::attach(mem.region()).unwrap();
    (client, server)
}

fn lie(region: Region, word: Word, value: u32) {
    region.word(word).store(value, Ordering::Release);
}

#[test]
fn a_submission_tail_far_ahead_is_bad_index_for_the_server() {
    let mem = HeapRegion::new();
    let (_client, mut server) = pair(&mem);
    for tail in [QUEUE_LEN + 1, u32::MAX / 2, u32::MAX] {
        lie(mem.region(), Word::SqTail, tail);
        assert_eq!(server.requests.pop(), Err(Error::BadIndex { ours: 0, theirs: tail }));
        assert!(server.requests.pop().unwrap_err().is_peer_fault());
    }
}

#[test]
fn a_tail_moved_backwards_is_bad_index() {
    let mem = HeapRegion::new();
    let (mut client, mut server) = pair(&mem);
    for i in 0..10 {
        client.submit.push(&Msg::new(i, Op::Nop)).unwrap();
    }
    while server.requests.pop().unwrap().is_some() {}
    lie(mem.region(), Word::SqTail, 5);
    assert_eq!(server.requests.pop(), Err(Error::BadIndex { ours: 10, theirs: 5 }));
}

#[test]
fn a_completion_head_past_our_tail_or_backwards_is_bad_index_for_the_server() {
    let mem = HeapRegion::new();
    let (_client, mut server) = pair(&mem);
    lie(mem.region(), Word::CqHead, 3);
    assert_eq!(server.replies.push(&Msg::new(0, Op::Nop)), Ok(()), "not read while there is room");
    assert_eq!(server.replies.free(), Err(Error::BadIndex { ours: 1, theirs: 3 }));
    lie(mem.region(), Word::CqHead, u32::MAX);
    assert!(matches!(server.replies.free(), Err(Error::BadIndex { .. })));
}

#[test]
fn a_submission_head_that_claims_to_have_read_unsent_messages_is_bad_index_for_the_client() {
    let mem = HeapRegion::new();
    let (mut client, _server) = pair(&mem);
    for i in 0..QUEUE_LEN as u64 {
        client.submit.push(&Msg::new(i, Op::Nop)).unwrap();
    }
    lie(mem.region(), Word::SqHead, QUEUE_LEN + 7);
    assert_eq!(
        client.submit.push(&Msg::new(0, Op::Nop)),
        Err(Error::BadIndex { ours: QUEUE_LEN, theirs: QUEUE_LEN + 7 })
    );
}

#[test]
fn a_completion_tail_lie_is_bad_index_for_the_client() {
    let mem = HeapRegion::new();
    let (mut client, _server) = pair(&mem);
    lie(mem.region(), Word::CqTail, QUEUE_LEN + 1);
    assert_eq!(client.complete.pop(), Err(Error::BadIndex { ours: 0, theirs: QUEUE_LEN + 1 }));
    assert_eq!(client.complete.available(), Err(Error::BadIndex { ours: 0, theirs: QUEUE_LEN + 1 }));
}

#[test]
fn a_region_without_our_header_is_refused() {
    let mem = HeapRegion::new();
    assert_eq!(Server::attach(mem.region()).err(), Some(Error::BadHeader { magic: 0, version: 0 }));
    Client::create(mem.region());
    lie(mem.region(), Word::Version, 1);
    assert!(matches!(Server::attach(mem.region()), Err(Error::BadHeader { version: 1, .. })));
}

#[test]
fn garbage_in_a_message_is_caught_by_its_checks() {
    let mem = HeapRegion::new();
    let (mut client, mut server) = pair(&mem);
    let mut m = Msg::new(1, Op::Read);
    (m.op, m.slot, m.offset, m.len) = (0xbeef, 0x7fff, 0, 1);
    client.submit.push(&m).unwrap();
    (m.op, m.slot, m.offset, m.len) = (Op::Write as u16, 3, u32::MAX, 2);
    client.submit.push(&m).unwrap();
    let a = server.requests.pop().unwrap().unwrap();
    assert_eq!(Op::try_from(a.op), Err(Error::UnknownOp(0xbeef)));
    assert_eq!(a.data(), Err(Error::BadSlot(0x7fff)));
    let b = server.requests.pop().unwrap().unwrap();
    assert_eq!(b.data(), Err(Error::BadLength { offset: u32::MAX, len: 2 }));
    let last = vireo_io_channel::SLOT_COUNT - 1;
    assert_eq!(server.region.read_slot(last + 1, 0, &mut [0; 1]), Err(Error::OutOfRange));
    assert_eq!(server.region.write_slot(last, 4095, &[0; 2]), Err(Error::OutOfRange));
    assert_eq!(server.region.write_slot(0, 4095, &[7; 2]), Ok(()), "a range may run on into the next slot");
    (m.op, m.slot, m.offset, m.len) = (Op::Read as u16, last as u16, 4000, 97);
    assert_eq!(m.data(), Err(Error::BadLength { offset: 4000, len: 97 }));
    (m.slot, m.offset, m.len) = (0, 0, vireo_io_channel::DATA_SIZE as u32);
    assert_eq!(m.data(), Ok(Some((0, 0, vireo_io_channel::DATA_SIZE))));
}

#[test]
fn a_completion_naming_a_slot_the_client_did_not_lend_is_refused() {
    let mut pool = SlotPool::new();
    assert_eq!(pool.give(0), Err(Error::OutOfRange));
    assert_eq!(pool.give(u16::MAX), Err(Error::OutOfRange));
    let s = pool.take().unwrap();
    assert_eq!(pool.give(s), Ok(()));
    assert_eq!(pool.give(s), Err(Error::OutOfRange), "a second give is a double free");
    for _ in 0..vireo_io_channel::SLOT_COUNT {
        pool.take().unwrap();
    }
    assert_eq!(pool.take(), Err(Error::NoSlot));
}

#[test]
fn slot_runs_are_taken_and_given_back_whole() {
    let mut pool = SlotPool::new();
    let a = pool.take_run(16).unwrap();
    let b = pool.take_run(16).unwrap();
    assert_eq!((a, b), (0, 16));
    assert_eq!(pool.give_run(a, 15), Ok(()), "part of a run may come back");
    assert_eq!(pool.give_run(b, 17), Err(Error::OutOfRange), "more than was taken");
    assert_eq!(pool.take_run(0), Err(Error::NoSlot));
    assert_eq!(pool.take_run(vireo_io_channel::SLOT_COUNT + 1), Err(Error::NoSlot));
    assert_eq!(pool.take_run(40), Err(Error::NoSlot), "only 32 + 15 free, not in one run");
    assert_eq!(pool.take_run(32), Ok(32));
    assert_eq!(pool.used(), 16 + 1 + 32);
}

#[test]
fn a_misaligned_or_short_region_is_refused() {
    let mem = HeapRegion::new();
    let base = mem.region().slot_ptr(0).unwrap();
    // SAFETY: only checked, never accessed (the calls fail).
    unsafe {
        assert_eq!(Region::from_raw(base.add(8), 1 << 20).err(), Some(Error::BadRegion));
        assert_eq!(Region::from_raw(base, 4096).err(), Some(Error::BadRegion));
        assert_eq!(Region::from_raw(std::ptr::null_mut(), 1 << 20).err(), Some(Error::BadRegion));
    }
}
