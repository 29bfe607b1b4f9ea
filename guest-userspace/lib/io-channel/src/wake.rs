//! Sleeping and waking across the region: the futex words.
//!
//! Each queue has a sleep word owned by its consumer. Before sleeping, the
//! consumer stores `SLEEPING`, then looks at the queue once more (a full
//! fence between, the producer does the mirror image: publish tail, fence,
//! look at the word), so one of the two always sees the other: either the
//! consumer finds the new message, or the producer finds `SLEEPING`, swaps in
//! `AWAKE` and wakes it. A busy consumer's word stays `AWAKE` and producers
//! make no system call at all. A peer that scribbles on the word can only
//! cause a spurious wake-up or a missed one (which the waiter's timeout
//! bounds), never harm.

use core::sync::atomic::AtomicU32;

/// The consumer is running (or about to look at the queue).
pub const AWAKE: u32 = 0;
/// The consumer is (about to be) asleep on the word.
pub const SLEEPING: u32 = 1;

/// The system's futex calls (or a stand-in on the host).
pub trait Waker {
    /// Sleeps while `*word == expected`, at most `timeout_ns`; returning
    /// early (spuriously, or because the word differs) is allowed.
    fn wait(&self, word: &AtomicU32, expected: u32, timeout_ns: u64);
    /// Wakes the sleepers on `word`.
    fn wake(&self, word: &AtomicU32);
}
