//! What a virtio driver needs from a transport, whatever it is: device
//! type, features, status, queue set-up, notification, interrupt status
//! and device-specific config space. [`Either`] lets one driver type run
//! over either transport, picked at run time.
use crate::error::{Error, Result};

/// Queue addresses, as the device sees them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueAddrs {
    pub desc: u64,
    pub avail: u64,
    pub used: u64,
}

pub trait Transport {
    /// The virtio device type (2: block, 4: entropy).
    fn device_type(&self) -> u32;
    /// Resets the device and waits (bounded) until it says it has.
    fn reset(&mut self) -> Result<()>;
    fn status(&self) -> u8;
    fn set_status(&mut self, s: u8);
    fn device_features(&mut self) -> u64;
    fn set_driver_features(&mut self, f: u64);
    /// The largest size queue `q` takes (0: there is no such queue).
    fn queue_max(&mut self, q: u16) -> u16;
    /// Sets queue `q` up with `size` entries at `addrs` and enables it.
    fn queue_setup(&mut self, q: u16, size: u16, addrs: QueueAddrs) -> Result<()>;
    fn notify(&mut self, q: u16);
    /// Reads and acknowledges the interrupt status (bit 0: a used buffer,
    /// bit 1: a config change).
    fn ack_interrupt(&mut self) -> u8;
    fn config_generation(&self) -> u32;
    /// Length of the device-specific config space.
    fn config_len(&self) -> u64;
    /// 32 bits of device-specific config space at `off` (4-aligned).
    fn config_read32(&self, off: u64) -> u32;
}

/// Reads `N` dwords of config space at `off` as one consistent snapshot:
/// retried while the generation counter moves, a few times at most.
pub fn config_snapshot<T: Transport + ?Sized, const N: usize>(t: &T, off: u64) -> Result<[u32; N]> {
    if off + 4 * N as u64 > t.config_len() {
        return Err(Error::BadConfig);
    }
    for _ in 0..8 {
        let before = t.config_generation();
        let mut v = [0u32; N];
        for (i, d) in v.iter_mut().enumerate() {
            *d = t.config_read32(off + 4 * i as u64);
        }
        if t.config_generation() == before {
            return Ok(v);
        }
    }
    Err(Error::ConfigUnstable)
}

/// One of two transports.
pub enum Either<A, B> {
    A(A),
    B(B),
}

macro_rules! both {
    ($self:ident, $t:ident => $e:expr) => {
        match $self {
            Either::A($t) => $e,
            Either::B($t) => $e,
        }
    };
}

impl<A: Transport, B: Transport> Transport for Either<A, B> {
    fn device_type(&self) -> u32 {
        both!(self, t => t.device_type())
    }
    fn reset(&mut self) -> Result<()> {
        both!(self, t => t.reset())
    }
    fn status(&self) -> u8 {
        both!(self, t => t.status())
    }
    fn set_status(&mut self, s: u8) {
        both!(self, t => t.set_status(s))
    }
    fn device_features(&mut self) -> u64 {
        both!(self, t => t.device_features())
    }
    fn set_driver_features(&mut self, f: u64) {
        both!(self, t => t.set_driver_features(f))
    }
    fn queue_max(&mut self, q: u16) -> u16 {
        both!(self, t => t.queue_max(q))
    }
    fn queue_setup(&mut self, q: u16, size: u16, addrs: QueueAddrs) -> Result<()> {
        both!(self, t => t.queue_setup(q, size, addrs))
    }
    fn notify(&mut self, q: u16) {
        both!(self, t => t.notify(q))
    }
    fn ack_interrupt(&mut self) -> u8 {
        both!(self, t => t.ack_interrupt())
    }
    fn config_generation(&self) -> u32 {
        both!(self, t => t.config_generation())
    }
    fn config_len(&self) -> u64 {
        both!(self, t => t.config_len())
    }
    fn config_read32(&self, off: u64) -> u32 {
        both!(self, t => t.config_read32(off))
    }
}
