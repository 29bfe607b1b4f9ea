//! A doorbell: how threads of a server wake the one thread that owns a
//! resource (the I/O server's net thread, which sleeps on its card's
//! interrupt and a pipe at once) with one pipe write per sleep rather than
//! one per request.
//!
//! The bell's flag says "a byte is in the pipe, or about to be": a ringer
//! that finds it already set writes nothing. The sleeper, woken by the
//! pipe, must empty the pipe *before* clearing the flag. The other order
//! loses wake-ups for good: a ringer that sets the flag between the clear
//! and the drain has its byte drained with the old one, the flag stays set
//! over an empty pipe, and from then on every ringer writes nothing and
//! every request waits for the sleeper's next timeout (seen as a net
//! thread that ran only on its timers). With the drain first, a ringer that
//! finds the flag still set wrote nothing, but its request was queued
//! before it rang, and the sleeper looks at the queue after answering.

use core::sync::atomic::{AtomicBool, Ordering};

pub struct Doorbell {
    rung: AtomicBool,
}

impl Doorbell {
    pub const fn new() -> Self {
        Doorbell { rung: AtomicBool::new(false) }
    }

    /// After queueing a request: `write` (one byte into the pipe) runs
    /// unless the bell is already rung.
    pub fn ring(&self, write: impl FnOnce()) {
        if !self.rung.swap(true, Ordering::AcqRel) {
            write();
        }
    }

    /// The sleeper, woken by the pipe: `drain` empties it, then the bell is
    /// cleared. Look at the request queue after this, not before.
    pub fn answer(&self, drain: impl FnOnce()) {
        drain();
        self.rung.store(false, Ordering::Release);
    }

    /// Whether a byte is (about to be) in the pipe.
    pub fn is_rung(&self) -> bool {
        self.rung.load(Ordering::Acquire)
    }
}

impl Default for Doorbell {
    fn default() -> Self {
        Self::new()
    }
}
