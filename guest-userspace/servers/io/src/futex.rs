//! The channel's wait/wake on Vireo's futexes (keyed by physical address,
//! so they meet across the two processes sharing a region).

use core::sync::atomic::AtomicU32;
use vireo_rt::sys;

pub struct Futex;

impl vireo_io_channel::Waker for Futex {
    fn wait(&self, word: &AtomicU32, expected: u32, timeout_ns: u64) {
        // WouldBlock and TimedOut both just mean "look at the queue again".
        let _ = sys::futex_wait(word, expected, timeout_ns);
    }

    fn wake(&self, word: &AtomicU32) {
        let _ = sys::futex_wake(word, 1);
    }
}
