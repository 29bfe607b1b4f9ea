//! A virtio-balloon driver (virtio 1.2 section 5.5) for free-page
//! reporting only (VIRTIO_BALLOON_F_REPORTING): runs of free guest memory
//! go to the device as device-writable buffers on the reporting queue, the
//! host discards them, and the device hands them back used. Inflation and
//! deflation are not driven; the target the host sets (`num_pages`) is
//! read so the caller can say so.
//!
//! Which queue reports: they are numbered inflateq 0, deflateq 1, then
//! statsq, free_page_vq and reporting_vq, each present only with its
//! feature. QEMU creates statsq always (and always offers STATS_VQ) and
//! free_page_vq whenever it offers FREE_PAGE_HINT, negotiated or not,
//! while Linux numbers by what was negotiated. Counting what the device
//! *offers* and accepting STATS_VQ when offered satisfies both. We never
//! post a stats buffer: the device then has no statistics to give.
use crate::dma::{DmaRegion, DmaSlice};
use crate::error::{Error, Result};
use crate::features::{self, BALLOON_FREE_PAGE_HINT, BALLOON_REPORTING, BALLOON_STATS_VQ};
use crate::queue::{self, Buf, SplitQueue};
use crate::transport::{config_snapshot, Transport};

pub const DEVICE_TYPE: u32 = 5;
/// Bytes one descriptor covers at most (its length is a u32; QEMU
/// discards per descriptor, whole host pages only).
pub const MAX_DESC_BYTES: u64 = 1 << 30;

/// A run of free guest memory to report: guest-physical address and bytes,
/// both page multiples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    pub addr: u64,
    pub len: u64,
}

pub struct Balloon<T> {
    t: T,
    q: SplitQueue,
    queue_index: u16,
    features: u64,
}

impl<T: Transport> Balloon<T> {
    /// Drives the device to DRIVER_OK with the reporting queue in
    /// `queue_mem` (zeroed, [`queue::layout`] of [`queue::MAX_SIZE`] bytes).
    /// A device without REPORTING, or whose reporting queue has size 0, is
    /// an error (and left FAILED).
    pub fn new(mut t: T, queue_mem: DmaRegion) -> Result<Self> {
        if t.device_type() != DEVICE_TYPE {
            return Err(Error::WrongDevice(t.device_type()));
        }
        let features = features::negotiate(&mut t, BALLOON_REPORTING | BALLOON_STATS_VQ)?;
        if features & BALLOON_REPORTING == 0 {
            t.set_status(features::status::FAILED);
            return Err(Error::FeatureMissing(BALLOON_REPORTING));
        }
        let offered = t.device_features();
        let queue_index =
            2 + u16::from(offered & BALLOON_STATS_VQ != 0) + u16::from(offered & BALLOON_FREE_PAGE_HINT != 0);
        let Some(size) = queue::choose_size(t.queue_max(queue_index)) else {
            t.set_status(features::status::FAILED);
            return Err(Error::QueueUnavailable(queue_index));
        };
        let q = SplitQueue::new(queue_mem, size)?;
        t.queue_setup(queue_index, size, q.addrs())?;
        // Used buffers are collected after an interrupt, one per batch.
        features::driver_ok(&mut t)?;
        Ok(Balloon { t, q, queue_index, features })
    }

    pub fn features(&self) -> u64 {
        self.features
    }

    pub fn queue_index(&self) -> u16 {
        self.queue_index
    }

    pub fn queue_size(&self) -> u16 {
        self.q.size()
    }

    pub fn transport(&mut self) -> &mut T {
        &mut self.t
    }

    /// The number of 4 KiB pages the host asks the balloon to hold
    /// (`num_pages`, config offset 0). We never inflate.
    pub fn target_pages(&self) -> Result<u32> {
        let [n] = config_snapshot::<_, 1>(&self.t, 0)?;
        Ok(n)
    }

    /// Reports `runs`: offers them to the device (one descriptor per run or
    /// [`MAX_DESC_BYTES`] of one, as many at once as the queue holds) and
    /// returns once it has used every one. `wait` blocks until the device
    /// interrupts. On an error the device may still hold buffers: the caller
    /// must reset it before the memory is used again.
    pub fn report(&mut self, runs: &[Run], wait: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        let mut pieces = runs.iter().flat_map(|r| split(*r));
        let mut next = pieces.next();
        while next.is_some() || self.q.in_flight() > 0 {
            let mut added = false;
            while let Some(p) = next {
                match self.q.add(&[Buf { at: p?, writable: true }]) {
                    Ok(_) => {
                        added = true;
                        next = pieces.next();
                    }
                    Err(Error::QueueFull) => break,
                    Err(e) => return Err(e),
                }
            }
            if added && self.q.needs_notify() {
                self.t.notify(self.queue_index);
            }
            while self.q.pop_used()?.is_some() {}
            if self.q.in_flight() > 0 && (next.is_none() || !self.q_has_room()) {
                wait()?;
                self.t.ack_interrupt();
            }
        }
        Ok(())
    }

    fn q_has_room(&self) -> bool {
        self.q.in_flight() < self.q.size()
    }
}

/// `r` as descriptors of at most [`MAX_DESC_BYTES`]; a run that is empty,
/// not page-aligned or wraps is [`Error::BadBuffer`].
fn split(r: Run) -> impl Iterator<Item = Result<DmaSlice>> {
    let bad = r.len == 0 || !(r.addr | r.len).is_multiple_of(4096) || r.addr.checked_add(r.len).is_none();
    let n = if bad { 1 } else { r.len.div_ceil(MAX_DESC_BYTES) };
    (0..n).map(move |i| {
        if bad {
            return Err(Error::BadBuffer);
        }
        let off = i * MAX_DESC_BYTES;
        Ok(DmaSlice { pa: r.addr + off, len: (r.len - off).min(MAX_DESC_BYTES) as u32 })
    })
}

#[cfg(test)]
mod tests;
