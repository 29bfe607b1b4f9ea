//! A service's listener: a bounded queue of connections waiting to be
//! accepted, and the threads waiting for one. Generic over what a
//! connection is, so it knows nothing of processes or handles (the
//! registry in `service` gives it its meaning).
use crate::sched::{self, Thread};
use crate::sync::SpinLock;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use pv_abi::syscall::{Error, MAX_PENDING_CONNECTIONS};

struct Queue<C> {
    pending: VecDeque<C>,
    /// Threads parked in accept (or WaitMany), woken by a new connection.
    waiters: Vec<Arc<Thread>>,
}

pub struct Listener<C> {
    queue: SpinLock<Queue<C>>,
}

impl<C> Default for Listener<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C> Listener<C> {
    pub fn new() -> Self {
        Self { queue: SpinLock::new(Queue { pending: VecDeque::new(), waiters: Vec::new() }) }
    }

    /// Queues a connection and wakes every waiter (each re-checks; one of
    /// them takes it). `Limit` when [`MAX_PENDING_CONNECTIONS`] wait already.
    pub fn push(&self, c: C) -> Result<(), Error> {
        let waiters = {
            let mut q = self.queue.lock();
            if q.pending.len() >= MAX_PENDING_CONNECTIONS {
                return Err(Error::Limit);
            }
            q.pending.try_reserve(1).map_err(|_| Error::NoMemory)?;
            q.pending.push_back(c);
            core::mem::take(&mut q.waiters)
        };
        for t in &waiters {
            sched::wake(t);
        }
        Ok(())
    }

    /// The oldest connection; if there is none, registers `waiter` (if any)
    /// under the same lock, so a connection queued after this check wakes it.
    pub fn pop_or_register(&self, waiter: Option<&Arc<Thread>>) -> Option<C> {
        let mut q = self.queue.lock();
        let c = q.pending.pop_front();
        if c.is_none() {
            if let Some(t) = waiter {
                if !q.waiters.iter().any(|x| Arc::ptr_eq(x, t)) {
                    q.waiters.push(t.clone());
                }
            }
        }
        c
    }

    /// Puts a connection back at the head (an accept that could not deliver it).
    pub fn unpop(&self, c: C) {
        let waiters = {
            let mut q = self.queue.lock();
            q.pending.push_front(c);
            core::mem::take(&mut q.waiters)
        };
        for t in &waiters {
            sched::wake(t);
        }
    }

    /// For `WaitMany`: registers `waiter` (if any), then says whether a
    /// connection is pending.
    pub fn poll(&self, waiter: Option<&Arc<Thread>>) -> bool {
        let mut q = self.queue.lock();
        if let Some(t) = waiter {
            if !q.waiters.iter().any(|x| Arc::ptr_eq(x, t)) {
                q.waiters.push(t.clone());
            }
        }
        !q.pending.is_empty()
    }

    pub fn forget(&self, t: &Arc<Thread>) {
        self.queue.lock().waiters.retain(|x| !Arc::ptr_eq(x, t));
    }
}
