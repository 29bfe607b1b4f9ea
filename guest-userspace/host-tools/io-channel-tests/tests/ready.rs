//! Socket readiness words (protocol version 4, `vireo_io_channel::ready`):
//! where they are, and that a sleeper is never left asleep with data there
//! nor woken for nothing, whichever side moves first.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use vireo_io_channel::host::HeapRegion;
use vireo_io_channel::layout::{READY_WORDS, SLOTS};
use vireo_io_channel::ready::{check, publish, reset, READABLE, WAITING};
use vireo_io_channel::Waker;

/// Counts wake calls; waits do nothing.
struct Count(AtomicUsize);

impl Waker for Count {
    fn wait(&self, _: &AtomicU32, _: u32, _: u64) {}
    fn wake(&self, _: &AtomicU32) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

fn wakes(k: &Count) -> usize {
    k.0.load(Ordering::Relaxed)
}

#[test]
fn one_word_per_socket_in_page_three_only() {
    let h = HeapRegion::new();
    let r = h.region();
    assert!(r.ready_word(0).is_none(), "ids start at 1");
    assert!(r.ready_word(READY_WORDS as u64 + 1).is_none());
    assert!(r.ready_word(u64::MAX).is_none());
    let base = r.slot_ptr(0).unwrap() as usize - SLOTS;
    let first = r.ready_word(1).unwrap() as *const AtomicU32 as usize;
    let last = r.ready_word(READY_WORDS as u64).unwrap() as *const AtomicU32 as usize;
    assert_eq!(first - base, 3 * 4096);
    assert_eq!(last + 4, base + SLOTS, "the last word ends where the slots begin");
}

#[test]
fn a_sleeper_is_woken_once_when_data_comes() {
    let w = AtomicU32::new(0);
    let k = Count(AtomicUsize::new(0));
    assert_eq!(check(&w), Err(WAITING));
    publish(&w, true, &k);
    assert_eq!(wakes(&k), 1);
    assert_eq!(w.load(Ordering::Relaxed), READABLE, "the waiter flag is taken off");
    assert_eq!(check(&w), Ok(()));
    // Readable again with nobody asleep: no system call.
    publish(&w, true, &k);
    assert_eq!(wakes(&k), 1);
}

#[test]
fn data_seen_while_announcing_means_no_sleep() {
    let w = AtomicU32::new(0);
    let k = Count(AtomicUsize::new(0));
    publish(&w, true, &k);
    assert_eq!(check(&w), Ok(()));
    assert_eq!(wakes(&k), 0);
    publish(&w, false, &k);
    assert_eq!(check(&w), Err(WAITING));
    reset(&w, false);
    assert_eq!(w.load(Ordering::Relaxed), 0, "a new socket starts clean");
    reset(&w, true);
    assert_eq!(check(&w), Ok(()));
}

/// A real futex stand-in: waits until the word differs (or a timeout).
struct Spin;

impl Waker for Spin {
    fn wait(&self, word: &AtomicU32, expected: u32, _: u64) {
        for _ in 0..2_000_000 {
            if word.load(Ordering::Acquire) != expected {
                return;
            }
            std::hint::spin_loop();
        }
    }
    fn wake(&self, _: &AtomicU32) {}
}

#[test]
fn a_reader_and_a_publisher_racing_never_lose_a_wake() {
    for _ in 0..200 {
        let w = Arc::new(AtomicU32::new(0));
        let w2 = w.clone();
        let reader = std::thread::spawn(move || loop {
            match check(&w2) {
                Ok(()) => return,
                Err(v) => Spin.wait(&w2, v, 0),
            }
        });
        std::thread::sleep(Duration::from_micros(10));
        publish(&w, true, &Spin);
        reader.join().unwrap();
    }
}
