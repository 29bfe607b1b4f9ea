//! The net thread: it brings the card up, takes its interrupts, and sleeps
//! in one `WaitMany` on the card's interrupt and a wake pipe, with the
//! stack's next deadline (`poll_delay`, parked requests) as the timeout.
//!
//! The [`NetStack`] sits behind a lock that other threads of the server
//! may take too: a connection thread with a socket request runs it on the
//! stack itself ([`NetHandle::run`]), polls, and only wakes the net thread
//! when the stack now has a deadline earlier than the one the net thread
//! sleeps to. Handing every request over (a queue, a byte in the pipe, a
//! switch to this thread and back) cost two context switches and five
//! system calls per HTTP request. When the stack is busy, or for work that
//! waits for its answer ([`NetHandle::call`]), a command goes on the queue
//! and the pipe wakes this thread, which runs queued commands first in
//! every round; a caller that finds commands queued runs them before its
//! own, so one connection's requests keep their order.
use super::stack::NetStack;
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use vireo_rt::device::{irq_ack, wait_many};
use vireo_rt::sync::Mutex;
use vireo_rt::{println, sys};

/// Work for the net thread.
pub type Command = Box<dyn FnOnce(&mut NetStack) + Send>;

/// The longest sleep while every transmit buffer is in flight and smoltcp
/// has more to send: the completion interrupt normally ends it sooner.
const TX_BLOCKED_NS: u64 = 10_000_000;

struct Shared {
    /// Commands, or None once the thread is gone (the card failed to start).
    queue: Mutex<Option<VecDeque<Command>>>,
    /// A byte is (about to be) in the pipe: later wakers need not write.
    wake_pending: AtomicBool,
    wake_w: u64,
    /// The stack, once the net thread has brought the card up.
    stack: Mutex<Option<NetStack>>,
    /// When the net thread next looks at the stack unasked (ns since boot;
    /// `u64::MAX`: only for a frame or a wake). Set under the stack lock.
    sleep_until: AtomicU64,
}

/// How other threads reach the stack; cheap to clone.
#[derive(Clone)]
pub struct NetHandle {
    shared: Arc<Shared>,
}

impl NetHandle {
    /// Runs `f` on the stack: here, now, if the stack is free (then polls,
    /// retries parked requests, and wakes the net thread only if its sleep
    /// would now run past a deadline of the stack); otherwise on the net
    /// thread, soon, as [`NetHandle::submit`].
    pub fn run<F: FnOnce(&mut NetStack) + Send + 'static>(&self, f: F) {
        let Some(mut guard) = self.shared.stack.try_lock() else { return self.submit(Box::new(f)) };
        let Some(stack) = guard.as_mut() else {
            drop(guard);
            return self.submit(Box::new(f));
        };
        let queued = self.shared.queue.lock().as_mut().map(core::mem::take).unwrap_or_default();
        for cmd in queued {
            cmd(stack);
        }
        f(stack);
        let due = settle(stack);
        drop(guard);
        if due < self.shared.sleep_until.load(Ordering::Acquire) {
            self.wake();
        }
    }

    /// Runs `cmd` on the net thread, soon; does not wait for it. Without a
    /// net thread the command is dropped unrun.
    pub fn submit(&self, cmd: Command) {
        match self.shared.queue.lock().as_mut() {
            Some(q) => q.push_back(cmd),
            None => return,
        }
        self.wake();
    }

    /// Runs `f` on the net thread and returns its result; None if there is
    /// no net thread (the card could not be started).
    pub fn call<R: Send + 'static>(&self, f: impl FnOnce(&mut NetStack) -> R + Send + 'static) -> Option<R> {
        let reply = Arc::new(Reply { done: AtomicU32::new(PENDING), value: Mutex::new(None) });
        let guard = ReplyGuard(reply.clone());
        self.submit(Box::new(move |stack| {
            *guard.0.value.lock() = Some(f(stack));
        }));
        loop {
            if reply.done.load(Ordering::Acquire) != PENDING {
                return reply.value.lock().take();
            }
            // WouldBlock (already done) and spurious wakes: look again.
            let _ = sys::futex_wait(&reply.done, PENDING, sys::FOREVER);
        }
    }

    /// Makes the net thread poll the stack (after a socket changed).
    pub fn wake(&self) {
        if !self.shared.wake_pending.swap(true, Ordering::AcqRel) {
            let _ = sys::pipe_write(self.shared.wake_w, &[1]);
        }
    }
}

const PENDING: u32 = 0;
const FINISHED: u32 = 1;

struct Reply<R> {
    done: AtomicU32,
    value: Mutex<Option<R>>,
}

/// Travels with a command: when the command has run, or is dropped unrun,
/// the caller waiting in [`NetHandle::call`] is released.
struct ReplyGuard<R>(Arc<Reply<R>>);

impl<R> Drop for ReplyGuard<R> {
    fn drop(&mut self) {
        self.0.done.store(FINISHED, Ordering::Release);
        let _ = sys::futex_wake(&self.0.done, 1);
    }
}

/// The wake pipe and command queue; `run` takes the pipe's read end.
pub fn channel() -> Result<(NetHandle, u64), vireo_rt::Error> {
    let (r, w) = sys::pipe_create()?;
    let shared = Arc::new(Shared {
        queue: Mutex::new(Some(VecDeque::new())),
        wake_pending: AtomicBool::new(false),
        wake_w: w,
        stack: Mutex::new(None),
        sleep_until: AtomicU64::new(0),
    });
    Ok((NetHandle { shared }, r))
}

/// There will be no net thread: drops every command, now and later.
pub fn close(handle: &NetHandle) {
    let pending = handle.shared.queue.lock().take();
    drop(pending);
}

/// After work on the stack: polls until the socket layer has nothing more
/// to send, and returns when the stack next needs a look (ns since boot;
/// `u64::MAX`: never unasked; 0: now, for the net thread: a full transmit
/// ring or a failed card is its business).
fn settle(stack: &mut NetStack) -> u64 {
    loop {
        stack.poll(sys::now_ns());
        // Parked socket requests that can now complete; what they queued
        // goes out at the next poll, at once.
        if !stack.layer_service(sys::now_ns()) {
            break;
        }
    }
    if stack.tx_blocked() || stack.device_error().is_some() {
        return 0;
    }
    let now = sys::now_ns();
    let mut due = stack.poll_delay_ns(now).map_or(u64::MAX, |d| now.saturating_add(d));
    if let Some(d) = stack.layer_deadline() {
        due = due.min(d);
    }
    due
}

/// The thread's loop; never returns.
pub fn run(stack: NetStack, handle: NetHandle, irq: u64, wake_r: u64) -> ! {
    *handle.shared.stack.lock() = Some(stack);
    let mut reported = false;
    let mut irq_fired = false;
    loop {
        let mut guard = handle.shared.stack.lock();
        let Some(stack) = guard.as_mut() else { unreachable_stack() };
        if irq_fired {
            // Device first (it lowers the line), then unmask.
            stack.interrupt();
            let _ = irq_ack(irq);
            irq_fired = false;
        }
        let commands = handle.shared.queue.lock().as_mut().map(core::mem::take).unwrap_or_default();
        for cmd in commands {
            cmd(stack);
        }
        let due = settle(stack);
        let now = sys::now_ns();
        let mut timeout = due.saturating_sub(now);
        if due == 0 && stack.tx_blocked() {
            timeout = TX_BLOCKED_NS;
        }
        let failed = stack.device_error();
        if let Some(e) = failed {
            if !reported {
                println!("io: net: the card failed ({e:?}); no more traffic goes to it");
                reported = true;
            }
            // Sockets that cannot send would ask to be polled again at
            // once; with the card gone only commands can change anything.
            timeout = sys::FOREVER;
        }
        if timeout == 0 {
            continue;
        }
        let until = if timeout == sys::FOREVER { u64::MAX } else { now.saturating_add(timeout) };
        handle.shared.sleep_until.store(until, Ordering::Release);
        drop(guard);
        // A failed card's interrupt is no longer waited for (nor taken).
        let (both, wake_only) = ([irq, wake_r], [wake_r]);
        let (waits, irq_bit, wake_bit) = match failed {
            None => (&both[..], 1, 2),
            Some(_) => (&wake_only[..], 0, 1),
        };
        match wait_many(waits, timeout) {
            Ok(mask) => {
                irq_fired = mask & irq_bit != 0;
                if mask & wake_bit != 0 {
                    handle.shared.wake_pending.store(false, Ordering::Release);
                    let mut buf = [0u8; 64];
                    let _ = sys::pipe_read(wake_r, &mut buf);
                }
            }
            Err(vireo_rt::Error::TimedOut) => {}
            Err(e) => {
                // Cannot wait: a bad handle would make this spin. Stop here.
                println!("io: net: cannot wait for the card: {}; network stopped", e.name());
                loop {
                    let _ = sys::sleep(u64::MAX);
                }
            }
        }
    }
}

/// The stack is put in before the loop and never taken out.
#[cold]
fn unreachable_stack() -> ! {
    println!("io: net: the stack is gone; network stopped");
    loop {
        let _ = sys::sleep(u64::MAX);
    }
}
