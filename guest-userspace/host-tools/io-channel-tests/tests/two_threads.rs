//! A client and a server on two host threads over one heap region: round
//! trips, batching (one wake-up per batch, none while busy) and a 100,000
//! message stress run with random batches and data in slots.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use vireo_io_channel::host::{HeapRegion, SpinWaker};
use vireo_io_channel::{Client, Error, Msg, Op, Server, Status, QUEUE_LEN};
use vireo_io_channel_tests::{echo_server, Rng};

#[test]
fn a_full_queue_refuses_the_next_message() {
    let mem = HeapRegion::new();
    let mut client = Client::create(mem.region());
    for i in 0..QUEUE_LEN as u64 {
        client.submit.push(&Msg::new(i, Op::Nop)).unwrap();
    }
    assert_eq!(client.submit.push(&Msg::new(99, Op::Nop)), Err(Error::Full));
    let mut server = Server::attach(mem.region()).unwrap();
    assert_eq!(server.requests.pop().unwrap().unwrap().id, 0);
    client.submit.push(&Msg::new(99, Op::Nop)).unwrap();
}

#[test]
fn a_batch_costs_one_wake_and_a_busy_consumer_none() {
    let mem = HeapRegion::new();
    let waker = SpinWaker::default();
    let mut client = Client::create(mem.region());
    let mut server = Server::attach(mem.region()).unwrap();
    // The server is running (its word says awake): no wake at all.
    for i in 0..32 {
        client.submit.push(&Msg::new(i, Op::Nop)).unwrap();
    }
    assert!(!client.submit.notify(&waker));
    while server.requests.pop().unwrap().is_some() {}
    // Now it sleeps (no timeout left to run: the spin waker returns at once).
    assert_eq!(server.requests.wait(&waker, 0).unwrap(), 0);
    mem.region().word(vireo_io_channel::Word::SqSleep).store(vireo_io_channel::SLEEPING, Ordering::Relaxed);
    for i in 0..32 {
        client.submit.push(&Msg::new(i, Op::Nop)).unwrap();
    }
    assert!(client.submit.notify(&waker));
    assert!(!client.submit.notify(&waker), "the first wake-up marked the server awake");
    assert_eq!(waker.wakes.load(Ordering::Relaxed), 1);
}

/// The client side of the stress run: `total` requests in random batches,
/// every third one with data; checks each completion's order and content.
fn stress_client(mut client: Client, waker: &SpinWaker, total: u64, seed: u64) {
    let mut rng = Rng::new(seed);
    let (mut sent, mut done) = (0u64, 0u64);
    let mut slot_of = std::collections::VecDeque::new();
    while done < total {
        let batch = rng.range(1, 48);
        let mut pushed = 0;
        while pushed < batch && sent < total {
            let mut msg = Msg::new(sent, Op::Nop);
            msg.args = [sent, sent ^ 0x5555, sent * 3, u64::MAX - sent, seed];
            let mut slot = None;
            if sent % 3 == 0 {
                if let Ok(s) = client.slots.take() {
                    let len = (sent % 4000) as usize + 1;
                    let data: Vec<u8> = (0..len).map(|i| (i as u64 + sent) as u8).collect();
                    client.region.write_slot(s as usize, 7, &data).unwrap();
                    (msg.slot, msg.offset, msg.len) = (s, 7, len as u32);
                    slot = Some(s);
                }
            }
            match client.submit.push(&msg) {
                Ok(()) => {}
                Err(Error::Full) => {
                    if let Some(s) = slot {
                        client.slots.give(s).unwrap();
                    }
                    break;
                }
                Err(e) => panic!("push: {e:?}"),
            }
            slot_of.push_back(slot);
            sent += 1;
            pushed += 1;
        }
        client.submit.notify(waker);
        let mut got = 0;
        while let Some(reply) = client.complete.pop().unwrap() {
            let id = done;
            assert_eq!(reply.id, id, "completions come back in order");
            assert_eq!(reply.result(), Ok(()));
            assert_eq!(reply.args, [id + 1, (id ^ 0x5555) + 1, id * 3 + 1, u64::MAX - id + 1, seed + 1]);
            let slot = slot_of.pop_front().unwrap();
            assert_eq!(slot.unwrap_or(vireo_io_channel::NO_SLOT), reply.slot);
            if let Some(s) = slot {
                let mut buf = vec![0; reply.len as usize];
                client.region.read_slot(s as usize, 7, &mut buf).unwrap();
                let want: Vec<u8> = (0..buf.len()).rev().map(|i| (i as u64 + id) as u8).collect();
                assert_eq!(buf, want, "data of request {id}");
                client.slots.give(s).unwrap();
            }
            done += 1;
            got += 1;
        }
        if got == 0 && pushed == 0 {
            client.complete.wait(waker, 1_000_000).unwrap();
        }
    }
    assert_eq!(client.slots.used(), 0);
}

#[test]
fn stress_100k_messages_in_random_batches_arrive_in_order_with_their_data() {
    let mem = HeapRegion::new();
    let waker = SpinWaker::default();
    let client = Client::create(mem.region());
    let server = Server::attach(mem.region()).unwrap();
    let stop = AtomicBool::new(false);
    let served = thread::scope(|s| {
        let srv = s.spawn(|| echo_server(server, &waker, &stop));
        stress_client(client, &waker, 100_000, 0x1234_5678);
        stop.store(true, Ordering::Release);
        srv.join().unwrap()
    });
    assert_eq!(served, Ok(100_000));
}

#[test]
fn unknown_ops_and_bad_data_ranges_come_back_as_error_statuses() {
    let mem = HeapRegion::new();
    let waker = SpinWaker::default();
    let mut client = Client::create(mem.region());
    let server = Server::attach(mem.region()).unwrap();
    let stop = AtomicBool::new(true);
    let mut bad_op = Msg::new(1, Op::Nop);
    bad_op.op = 999;
    let mut bad_slot = Msg::new(2, Op::Read);
    bad_slot.slot = vireo_io_channel::SLOT_COUNT as u16;
    let mut bad_len = Msg::new(3, Op::Write);
    (bad_len.slot, bad_len.offset, bad_len.len) = (vireo_io_channel::SLOT_COUNT as u16 - 1, 4000, 97);
    for m in [bad_op, bad_slot, bad_len] {
        client.submit.push(&m).unwrap();
    }
    assert_eq!(echo_server(server, &waker, &stop), Ok(3));
    let statuses: Vec<_> = std::iter::from_fn(|| client.complete.pop().unwrap()).map(|m| m.result()).collect();
    assert_eq!(statuses, [Err(Status::UnknownOp), Err(Status::BadData), Err(Status::BadData)]);
}
