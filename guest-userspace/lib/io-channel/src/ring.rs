//! One queue's two ends: a single producer and a single consumer.
//!
//! Each end keeps its own counter privately (the copy in the region is only
//! published, never read back), and reads the other end's counter with
//! Acquire after the other end's Release store. A counter that is more than
//! `QUEUE_LEN` from ours, or that moved backwards, is a `BadIndex`: the
//! reader refuses it rather than reading or overwriting entries it does not
//! own.

use crate::error::Error;
use crate::layout::QUEUE_LEN;
use crate::msg::Msg;
use crate::region::{Region, Word};
use crate::wake::{Waker, AWAKE, SLEEPING};
use core::sync::atomic::{fence, Ordering};

/// Which queue an end works on.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Queue {
    entries: usize,
    head: Word,
    tail: Word,
    sleep: Word,
}

pub(crate) const SQ: Queue =
    Queue { entries: crate::layout::SQ_ENTRIES, head: Word::SqHead, tail: Word::SqTail, sleep: Word::SqSleep };
pub(crate) const CQ: Queue =
    Queue { entries: crate::layout::CQ_ENTRIES, head: Word::CqHead, tail: Word::CqTail, sleep: Word::CqSleep };

/// The writing end of a queue.
#[derive(Debug)]
pub struct Producer {
    region: Region,
    queue: Queue,
    tail: u32,
    /// The consumer's head when last read (it only moves forwards).
    head: u32,
}

impl Producer {
    pub(crate) fn new(region: Region, queue: Queue) -> Self {
        Self { region, queue, tail: 0, head: 0 }
    }

    /// Free entries, reading the consumer's head afresh.
    pub fn free(&mut self) -> Result<u32, Error> {
        let head = self.region.word(self.queue.head).load(Ordering::Acquire);
        let used = self.tail.wrapping_sub(head);
        // The head may only move forwards, and never past our tail.
        if used > QUEUE_LEN || head.wrapping_sub(self.head) > QUEUE_LEN {
            return Err(Error::BadIndex { ours: self.tail, theirs: head });
        }
        self.head = head;
        Ok(QUEUE_LEN - used)
    }

    /// Queues `msg` and publishes it; the consumer sees it at once if it is
    /// running, but a sleeping one only after [`Producer::notify`].
    pub fn push(&mut self, msg: &Msg) -> Result<(), Error> {
        if self.tail.wrapping_sub(self.head) >= QUEUE_LEN && self.free()? == 0 {
            return Err(Error::Full);
        }
        msg.store(self.region.entry(self.queue.entries, self.tail));
        self.tail = self.tail.wrapping_add(1);
        self.region.word(self.queue.tail).store(self.tail, Ordering::Release);
        Ok(())
    }

    /// Wakes the consumer if it sleeps: one call per batch of pushes.
    /// Returns whether a wake-up (a system call) was needed.
    pub fn notify(&mut self, waker: &impl Waker) -> bool {
        fence(Ordering::SeqCst);
        let word = self.region.word(self.queue.sleep);
        if word.load(Ordering::Relaxed) == AWAKE {
            return false;
        }
        word.store(AWAKE, Ordering::Relaxed);
        waker.wake(word);
        true
    }
}

/// The reading end of a queue.
#[derive(Debug)]
pub struct Consumer {
    region: Region,
    queue: Queue,
    head: u32,
}

impl Consumer {
    pub(crate) fn new(region: Region, queue: Queue) -> Self {
        Self { region, queue, head: 0 }
    }

    /// Messages waiting, reading the producer's tail afresh.
    pub fn available(&self) -> Result<u32, Error> {
        let tail = self.region.word(self.queue.tail).load(Ordering::Acquire);
        let n = tail.wrapping_sub(self.head);
        if n > QUEUE_LEN {
            return Err(Error::BadIndex { ours: self.head, theirs: tail });
        }
        Ok(n)
    }

    /// Takes the next message, if any. The message is the peer's: check its
    /// op and data range ([`Msg::data`], `Op::try_from`) before use.
    pub fn pop(&mut self) -> Result<Option<Msg>, Error> {
        if self.available()? == 0 {
            return Ok(None);
        }
        let msg = Msg::load(self.region.entry(self.queue.entries, self.head));
        self.head = self.head.wrapping_add(1);
        // Release: our reads of the entry happen before the producer reuses it.
        self.region.word(self.queue.head).store(self.head, Ordering::Release);
        Ok(Some(msg))
    }

    /// For a consumer shared behind a lock whose waiter sleeps outside it:
    /// marks the sleep word `SLEEPING` and looks at the queue once more.
    /// True: still empty, the caller may sleep on the word (expecting
    /// `SLEEPING`) and must [`Consumer::disarm`] afterwards; false: a message
    /// is waiting (the word is `AWAKE` again).
    pub fn arm(&self) -> Result<bool, Error> {
        let word = self.region.word(self.queue.sleep);
        word.store(SLEEPING, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if self.available()? == 0 {
            return Ok(true);
        }
        self.disarm();
        Ok(false)
    }

    /// Ends an [`Consumer::arm`]ed sleep.
    pub fn disarm(&self) {
        self.region.word(self.queue.sleep).store(AWAKE, Ordering::Relaxed);
    }

    /// Sleeps until a message is queued (or `timeout_ns` passes, or a
    /// spurious wake-up); returns how many are waiting, possibly 0.
    pub fn wait(&mut self, waker: &impl Waker, timeout_ns: u64) -> Result<u32, Error> {
        let n = self.available()?;
        if n > 0 {
            return Ok(n);
        }
        let word = self.region.word(self.queue.sleep);
        word.store(SLEEPING, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if self.available()? == 0 {
            waker.wait(word, SLEEPING, timeout_ns);
        }
        word.store(AWAKE, Ordering::Relaxed);
        self.available()
    }
}
