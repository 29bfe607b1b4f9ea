//! The first virtio-blk disk as a [`BlockDevice`] for the file system.
//!
//! Data goes through one DMA bounce buffer: the device writes into it, we
//! copy straight into the caller's buffer (the server's request buffer) and
//! keep nothing. A large read or write goes out as up to [`IN_FLIGHT`]
//! requests of [`CHUNK`] bytes at once.

use vireo_fs::{BlkError, BlockDevice};
use vireo_rt::device::{DeviceInfo, KIND_PCI};
use vireo_virtio::blk::{Blk, REQ_MEM, SECTOR};
use vireo_virtio::dma::DmaRegion;
use vireo_virtio::sys::{self as vsys, AnyTransport, Irq};
use vireo_virtio::{queue, Error};

/// Bytes per request.
const CHUNK: u64 = 64 << 10;
/// Requests in flight per call.
const IN_FLIGHT: u64 = 4;
/// Device waits have no deadline. A deadline measured on the guest's clock
/// is not one in real time: under QEMU `-icount sleep=off` an idle guest's
/// clock jumps to its next timer, so a 30 s timeout expired at once while the
/// host was still flushing, and a working disk was declared gone. A device
/// that lies (bad used-ring entries, bad status) is still caught by the
/// driver's checks; one that never answers blocks the requests waiting on it.
const TIMEOUT_NS: u64 = vireo_rt::sys::FOREVER;
const VIRTIO_BLK: u32 = 2;

pub struct VirtioDisk {
    blk: Blk<AnyTransport>,
    irq: Irq,
    bounce: DmaRegion,
    /// Set once the device misbehaved: every later request fails at once.
    gone: bool,
}

impl VirtioDisk {
    /// The first virtio-blk device, driven to DRIVER_OK, and a name for
    /// messages; `Ok(None)` when there is none.
    pub fn open_first(right: u64) -> Result<Option<(Self, &'static str)>, Error> {
        let Some((index, info)) = vsys::find(right, VIRTIO_BLK) else { return Ok(None) };
        Self::open(right, index, &info).map(Some)
    }

    fn open(right: u64, index: u64, info: &DeviceInfo) -> Result<(Self, &'static str), Error> {
        let name = if info.kind == KIND_PCI { "virtio-blk (PCI)" } else { "virtio-blk (MMIO)" };
        let opened = vsys::open(right, index, info)?;
        let queue_mem = vsys::dma(opened.handle, queue::layout(queue::MAX_SIZE).2)?;
        let req_mem = vsys::dma(opened.handle, REQ_MEM)?;
        let bounce = vsys::dma(opened.handle, CHUNK * IN_FLIGHT)?;
        let blk = Blk::new(opened.transport, queue_mem, req_mem)?;
        Ok((Self { blk, irq: opened.irq, bounce, gone: false }, name))
    }

    fn fail(&mut self, e: Error) -> BlkError {
        match e {
            Error::ReadOnly => BlkError::ReadOnly,
            Error::OutOfRange => BlkError::OutOfRange,
            Error::IoError | Error::Unsupported | Error::BadStatus(_) => BlkError::Io,
            _ => {
                // A lying or silent device: stop talking to it.
                vireo_rt::println!("io: disk: {e:?}; no more requests go to it");
                self.gone = true;
                BlkError::Gone
            }
        }
    }

    /// Runs one batch: `n` chunks from `sector`, reading or writing.
    fn batch(&mut self, sector: u64, lens: &[u64], write: bool) -> Result<(), Error> {
        let mut tokens = [0usize; IN_FLIGHT as usize];
        let mut s = sector;
        for (i, &len) in lens.iter().enumerate() {
            let slice = self.bounce.slice(i as u64 * CHUNK, len as u32).ok_or(Error::BadBuffer)?;
            tokens[i] = if write { self.blk.submit_write(s, slice)? } else { self.blk.submit_read(s, slice)? };
            s += len / SECTOR;
        }
        let irq = &self.irq;
        let mut wait = || irq.wait(TIMEOUT_NS);
        let mut first_err = None;
        for &t in &tokens[..lens.len()] {
            if let Err(e) = self.blk.wait_for(t, &mut wait) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn check(&self, sector: u64, len: usize) -> Result<(), BlkError> {
        if self.gone {
            return Err(BlkError::Gone);
        }
        let sectors = (len as u64).div_ceil(SECTOR);
        if !(len as u64).is_multiple_of(SECTOR) || sector.checked_add(sectors).is_none_or(|e| e > self.sectors()) {
            return Err(BlkError::OutOfRange);
        }
        Ok(())
    }
}

/// The request lengths for a group of `len` bytes (at most
/// `CHUNK * IN_FLIGHT`): `CHUNK`s and the rest; and how many there are.
fn chunk_lens(len: usize) -> ([u64; IN_FLIGHT as usize], usize) {
    let mut lens = [0u64; IN_FLIGHT as usize];
    let n = len.div_ceil(CHUNK as usize).min(lens.len());
    for (i, l) in lens.iter_mut().enumerate().take(n) {
        *l = (len as u64 - i as u64 * CHUNK).min(CHUNK);
    }
    (lens, n)
}

impl BlockDevice for VirtioDisk {
    fn read(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), BlkError> {
        self.check(sector, buf.len())?;
        let mut sector = sector;
        for group in buf.chunks_mut((CHUNK * IN_FLIGHT) as usize) {
            let (lens, n) = chunk_lens(group.len());
            self.batch(sector, &lens[..n], false).map_err(|e| self.fail(e))?;
            if !self.bounce.read_bytes(0, group) {
                return Err(BlkError::Io);
            }
            sector += group.len() as u64 / SECTOR;
        }
        Ok(())
    }

    fn write(&mut self, sector: u64, buf: &[u8]) -> Result<(), BlkError> {
        self.check(sector, buf.len())?;
        if self.blk.read_only() {
            return Err(BlkError::ReadOnly);
        }
        let mut sector = sector;
        for group in buf.chunks((CHUNK * IN_FLIGHT) as usize) {
            let (lens, n) = chunk_lens(group.len());
            if !self.bounce.write_bytes(0, group) {
                return Err(BlkError::Io);
            }
            self.batch(sector, &lens[..n], true).map_err(|e| self.fail(e))?;
            sector += group.len() as u64 / SECTOR;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), BlkError> {
        if self.gone {
            return Err(BlkError::Gone);
        }
        let irq = &self.irq;
        let mut wait = || irq.wait(TIMEOUT_NS);
        let r = self.blk.flush(&mut wait);
        r.map_err(|e| self.fail(e))
    }

    fn sectors(&self) -> u64 {
        self.blk.capacity()
    }

    fn read_only(&self) -> bool {
        self.blk.read_only()
    }
}
