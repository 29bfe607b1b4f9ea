//! The net thread: it owns the card and the [`NetStack`], and sleeps in one
//! `WaitMany` on the card's interrupt and a wake pipe, with smoltcp's next
//! deadline (`poll_delay`) as the timeout. It wakes when a frame arrives or
//! a send completes that it was waiting for, when a timer of the stack is
//! due, or when another thread of the server hands it work: a command (a
//! closure run on the stack) pushed on a queue, then a byte in the pipe.
//! Every wake-up ends with one poll of the stack, so what a command queued
//! goes out at once.
//!
//! The stack sits behind a lock so that a connection thread can run a
//! socket receive itself ([`NetHandle::run_quick`]): a receive takes bytes
//! the stack already holds and sends nothing, so it needs no poll, and
//! handing it over cost two context switches and five system calls per
//! HTTP request. Everything that sends (and so needs a poll) still comes
//! here: one poll here serves every command queued since the last, where
//! polling after each request on its own thread visited every socket each
//! time (smoltcp's egress and `poll_at` walk them all), which more than
//! doubled the instructions per request at 32 connections.
use super::stack::NetStack;
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, Ordering};
use vireo_io_channel::Doorbell;
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
    /// The stack while the net thread is not using it (None before the
    /// card is up, and while the thread holds it).
    stack: Mutex<Option<NetStack>>,
    /// Spares a pipe write while a byte is (about to be) in the pipe.
    bell: Doorbell,
    wake_w: u64,
}

/// How other threads reach the stack; cheap to clone.
#[derive(Clone)]
pub struct NetHandle {
    shared: Arc<Shared>,
}

impl NetHandle {
    /// Runs `f` on the stack here, now, when the stack is free and no
    /// command waits before it (so one connection's requests keep their
    /// order); otherwise on the net thread, as [`NetHandle::submit`]. `f`
    /// returns whether it left something to send: then the net thread is
    /// woken to poll.
    pub fn run_quick<F: FnOnce(&mut NetStack) -> bool + Send + 'static>(&self, f: F) {
        let queued = self.shared.queue.lock().as_ref().is_some_and(|q| !q.is_empty());
        let guard = if queued { None } else { self.shared.stack.try_lock() };
        if let Some(mut guard) = guard {
            if let Some(stack) = guard.as_mut() {
                let poll = f(stack);
                drop(guard);
                if poll {
                    self.wake();
                }
                return;
            }
        }
        self.submit(Box::new(move |stack| {
            f(stack);
        }));
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
        self.shared.bell.ring(|| {
            let _ = sys::pipe_write(self.shared.wake_w, &[1]);
        });
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
        stack: Mutex::new(None),
        bell: Doorbell::new(),
        wake_w: w,
    });
    Ok((NetHandle { shared }, r))
}

/// There will be no net thread: drops every command, now and later.
pub fn close(handle: &NetHandle) {
    let pending = handle.shared.queue.lock().take();
    drop(pending);
}

/// The thread's loop; never returns.
pub fn run(stack: NetStack, handle: NetHandle, irq: u64, wake_r: u64) -> ! {
    *handle.shared.stack.lock() = Some(stack);
    let mut reported = false;
    let mut irq_fired = false;
    loop {
        let mut guard = handle.shared.stack.lock();
        let Some(stack) = guard.as_mut() else { stack_gone() };
        if irq_fired {
            // Device first (it lowers the line), then unmask.
            stack.interrupt();
            let _ = irq_ack(irq);
            irq_fired = false;
        }
        let now = sys::now_ns();
        let commands = handle.shared.queue.lock().as_mut().map(core::mem::take).unwrap_or_default();
        for cmd in commands {
            cmd(stack);
        }
        stack.poll(now);
        // Parked socket requests that can now complete; what they queued
        // goes out at the next poll, at once.
        if stack.layer_service(sys::now_ns()) {
            continue;
        }
        let mut timeout = stack.poll_delay_ns(now).unwrap_or(sys::FOREVER);
        if let Some(d) = stack.layer_deadline() {
            timeout = timeout.min(d.saturating_sub(sys::now_ns()).max(1));
        }
        if timeout == 0 && stack.tx_blocked() {
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
        // A failed card's interrupt is no longer waited for (nor taken).
        let (both, wake_only) = ([irq, wake_r], [wake_r]);
        let (waits, irq_bit, wake_bit) = match failed {
            None => (&both[..], 1, 2),
            Some(_) => (&wake_only[..], 0, 1),
        };
        // Connection threads may run receives while this thread sleeps.
        drop(guard);
        match wait_many(waits, timeout) {
            Ok(mask) => {
                irq_fired = mask & irq_bit != 0;
                if mask & wake_bit != 0 {
                    // The pipe is emptied before the bell is cleared, and
                    // the queue is taken after (the loop's top): see Doorbell.
                    handle.shared.bell.answer(|| {
                        let mut buf = [0u8; 64];
                        let _ = sys::pipe_read(wake_r, &mut buf);
                    });
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

/// The stack is put in before the loop and only this thread takes it out.
#[cold]
fn stack_gone() -> ! {
    println!("io: net: the stack is gone; network stopped");
    loop {
        let _ = sys::sleep(u64::MAX);
    }
}
