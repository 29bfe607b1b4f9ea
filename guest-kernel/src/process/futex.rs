//! Futexes keyed by the physical address of the word, so waiters in
//! different processes that share memory meet on the same queue.
//!
//! Waiters sit in a fixed table of hashed buckets whose lists keep their
//! capacity: a wait or a wake allocates nothing once the lists have grown,
//! which matters because the I/O channel waits and wakes on every request
//! (a map of per-address lists cost three heap operations per wait).
use super::uaccess::user_u32_paddr;
use crate::mm::phys_to_virt;
use crate::sched::{self, Thread};
use crate::sync::SpinLock;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use pv_abi::syscall::Error;

const BUCKETS: usize = 64;

struct Waiter {
    pa: u64,
    /// Tells this wait apart from any other of the same thread.
    ticket: u64,
    thread: Arc<Thread>,
}

type Bucket = SpinLock<Vec<Waiter>>;

static TABLE: [Bucket; BUCKETS] = [const { SpinLock::new(Vec::new()) }; BUCKETS];
static TICKETS: AtomicU64 = AtomicU64::new(1);

fn bucket(pa: u64) -> &'static Bucket {
    // Words of one page spread out; so do equal offsets in different pages.
    let h = (pa >> 2) ^ (pa >> 12) ^ (pa >> 21);
    &TABLE[h as usize % BUCKETS]
}

fn load(pa: u64) -> u32 {
    // User code may change the word concurrently, hence the atomic load.
    // SAFETY: `pa` is an aligned u32 in a frame the calling process maps.
    unsafe { (*(phys_to_virt(pa) as *const AtomicU32)).load(Ordering::SeqCst) }
}

/// Takes the wait `ticket` off its list; false if a waker already took it.
fn withdraw(b: &Bucket, ticket: u64) -> bool {
    let mut list = b.lock();
    match list.iter().position(|w| w.ticket == ticket) {
        Some(i) => {
            list.remove(i);
            true
        }
        None => false,
    }
}

fn queued(b: &Bucket, ticket: u64) -> bool {
    b.lock().iter().any(|w| w.ticket == ticket)
}

pub fn futex_wait(va: u64, expected: u32, timeout_ns: u64) -> Result<u64, Error> {
    let pa = user_u32_paddr(va)?;
    let deadline = (timeout_ns != u64::MAX).then(|| crate::time::now_ns().saturating_add(timeout_ns));
    let ticket = TICKETS.fetch_add(1, Ordering::Relaxed);
    let b = bucket(pa);
    {
        let mut list = b.lock();
        if load(pa) != expected {
            return Err(Error::WouldBlock);
        }
        list.push(Waiter { pa, ticket, thread: sched::current() });
    }
    if let Some(d) = deadline {
        sched::wake_at(d);
    }
    let r = loop {
        // The owner's kill flag through the scheduler's handle: no reference
        // counting on this path, which every channel wait takes.
        let killed = sched::with_current(|t| t.user.as_ref().is_some_and(|u| u.owner.must_exit())) == Some(true);
        let expired = deadline.is_some_and(|d| crate::time::now_ns() >= d);
        if killed || expired {
            break if withdraw(b, ticket) { Err(Error::TimedOut) } else { Ok(0) };
        }
        sched::park();
        if !queued(b, ticket) {
            break Ok(0);
        }
    };
    if let Some(d) = deadline {
        sched::cancel_wake_at(d);
    }
    r
}

pub fn futex_wake(va: u64, count: u64) -> Result<u64, Error> {
    let pa = user_u32_paddr(va)?;
    let b = bucket(pa);
    let mut woken = 0u64;
    // One waiter per pass, woken outside the bucket lock; most wakes wake one.
    while woken < count {
        let t = {
            let mut list = b.lock();
            match list.iter().position(|w| w.pa == pa) {
                Some(i) => list.remove(i).thread,
                None => break,
            }
        };
        sched::wake(&t);
        woken += 1;
    }
    Ok(woken)
}
