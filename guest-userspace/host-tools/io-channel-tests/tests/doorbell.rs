//! The doorbell (`vireo_io_channel::Doorbell`): a ringer racing the
//! sleeper's answer never leaves the bell rung over an empty pipe, so no
//! request waits for the sleeper's timeout.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;
use vireo_io_channel::Doorbell;

/// The pipe, as a count of bytes in it.
#[derive(Default)]
struct Pipe(AtomicUsize);

impl Pipe {
    fn write(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn drain(&self) {
        self.0.store(0, Ordering::SeqCst);
    }
    fn bytes(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// The race of the net thread's lost wake-ups, played step by step: a
/// ringer rings while the sleeper answers, before the pipe is emptied.
/// Afterwards the bell is either clear (the next ringer writes) or has a
/// byte behind it.
#[test]
fn a_ring_during_the_answer_is_not_lost() {
    let (bell, pipe) = (Doorbell::new(), Pipe::default());
    bell.ring(|| pipe.write());
    assert_eq!(pipe.bytes(), 1);
    bell.answer(|| {
        bell.ring(|| pipe.write());
        pipe.drain();
    });
    assert!(!bell.is_rung() || pipe.bytes() > 0, "rung over an empty pipe: every later ring is lost");
    bell.ring(|| pipe.write());
    assert_eq!(pipe.bytes(), 1, "the next ring writes");
}

/// A ring after the drain, still inside the answer, writes nothing: its
/// request is seen because the sleeper looks at the queue after answering.
#[test]
fn a_ring_after_the_drain_leaves_the_bell_clear() {
    let (bell, pipe) = (Doorbell::new(), Pipe::default());
    bell.ring(|| pipe.write());
    bell.answer(|| {
        pipe.drain();
        bell.ring(|| pipe.write());
    });
    assert!(!bell.is_rung() && pipe.bytes() == 0);
}

/// Threads queue requests and ring; a sleeper waits on the "pipe" with a
/// long timeout, answers, then takes the queue. Every request is taken
/// without the sleeper ever timing out.
#[test]
fn no_request_waits_for_the_timeout() {
    const RINGERS: u64 = 4;
    const EACH: u64 = 20_000;
    let bell = Arc::new(Doorbell::new());
    let queue = Arc::new(Mutex::new(Vec::<u64>::new()));
    let (tx, rx) = mpsc::channel::<()>();
    let ringers: Vec<_> = (0..RINGERS)
        .map(|_| {
            let (bell, queue, tx) = (bell.clone(), queue.clone(), tx.clone());
            std::thread::spawn(move || {
                for i in 0..EACH {
                    queue.lock().unwrap().push(i);
                    bell.ring(|| tx.send(()).unwrap());
                }
            })
        })
        .collect();
    let mut taken = 0;
    while taken < RINGERS * EACH {
        if rx.recv_timeout(Duration::from_secs(5)).is_err() {
            panic!("timed out with {taken} of {} requests taken: a wake-up was lost", RINGERS * EACH);
        }
        bell.answer(|| while rx.try_recv().is_ok() {});
        taken += queue.lock().unwrap().drain(..).count() as u64;
    }
    for r in ringers {
        r.join().unwrap();
    }
    assert_eq!(taken, RINGERS * EACH);
}
