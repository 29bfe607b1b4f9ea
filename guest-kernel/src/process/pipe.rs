//! Pipes: a bounded byte ring with a read end and a write end, each its own
//! handle object ([`PipeReader`], [`PipeWriter`]). Handles to one end share
//! one `Arc` of it (duplicating or passing a handle clones the `Arc`), so an
//! end is closed when its last handle goes, in whichever process that was:
//! its `Drop` marks the side closed and wakes the other side.
//!
//! `read` blocks until at least one byte is buffered, and returns 0 (end of
//! file) once the ring is empty and the write end is closed. `write` blocks
//! until there is room, returns as soon as some bytes went in and the ring
//! is full (a partial count, as POSIX pipes may), and fails with `Closed`
//! when the read end is gone. Both give up when the calling process is
//! killed. Data moves between user memory and the ring through a small
//! kernel buffer, never with the ring's lock held across a user access.
use crate::sched::{self, Thread};
use crate::sync::SpinLock;
use alloc::sync::Arc;
use alloc::vec::Vec;
use pv_abi::syscall::Error;

/// Bytes a pipe buffers.
pub const CAPACITY: usize = 64 << 10;
/// Bytes moved through the kernel per step.
const CHUNK: usize = 512;

struct Ring {
    buf: Vec<u8>,
    /// Index of the oldest buffered byte.
    head: usize,
    len: usize,
    read_closed: bool,
    write_closed: bool,
    /// Threads parked in `read` or `write`, woken by any change.
    waiters: Vec<Arc<Thread>>,
}

impl Ring {
    fn push(&mut self, bytes: &[u8]) -> usize {
        let n = bytes.len().min(CAPACITY - self.len);
        for (i, b) in bytes[..n].iter().enumerate() {
            let at = (self.head + self.len + i) % CAPACITY;
            self.buf[at] = *b;
        }
        self.len += n;
        n
    }

    fn pop(&mut self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.len);
        for (i, b) in out[..n].iter_mut().enumerate() {
            *b = self.buf[(self.head + i) % CAPACITY];
        }
        self.head = (self.head + n) % CAPACITY;
        self.len -= n;
        n
    }

    /// Parks-to-be: the calling thread is registered under the lock, so a
    /// change made after the caller's check wakes it (park keeps the permit).
    fn register(&mut self) {
        let me = sched::current();
        if !self.waiters.iter().any(|t| Arc::ptr_eq(t, &me)) {
            self.waiters.push(me);
        }
    }
}

struct Pipe {
    ring: SpinLock<Ring>,
}

impl Pipe {
    fn wake(waiters: Vec<Arc<Thread>>) {
        for t in &waiters {
            sched::wake(t);
        }
    }

    fn close(&self, read_side: bool) {
        let waiters = {
            let mut r = self.ring.lock();
            if read_side {
                r.read_closed = true;
            } else {
                r.write_closed = true;
            }
            core::mem::take(&mut r.waiters)
        };
        Self::wake(waiters);
    }
}

/// The read end.
pub struct PipeReader(Arc<Pipe>);
/// The write end.
pub struct PipeWriter(Arc<Pipe>);

impl Drop for PipeReader {
    fn drop(&mut self) {
        self.0.close(true);
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        self.0.close(false);
    }
}

impl Pipe {
    /// Registers `waiter` (if any) under the ring lock, then evaluates
    /// `ready` under the same lock: a change after the check wakes it.
    fn poll(&self, waiter: Option<&Arc<Thread>>, ready: impl Fn(&Ring) -> bool) -> bool {
        let mut r = self.ring.lock();
        if let Some(t) = waiter {
            if !r.waiters.iter().any(|x| Arc::ptr_eq(x, t)) {
                r.waiters.push(t.clone());
            }
        }
        ready(&r)
    }

    fn forget(&self, t: &Arc<Thread>) {
        self.ring.lock().waiters.retain(|x| !Arc::ptr_eq(x, t));
    }
}

impl PipeReader {
    /// For `WaitMany`: ready when a byte is buffered or no writer is left.
    pub fn poll(&self, waiter: Option<&Arc<Thread>>) -> bool {
        self.0.poll(waiter, |r| r.len > 0 || r.write_closed)
    }

    pub fn forget(&self, t: &Arc<Thread>) {
        self.0.forget(t)
    }
}

impl PipeWriter {
    /// For `WaitMany`: ready when there is room or no reader is left.
    pub fn poll(&self, waiter: Option<&Arc<Thread>>) -> bool {
        self.0.poll(waiter, |r| r.len < CAPACITY || r.read_closed)
    }

    pub fn forget(&self, t: &Arc<Thread>) {
        self.0.forget(t)
    }
}

/// A new pipe's two ends, or `NoMemory`.
pub fn pipe() -> Result<(Arc<PipeReader>, Arc<PipeWriter>), Error> {
    let mut buf = Vec::new();
    buf.try_reserve_exact(CAPACITY).map_err(|_| Error::NoMemory)?;
    buf.resize(CAPACITY, 0);
    let ring = Ring { buf, head: 0, len: 0, read_closed: false, write_closed: false, waiters: Vec::new() };
    let p = Arc::new(Pipe { ring: SpinLock::new(ring) });
    Ok((Arc::new(PipeReader(p.clone())), Arc::new(PipeWriter(p))))
}

/// The side of a pipe operation that called it: its user memory, and
/// whether it must stop waiting (its process was killed). Keeps the pipe
/// free of any knowledge of processes.
pub trait UserEnd {
    fn copy_to_user(&self, va: u64, bytes: &[u8]) -> Result<(), Error>;
    fn copy_from_user(&self, va: u64, out: &mut [u8]) -> Result<(), Error>;
    fn should_stop(&self) -> bool;
}

impl PipeReader {
    /// Reads up to `len` bytes to user address `ptr`; 0 = end of file.
    pub fn read(&self, caller: &dyn UserEnd, ptr: u64, len: u64) -> Result<u64, Error> {
        if len == 0 {
            return Ok(0);
        }
        // Wait for data or the writers' end.
        loop {
            {
                let mut r = self.0.ring.lock();
                if r.len > 0 {
                    break;
                }
                if r.write_closed {
                    return Ok(0);
                }
                r.register();
            }
            if caller.should_stop() {
                return Err(Error::Invalid);
            }
            sched::park();
        }
        let mut buf = [0u8; CHUNK];
        let mut done = 0u64;
        while done < len {
            let want = ((len - done) as usize).min(CHUNK);
            let (n, waiters) = {
                let mut r = self.0.ring.lock();
                let n = r.pop(&mut buf[..want]);
                (n, if n > 0 { core::mem::take(&mut r.waiters) } else { Vec::new() })
            };
            Pipe::wake(waiters);
            if n == 0 {
                break;
            }
            // A bad buffer loses the bytes just taken: the caller's fault.
            caller.copy_to_user(ptr + done, &buf[..n])?;
            done += n as u64;
        }
        Ok(done)
    }
}

impl PipeWriter {
    /// Writes up to `len` bytes from user address `ptr`; the count written.
    pub fn write(&self, caller: &dyn UserEnd, ptr: u64, len: u64) -> Result<u64, Error> {
        let mut buf = [0u8; CHUNK];
        let mut done = 0u64;
        while done < len {
            let n = ((len - done) as usize).min(CHUNK);
            caller.copy_from_user(ptr + done, &mut buf[..n])?;
            let pushed = loop {
                let (k, waiters) = {
                    let mut r = self.0.ring.lock();
                    if r.read_closed {
                        return if done > 0 { Ok(done) } else { Err(Error::Closed) };
                    }
                    let k = r.push(&buf[..n]);
                    if k > 0 {
                        (k, core::mem::take(&mut r.waiters))
                    } else if done > 0 {
                        // Full after a partial write: report what went in.
                        return Ok(done);
                    } else {
                        r.register();
                        (0, Vec::new())
                    }
                };
                if k > 0 {
                    Pipe::wake(waiters);
                    break k;
                }
                if caller.should_stop() {
                    return Err(Error::Invalid);
                }
                sched::park();
            };
            done += pushed as u64;
            if pushed < n {
                break;
            }
        }
        Ok(done)
    }
}
