//! The poll slots (78-83): a poll descriptor is a registry in the I/O
//! server's socket layer (`Op::PollNew` and up); only sockets can be
//! registered (anything else is `E_INVALID_ARGUMENT`).
use super::socket_of;
use crate::channel::{self, lock, Room};
use crate::fd::{self, Fd};
use crate::fs::neg;
use alloc::sync::Arc;
use alloc::vec;
use moto_rt::error::{ErrorCode, E_BAD_HANDLE, E_INVALID_ARGUMENT, E_OK, E_OUT_OF_MEMORY};
use moto_rt::poll::Event;
use moto_rt::RtFd;
use vireo_io_channel::{net, poll, Msg, Op};

/// Events one wait returns at most (64 KiB of 16-byte records).
const MAX_EVENTS: usize = channel::CHUNK / net::EVENT_SIZE;

#[derive(Debug)]
pub struct Registry {
    pub id: u64,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = channel::call(Op::PollClose, [self.id, 0, 0, 0, 0], &[]);
    }
}

fn registry_of(fd: RtFd) -> Result<Arc<Registry>, ErrorCode> {
    match fd::get(fd) {
        Some(Fd::Poll(r)) => Ok(r),
        Some(_) => Err(E_INVALID_ARGUMENT),
        None => Err(E_BAD_HANDLE),
    }
}

fn code(r: Result<(), ErrorCode>) -> ErrorCode {
    r.err().unwrap_or(E_OK)
}

pub extern "C" fn new() -> i64 {
    match channel::call(Op::PollNew, [0; 5], &[]) {
        Ok(m) => match fd::insert(Fd::Poll(Arc::new(Registry { id: m.args[0] }))) {
            Some(fd) => fd as i64,
            None => neg(E_OUT_OF_MEMORY),
        },
        Err(e) => neg(e),
    }
}

fn ctl(poll_fd: RtFd, source: RtFd, token: u64, interests: u64, how: u16) -> ErrorCode {
    code(registry_of(poll_fd).and_then(|r| {
        let s = socket_of(source)?;
        channel::call_flags(Op::PollCtl, how, [r.id, s.id, token, interests, 0], &[]).map(drop)
    }))
}

pub extern "C" fn add(poll_fd: RtFd, source: RtFd, token: u64, interests: u64) -> ErrorCode {
    ctl(poll_fd, source, token, interests, poll::ADD)
}

pub extern "C" fn set(poll_fd: RtFd, source: RtFd, token: u64, interests: u64) -> ErrorCode {
    ctl(poll_fd, source, token, interests, poll::MODIFY)
}

pub extern "C" fn del(poll_fd: RtFd, source: RtFd) -> ErrorCode {
    ctl(poll_fd, source, 0, 0, poll::DELETE)
}

pub extern "C" fn wake(poll_fd: RtFd) -> ErrorCode {
    code(registry_of(poll_fd).and_then(|r| channel::call(Op::PollWake, [r.id, 0, 0, 0, 0], &[]).map(drop)))
}

/// `deadline` is an absolute time in moto-rt ticks (nanoseconds of the
/// monotonic clock here), `u64::MAX` for none.
pub extern "C" fn wait(poll_fd: RtFd, deadline: u64, events: *mut Event, n: usize) -> i32 {
    let r = registry_of(poll_fd).and_then(|r| {
        if events.is_null() && n > 0 {
            return Err(E_INVALID_ARGUMENT);
        }
        let timeout =
            if deadline == u64::MAX { net::FOREVER } else { deadline.saturating_sub(vireo_rt::sys::now_ns()) };
        let max = n.clamp(1, MAX_EVENTS);
        let mut msg = Msg::new(0, Op::PollWait);
        msg.args[..2].copy_from_slice(&[r.id, timeout]);
        let mut buf = vec![0u8; max * net::EVENT_SIZE];
        let mut g = lock()?;
        let p = g.push(msg, &[], buf.len(), Room::Shrink)?;
        let (_, got) = g.finish(p, &mut buf)?;
        let count = (got / net::EVENT_SIZE).min(n);
        for (i, rec) in buf[..count * net::EVENT_SIZE].chunks_exact(net::EVENT_SIZE).enumerate() {
            let mut w = [0u8; 8];
            w.copy_from_slice(&rec[..8]);
            let token = u64::from_le_bytes(w);
            w.copy_from_slice(&rec[8..]);
            let bits = u64::from_le_bytes(w);
            // SAFETY: std passes room for `n` events; i < count <= n.
            unsafe { *events.add(i) = Event { token, events: bits } };
        }
        Ok(count)
    });
    match r {
        Ok(c) => c as i32,
        Err(e) => -(e as i32),
    }
}
