//! A split virtqueue (virtio 1.2 section 2.7) in one DMA region: the
//! descriptor table, then the available ring, then the used ring. Many
//! descriptor chains may be in flight; each is named by its head index.
//!
//! The device writes only the used ring, and every field of it is checked
//! against what we know is in flight: an index that runs ahead, an id past
//! the table or not in flight, a length beyond the chain's writable bytes
//! are each an [`Error`] for this queue. Descriptor links are kept in a
//! shadow copy, so freeing a chain never follows memory the device can
//! write.
use crate::dma::{DmaRegion, DmaSlice};
use crate::error::{Error, Result};
use crate::transport::QueueAddrs;
use core::sync::atomic::{fence, Ordering};

/// The largest queue we set up (the device may offer more).
pub const MAX_SIZE: u16 = 256;
const F_NEXT: u16 = 1;
const F_WRITE: u16 = 2;

/// One buffer of a chain: `writable` if the device writes it.
#[derive(Clone, Copy, Debug)]
pub struct Buf {
    pub at: DmaSlice,
    pub writable: bool,
}

/// (available ring offset, used ring offset, total bytes) for `size`.
pub const fn layout(size: u16) -> (u64, u64, u64) {
    let n = size as u64;
    let avail = 16 * n;
    let used = (avail + 6 + 2 * n + 3) & !3;
    (avail, used, used + 6 + 8 * n)
}

/// The queue size to use when the device offers at most `max`: the
/// largest power of two within both its limit and ours.
pub fn choose_size(max: u16) -> Option<u16> {
    let m = max.min(MAX_SIZE);
    (m != 0).then(|| 1 << (15 - m.leading_zeros() as u16))
}

#[derive(Clone, Copy, Default)]
struct Chain {
    /// Descriptors in the chain; 0 when not in flight.
    len: u16,
    /// Bytes the device may write.
    writable: u32,
}

pub struct SplitQueue {
    mem: DmaRegion,
    size: u16,
    avail_off: u64,
    used_off: u64,
    next: [u16; MAX_SIZE as usize],
    chains: [Chain; MAX_SIZE as usize],
    free_head: u16,
    num_free: u16,
    in_flight: u16,
    avail_idx: u16,
    last_used: u16,
}

impl SplitQueue {
    /// A queue of `size` entries (a power of two up to [`MAX_SIZE`]) in
    /// `mem`, which must be zeroed and large enough.
    pub fn new(mem: DmaRegion, size: u16) -> Result<Self> {
        let (avail_off, used_off, total) = layout(size);
        if size == 0 || size > MAX_SIZE || !size.is_power_of_two() || total > mem.len() {
            return Err(Error::BadQueueSize(u32::from(size)));
        }
        let mut next = [0u16; MAX_SIZE as usize];
        for (i, n) in next.iter_mut().enumerate().take(size as usize) {
            *n = i as u16 + 1;
        }
        let chains = [Chain::default(); MAX_SIZE as usize];
        let q = SplitQueue {
            mem,
            size,
            avail_off,
            used_off,
            next,
            chains,
            free_head: 0,
            num_free: size,
            in_flight: 0,
            avail_idx: 0,
            last_used: 0,
        };
        Ok(q)
    }

    pub fn size(&self) -> u16 {
        self.size
    }

    pub fn addrs(&self) -> QueueAddrs {
        let pa = self.mem.pa();
        QueueAddrs { desc: pa, avail: pa + self.avail_off, used: pa + self.used_off }
    }

    pub fn in_flight(&self) -> u16 {
        self.in_flight
    }

    /// Makes `bufs` one chain and offers it; returns its head. The caller
    /// then notifies the device.
    pub fn add(&mut self, bufs: &[Buf]) -> Result<u16> {
        if bufs.is_empty() || bufs.len() > usize::from(self.num_free) {
            return Err(Error::QueueFull);
        }
        let head = self.free_head;
        let mut d = head;
        let mut writable = 0u32;
        for (i, b) in bufs.iter().enumerate() {
            let last = i + 1 == bufs.len();
            let off = 16 * u64::from(d);
            self.mem.write64(off, b.at.pa);
            self.mem.write32(off + 8, b.at.len);
            let flags = if b.writable { F_WRITE } else { 0 } | if last { 0 } else { F_NEXT };
            self.mem.write16(off + 12, flags);
            self.mem.write16(off + 14, if last { 0 } else { self.next[usize::from(d)] });
            if b.writable {
                writable = writable.saturating_add(b.at.len);
            }
            if !last {
                d = self.next[usize::from(d)];
            }
        }
        self.free_head = self.next[usize::from(d)];
        self.num_free -= bufs.len() as u16;
        self.chains[usize::from(head)] = Chain { len: bufs.len() as u16, writable };
        self.in_flight += 1;
        let slot = u64::from(self.avail_idx % self.size);
        self.mem.write16(self.avail_off + 4 + 2 * slot, head);
        // The ring entry must be visible before the index that publishes it.
        fence(Ordering::SeqCst);
        self.avail_idx = self.avail_idx.wrapping_add(1);
        self.mem.write16(self.avail_off + 2, self.avail_idx);
        fence(Ordering::SeqCst);
        Ok(head)
    }

    /// Whether the device wants a notification for new available entries:
    /// false while its used ring says VIRTQ_USED_F_NO_NOTIFY (virtio 1.2
    /// 2.7.10: without VIRTIO_F_EVENT_IDX the driver then "SHOULD NOT"
    /// notify; the device is still working through the ring). Each skipped
    /// notification is a VM exit saved.
    pub fn needs_notify(&self) -> bool {
        fence(Ordering::SeqCst);
        self.mem.read16(self.used_off) & 1 == 0
    }

    /// Asks the device not to interrupt when it uses a chain of this queue
    /// (VIRTQ_AVAIL_F_NO_INTERRUPT; a hint it may ignore), or to again.
    pub fn set_interrupts(&mut self, on: bool) {
        self.mem.write16(self.avail_off, if on { 0 } else { 1 });
        fence(Ordering::SeqCst);
    }

    /// The next chain the device has used: (head, bytes it wrote), or
    /// None when there is none. A lying device gets an error, and the
    /// entry stays unconsumed (the queue is unusable until reset).
    pub fn pop_used(&mut self) -> Result<Option<(u16, u32)>> {
        fence(Ordering::SeqCst);
        let used_idx = self.mem.read16(self.used_off + 2);
        let pending = used_idx.wrapping_sub(self.last_used);
        if pending == 0 {
            return Ok(None);
        }
        if pending > self.in_flight {
            return Err(Error::BadUsedIndex(used_idx));
        }
        // Read the entry only after the index that published it.
        fence(Ordering::SeqCst);
        let elem = self.used_off + 4 + 8 * u64::from(self.last_used % self.size);
        let id = self.mem.read32(elem);
        let len = self.mem.read32(elem + 4);
        if id >= u32::from(self.size) {
            return Err(Error::BadUsedId(id));
        }
        let id = id as u16;
        let chain = self.chains[usize::from(id)];
        if chain.len == 0 {
            return Err(Error::NotInFlight(id));
        }
        if len > chain.writable {
            return Err(Error::BadUsedLen { id, len });
        }
        let mut last = id;
        for _ in 1..chain.len {
            last = self.next[usize::from(last)];
        }
        self.next[usize::from(last)] = self.free_head;
        self.free_head = id;
        self.num_free += chain.len;
        self.chains[usize::from(id)] = Chain::default();
        self.in_flight -= 1;
        self.last_used = self.last_used.wrapping_add(1);
        Ok(Some((id, len)))
    }
}

#[cfg(test)]
mod tests;
