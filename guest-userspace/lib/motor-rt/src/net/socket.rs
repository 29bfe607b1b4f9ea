//! A socket descriptor: the server's socket id and the settings the
//! runtime keeps itself (nonblocking, timeouts). Shared by the descriptors
//! `try_clone` made; the server socket is closed when the last goes.
use crate::channel;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use moto_rt::error::{ErrorCode, E_INVALID_ARGUMENT};
use vireo_io_channel::{net, Op};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Tcp,
    Listener,
    Udp,
}

#[derive(Debug)]
pub struct Socket {
    pub id: u64,
    pub kind: Kind,
    nonblocking: AtomicBool,
    /// Nanoseconds, `u64::MAX` for none (moto-rt's convention and the protocol's).
    read_timeout: AtomicU64,
    write_timeout: AtomicU64,
}

impl Socket {
    pub fn new(id: u64, kind: Kind) -> Self {
        Self {
            id,
            kind,
            nonblocking: AtomicBool::new(false),
            read_timeout: AtomicU64::new(net::FOREVER),
            write_timeout: AtomicU64::new(net::FOREVER),
        }
    }

    /// Request flags for a read or write.
    pub fn flags(&self) -> u16 {
        if self.nonblocking() {
            net::NONBLOCK
        } else {
            0
        }
    }

    pub fn nonblocking(&self) -> bool {
        self.nonblocking.load(Ordering::Relaxed)
    }

    pub fn set_nonblocking(&self, on: bool) {
        self.nonblocking.store(on, Ordering::Relaxed);
    }

    pub fn read_timeout(&self) -> u64 {
        self.read_timeout.load(Ordering::Relaxed)
    }

    pub fn write_timeout(&self) -> u64 {
        self.write_timeout.load(Ordering::Relaxed)
    }

    /// 0 is refused (std refuses it before asking).
    pub fn set_read_timeout(&self, ns: u64) -> Result<(), ErrorCode> {
        if ns == 0 {
            return Err(E_INVALID_ARGUMENT);
        }
        self.read_timeout.store(ns, Ordering::Relaxed);
        Ok(())
    }

    pub fn set_write_timeout(&self, ns: u64) -> Result<(), ErrorCode> {
        if ns == 0 {
            return Err(E_INVALID_ARGUMENT);
        }
        self.write_timeout.store(ns, Ordering::Relaxed);
        Ok(())
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        channel::post(Op::NetClose, [self.id, 0, 0, 0, 0]);
    }
}
