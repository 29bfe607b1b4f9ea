//! Socket readiness words (page 3 of the region): how a client thread waits
//! for data on a socket without a request parked in the server.
//!
//! A blocking read parked in the server would hold a submission entry and
//! the data slots of its range until data came: a program with many idle
//! connections (httpd with keep-alive clients) ran out of both, and its
//! other threads stalled. Instead the server keeps, per socket, a word with
//! [`READABLE`] set while a receive may find something (data, end of
//! stream, an error), and the client reads only then, with a nonblocking
//! request; otherwise it sets [`WAITING`] and sleeps on the word. The
//! server clears `READABLE` when a receive leaves nothing behind and sets
//! it again (waking the sleepers if `WAITING` was set) when the stack
//! says the socket changed.
//!
//! Both sides change the word with single atomic read-modify-writes, so a
//! wake cannot be lost: either the client's `fetch_or(WAITING)` sees
//! `READABLE` (and reads instead of sleeping), or the server's
//! `fetch_or(READABLE)` sees `WAITING` (and wakes), and the futex wait
//! compares the whole word. A client that scribbles on its words can only
//! wake itself spuriously or sleep until its own timeout.

use crate::layout::{READY, READY_WORDS};
use crate::region::Region;
use crate::wake::Waker;
use core::sync::atomic::{AtomicU32, Ordering};

/// A receive on the socket may complete now.
pub const READABLE: u32 = 1;
/// A client thread sleeps (or is about to) on the word.
pub const WAITING: u32 = 1 << 31;

impl Region {
    /// The readiness word of socket `id` (ids start at 1), if it has one.
    pub fn ready_word(&self, id: u64) -> Option<&AtomicU32> {
        let i = usize::try_from(id.checked_sub(1)?).ok().filter(|&i| i < READY_WORDS)?;
        // The words fill page 3, below the slots (layout asserts); 4-aligned; only accessed atomically.
        // SAFETY: i < READY_WORDS, so in bounds; valid memory per from_raw's contract.
        Some(unsafe { &*(self.base().add(READY + 4 * i) as *const AtomicU32) })
    }
}

/// Server: the socket can be read (`true`) or a read would wait (`false`).
/// Wakes the client's sleepers when it becomes readable.
pub fn publish(word: &AtomicU32, readable: bool, waker: &impl Waker) {
    if !readable {
        word.fetch_and(!READABLE, Ordering::AcqRel);
        return;
    }
    let old = word.fetch_or(READABLE, Ordering::AcqRel);
    if old & WAITING != 0 {
        word.fetch_and(!WAITING, Ordering::AcqRel);
        waker.wake(word);
    }
}

/// Server: a fresh socket's word (whatever a closed one left is gone).
pub fn reset(word: &AtomicU32, readable: bool) {
    word.store(if readable { READABLE } else { 0 }, Ordering::Release);
}

/// Client: whether a read may complete now; if not, announces a sleeper
/// and returns the value to sleep on (`Err`), which the caller passes to
/// its futex wait.
pub fn check(word: &AtomicU32) -> Result<(), u32> {
    if word.load(Ordering::Acquire) & READABLE != 0 {
        return Ok(());
    }
    let w = word.fetch_or(WAITING, Ordering::AcqRel) | WAITING;
    if w & READABLE != 0 {
        Ok(())
    } else {
        Err(w)
    }
}
