//! Arbitrary bytes in the shared region, and a peer that keeps scribbling
//! while we work: neither side may panic or touch memory outside the region;
//! every failure is a typed error.

use std::sync::atomic::{AtomicBool, Ordering};
use vireo_io_channel::host::{HeapRegion, SpinWaker};
use vireo_io_channel::{Client, Msg, Op, Server, Word, REGION_SIZE};
use vireo_io_channel_tests::{echo, Rng};

/// Drives both ends over whatever the region holds.
fn exercise(client: &mut Client, server: &mut Server, rng: &mut Rng) {
    let waker = SpinWaker::default();
    for _ in 0..8 {
        let _ = client.submit.push(&Msg::new(rng.next_u64(), Op::Nop));
        client.submit.notify(&waker);
        if let Ok(Some(req)) = server.requests.pop() {
            let reply = echo(server, &req).unwrap_or(req);
            let _ = server.replies.push(&reply);
        }
        let _ = server.requests.wait(&waker, 0);
        let _ = client.complete.pop();
        let _ = client.complete.wait(&waker, 0);
        let _ = server.replies.free();
    }
}

#[test]
fn random_bytes_in_the_region_never_panic_either_side() {
    let mem = HeapRegion::new();
    let mut rng = Rng::new(42);
    let mut bytes = vec![0u8; REGION_SIZE];
    for round in 0..2_000 {
        // Mostly a valid header (so the server attaches) with random queues.
        bytes.iter_mut().take(4096 * 4).for_each(|b| *b = rng.next_u64() as u8);
        mem.fill(&bytes);
        let mut client = Client::create(mem.region());
        for w in [Word::SqHead, Word::SqTail, Word::CqHead, Word::CqTail, Word::SqSleep, Word::CqSleep] {
            let v = match rng.next_u64() % 4 {
                0 => rng.next_u64() as u32,
                1 => rng.range(0, 130) as u32,
                2 => u32::MAX - rng.range(0, 3) as u32,
                _ => 0,
            };
            mem.region().word(w).store(v, Ordering::Relaxed);
        }
        if round % 5 == 0 {
            mem.region().word(Word::Magic).store(rng.next_u64() as u32, Ordering::Relaxed);
        }
        let Ok(mut server) = Server::attach(mem.region()) else { continue };
        exercise(&mut client, &mut server, &mut rng);
    }
}

#[test]
fn a_peer_scribbling_concurrently_never_makes_us_panic() {
    let mem = HeapRegion::new();
    let mut client = Client::create(mem.region());
    let mut server = Server::attach(mem.region()).unwrap();
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut rng = Rng::new(7);
            let region = mem.region();
            while !stop.load(Ordering::Relaxed) {
                let w = [Word::SqHead, Word::SqTail, Word::CqHead, Word::CqTail][rng.range(0, 3) as usize];
                region.word(w).store(rng.next_u64() as u32, Ordering::Relaxed);
                let _ = region.write_slot(rng.range(0, 11) as usize, 0, &rng.next_u64().to_le_bytes());
            }
        });
        let mut rng = Rng::new(9);
        for _ in 0..20_000 {
            exercise(&mut client, &mut server, &mut rng);
        }
        stop.store(true, Ordering::Relaxed);
    });
}
