//! Futexes keyed by the physical address of the word, so waiters in
//! different processes that share memory meet on the same queue.
use super::uaccess::user_u32_paddr;
use crate::mm::phys_to_virt;
use crate::sched::{self, Thread};
use crate::sync::SpinLock;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use pv_abi::syscall::Error;

struct Waiter {
    thread: Arc<Thread>,
    woken: Arc<AtomicBool>,
}

static QUEUES: SpinLock<BTreeMap<u64, Vec<Waiter>>> = SpinLock::new(BTreeMap::new());

fn load(pa: u64) -> u32 {
    // SAFETY: `pa` is an aligned u32 in a frame the calling process maps;
    // user code may change it concurrently, hence the atomic load.
    unsafe { (*(phys_to_virt(pa) as *const AtomicU32)).load(Ordering::SeqCst) }
}

/// Removes the calling thread's entry; false if a waker already took it.
fn dequeue(pa: u64, woken: &Arc<AtomicBool>) -> bool {
    let mut q = QUEUES.lock();
    let Some(list) = q.get_mut(&pa) else { return false };
    let before = list.len();
    list.retain(|w| !Arc::ptr_eq(&w.woken, woken));
    let removed = list.len() != before;
    if list.is_empty() {
        q.remove(&pa);
    }
    removed
}

pub fn futex_wait(va: u64, expected: u32, timeout_ns: u64) -> Result<u64, Error> {
    let pa = user_u32_paddr(va)?;
    let deadline = (timeout_ns != u64::MAX).then(|| crate::time::now_ns().saturating_add(timeout_ns));
    let woken = Arc::new(AtomicBool::new(false));
    {
        let mut q = QUEUES.lock();
        if load(pa) != expected {
            return Err(Error::WouldBlock);
        }
        q.entry(pa).or_default().push(Waiter { thread: sched::current(), woken: woken.clone() });
    }
    if let Some(d) = deadline {
        sched::wake_at(d);
    }
    let r = loop {
        if woken.load(Ordering::Acquire) {
            break Ok(0);
        }
        let killed = super::proc::current().is_some_and(|p| p.is_killed());
        let expired = deadline.is_some_and(|d| crate::time::now_ns() >= d);
        if killed || expired {
            break if dequeue(pa, &woken) { Err(Error::TimedOut) } else { Ok(0) };
        }
        sched::park();
    };
    if let Some(d) = deadline {
        sched::cancel_wake_at(d);
    }
    r
}

pub fn futex_wake(va: u64, count: u64) -> Result<u64, Error> {
    let pa = user_u32_paddr(va)?;
    let taken: Vec<Waiter> = {
        let mut q = QUEUES.lock();
        let Some(list) = q.get_mut(&pa) else { return Ok(0) };
        let n = (count.min(list.len() as u64)) as usize;
        let taken = list.drain(..n).collect();
        if list.is_empty() {
            q.remove(&pa);
        }
        taken
    };
    for w in &taken {
        w.woken.store(true, Ordering::Release);
        sched::wake(&w.thread);
    }
    Ok(taken.len() as u64)
}
