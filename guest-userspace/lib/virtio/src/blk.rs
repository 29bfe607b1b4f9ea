//! A virtio-blk driver (virtio 1.2 section 5.2) over any [`Transport`]:
//! reads and writes of whole 512-byte sectors and FLUSH, many requests in
//! flight on queue 0, capacity from config space (any size the device
//! reports, re-read when it says config changed), and read-only devices
//! refusing writes with [`Error::ReadOnly`] before anything is sent.
//!
//! Data buffers are the caller's DMA memory; the driver only points
//! descriptors at them. Request headers and status bytes live in a DMA
//! region of the driver's own (one slot per request in flight).
use crate::dma::{DmaRegion, DmaSlice};
use crate::error::{Error, Result};
use crate::features::{self, BLK_BLK_SIZE, BLK_FLUSH, BLK_RO};
use crate::queue::{self, Buf, SplitQueue};
use crate::transport::{config_snapshot, Transport};

pub const SECTOR: u64 = 512;
/// Requests in flight at most (each takes up to 3 descriptors).
pub const MAX_REQS: usize = 64;
/// Bytes of DMA memory [`Blk::new`] needs for request headers and status.
pub const REQ_MEM: u64 = STATUS_OFF + MAX_REQS as u64;
const STATUS_OFF: u64 = 16 * MAX_REQS as u64;
const T_IN: u32 = 0;
const T_OUT: u32 = 1;
const T_FLUSH: u32 = 4;
const S_OK: u8 = 0;
const S_IOERR: u8 = 1;
const S_UNSUPP: u8 = 2;
/// What we put in the status byte, so one the device never wrote shows.
const S_UNWRITTEN: u8 = 0xff;
const NO_SLOT: u8 = u8::MAX;

/// Names a request in flight, from submission to completion.
pub type Token = usize;

pub struct Blk<T> {
    t: T,
    q: SplitQueue,
    reqs: DmaRegion,
    features: u64,
    capacity: u64,
    blk_size: u32,
    busy: [bool; MAX_REQS],
    head_slot: [u8; queue::MAX_SIZE as usize],
    /// Completions found while waiting for another request.
    stash: [Option<Result<()>>; MAX_REQS],
}

impl<T: Transport> Blk<T> {
    /// Drives the device to DRIVER_OK with queue 0 in `queue_mem` (zeroed,
    /// [`queue::layout`] of [`queue::MAX_SIZE`] bytes is always enough) and
    /// request slots in `req_mem` ([`REQ_MEM`] bytes).
    pub fn new(mut t: T, queue_mem: DmaRegion, req_mem: DmaRegion) -> Result<Self> {
        if t.device_type() != 2 {
            return Err(Error::WrongDevice(t.device_type()));
        }
        if req_mem.len() < REQ_MEM {
            return Err(Error::BadConfig);
        }
        let features = features::negotiate(&mut t, BLK_RO | BLK_BLK_SIZE | BLK_FLUSH)?;
        let max = t.queue_max(0);
        let size = queue::choose_size(max).ok_or(Error::QueueUnavailable(0))?;
        let q = SplitQueue::new(queue_mem, size)?;
        t.queue_setup(0, size, q.addrs())?;
        features::driver_ok(&mut t)?;
        let mut blk = Blk {
            t,
            q,
            reqs: req_mem,
            features,
            capacity: 0,
            blk_size: SECTOR as u32,
            busy: [false; MAX_REQS],
            head_slot: [NO_SLOT; queue::MAX_SIZE as usize],
            stash: [None; MAX_REQS],
        };
        blk.refresh_config()?;
        Ok(blk)
    }

    /// Re-reads capacity (and block size) from config space.
    pub fn refresh_config(&mut self) -> Result<u64> {
        let [lo, hi] = config_snapshot::<_, 2>(&self.t, 0)?;
        self.capacity = u64::from(hi) << 32 | u64::from(lo);
        if self.features & BLK_BLK_SIZE != 0 {
            let [bs] = config_snapshot::<_, 1>(&self.t, 20)?;
            if !bs.is_power_of_two() || !(512..=1 << 16).contains(&bs) {
                return Err(Error::BadConfig);
            }
            self.blk_size = bs;
        }
        Ok(self.capacity)
    }

    /// Disk size in 512-byte sectors.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }
    /// The device's preferred block size in bytes (512 unless it says).
    pub fn block_size(&self) -> u32 {
        self.blk_size
    }
    pub fn read_only(&self) -> bool {
        self.features & BLK_RO != 0
    }
    pub fn features(&self) -> u64 {
        self.features
    }
    pub fn transport(&mut self) -> &mut T {
        &mut self.t
    }

    pub fn submit_read(&mut self, sector: u64, buf: DmaSlice) -> Result<Token> {
        self.check_range(sector, buf)?;
        self.submit(T_IN, sector, Some(buf))
    }

    pub fn submit_write(&mut self, sector: u64, buf: DmaSlice) -> Result<Token> {
        if self.read_only() {
            return Err(Error::ReadOnly);
        }
        self.check_range(sector, buf)?;
        self.submit(T_OUT, sector, Some(buf))
    }

    /// FLUSH, or None when the device did not offer it: without
    /// VIRTIO_BLK_F_FLUSH it has no volatile cache to flush.
    pub fn submit_flush(&mut self) -> Result<Option<Token>> {
        if self.features & BLK_FLUSH == 0 {
            return Ok(None);
        }
        self.submit(T_FLUSH, 0, None).map(Some)
    }

    fn check_range(&self, sector: u64, buf: DmaSlice) -> Result<()> {
        let len = u64::from(buf.len);
        if len == 0 || !len.is_multiple_of(SECTOR) {
            return Err(Error::BadBuffer);
        }
        match sector.checked_add(len / SECTOR) {
            Some(end) if end <= self.capacity => Ok(()),
            _ => Err(Error::OutOfRange),
        }
    }

    fn submit(&mut self, kind: u32, sector: u64, data: Option<DmaSlice>) -> Result<Token> {
        let slot = self.busy.iter().position(|b| !b).ok_or(Error::QueueFull)?;
        let hdr = 16 * slot as u64;
        self.reqs.write32(hdr, kind);
        self.reqs.write32(hdr + 4, 0);
        self.reqs.write64(hdr + 8, sector);
        self.reqs.write8(STATUS_OFF + slot as u64, S_UNWRITTEN);
        let (Some(h), Some(s)) = (self.reqs.slice(hdr, 16), self.reqs.slice(STATUS_OFF + slot as u64, 1)) else {
            return Err(Error::BadConfig);
        };
        let header = Buf { at: h, writable: false };
        let status = Buf { at: s, writable: true };
        let head = match data {
            Some(d) => self.q.add(&[header, Buf { at: d, writable: kind == T_IN }, status])?,
            None => self.q.add(&[header, status])?,
        };
        self.busy[slot] = true;
        self.head_slot[usize::from(head)] = slot as u8;
        self.t.notify(0);
        Ok(slot)
    }

    /// A finished request, if any: its token and how it went. An outer
    /// error means the device broke the protocol.
    pub fn poll(&mut self) -> Result<Option<(Token, Result<()>)>> {
        if let Some(t) = self.stash.iter().position(Option::is_some) {
            self.busy[t] = false;
            return Ok(self.stash[t].take().map(|r| (t, r)));
        }
        self.poll_device()
    }

    fn poll_device(&mut self) -> Result<Option<(Token, Result<()>)>> {
        let Some((head, _len)) = self.q.pop_used()? else { return Ok(None) };
        let slot = core::mem::replace(&mut self.head_slot[usize::from(head)], NO_SLOT);
        if slot == NO_SLOT {
            return Err(Error::NotInFlight(head));
        }
        let slot = usize::from(slot);
        self.busy[slot] = false;
        let result = match self.reqs.read8(STATUS_OFF + slot as u64) {
            S_OK => Ok(()),
            S_IOERR => Err(Error::IoError),
            S_UNSUPP => Err(Error::Unsupported),
            other => Err(Error::BadStatus(other)),
        };
        Ok(Some((slot, result)))
    }

    /// The next finished request; `wait` blocks until the device may have
    /// done something (its interrupt), after which the interrupt is
    /// acknowledged and a config change re-reads the capacity.
    pub fn complete(&mut self, wait: &mut dyn FnMut() -> Result<()>) -> Result<(Token, Result<()>)> {
        if let Some(done) = self.poll()? {
            return Ok(done);
        }
        self.next_from_device(wait)
    }

    fn next_from_device(&mut self, wait: &mut dyn FnMut() -> Result<()>) -> Result<(Token, Result<()>)> {
        loop {
            if let Some(done) = self.poll_device()? {
                return Ok(done);
            }
            wait()?;
            if self.t.ack_interrupt() & 2 != 0 {
                self.refresh_config()?;
            }
        }
    }

    /// Waits for request `token`, keeping other completions for [`poll`](Self::poll).
    pub fn wait_for(&mut self, token: Token, wait: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        if token >= MAX_REQS || !self.busy[token] {
            return Err(Error::NotInFlight(token as u16));
        }
        if let Some(r) = self.stash[token].take() {
            self.busy[token] = false;
            return r;
        }
        loop {
            let (t, r) = self.next_from_device(wait)?;
            if t == token {
                return r;
            }
            // Kept busy until poll hands the result over, so the slot is
            // not reused under a token its owner still holds.
            self.busy[t] = true;
            self.stash[t] = Some(r);
        }
    }

    pub fn read(&mut self, sector: u64, buf: DmaSlice, wait: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        let t = self.submit_read(sector, buf)?;
        self.wait_for(t, wait)
    }

    pub fn write(&mut self, sector: u64, buf: DmaSlice, wait: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        let t = self.submit_write(sector, buf)?;
        self.wait_for(t, wait)
    }

    pub fn flush(&mut self, wait: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        match self.submit_flush()? {
            Some(t) => self.wait_for(t, wait),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
