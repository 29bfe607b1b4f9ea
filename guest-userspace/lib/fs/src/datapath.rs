//! File data reads that go from the device to the caller without rsext4.
//!
//! rsext4's `read_inode` costs far more than the device read it wraps: it
//! decodes the inode and walks its extent tree on every call, and it stamps
//! the access time (strict atime) on every read, which re-encodes and
//! re-checksums the inode each time. Linux mounts with `relatime` and keeps
//! the block map in memory; so do we:
//!
//! - a small cache of whole-file extent maps ([`MAX_FILES`] files of at most
//!   [`MAX_EXTENTS`] extents: about 40 KiB, inside the documented metadata
//!   bound), emptied by every change to the file system (the owner calls
//!   [`DataPath::forget_all`]), so a map is never older than the last write;
//! - reads of mapped ranges straight from the device into the caller's
//!   buffer: file data is written in place by rsext4 (never journaled, never
//!   held back), so the device always has the newest data;
//! - `relatime` (Linux's default): a read that should update the access
//!   time (not newer than the modification or change time, or a day old) is
//!   left to rsext4, which stamps it; all other reads leave the inode alone.
//!
//! Files this path does not handle (inline data, more extents than the cache
//! takes, not a regular file) are read by rsext4 as before.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;

use rsext4::{DirectoryEntryType, FileExtent, FileExtentState, InodeFlags, InodeInfo};
use spin::Mutex;

use crate::{BlkError, BlockDevice};

/// Files whose extent maps are kept.
pub const MAX_FILES: usize = 16;
/// Extents kept per file; a file with more is read by rsext4.
pub const MAX_EXTENTS: usize = 64;
/// Heap the cache may use: its maps and the scratch buffer for unaligned reads.
pub const CACHE_BOUND: usize = MAX_FILES * (MAX_EXTENTS * core::mem::size_of::<FileExtent>() + 64) + SCRATCH;
/// Largest unaligned piece read through the scratch buffer at once.
const SCRATCH: usize = 64 << 10;
const SECTOR: u64 = 512;
/// `relatime`: an access time this old is refreshed even when the file is unchanged.
const RELATIME_S: u64 = 24 * 3600;

/// The block device, shared by rsext4's block layer and this data path. Both
/// are used under the file system's one lock, so the mutex is never contended.
#[derive(Clone)]
pub struct SharedDevice(Arc<Mutex<Box<dyn BlockDevice>>>);

impl SharedDevice {
    pub fn new(dev: Box<dyn BlockDevice>) -> Self {
        Self(Arc::new(Mutex::new(dev)))
    }
}

impl BlockDevice for SharedDevice {
    fn read(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), BlkError> {
        self.0.lock().read(sector, buf)
    }
    fn write(&mut self, sector: u64, buf: &[u8]) -> Result<(), BlkError> {
        self.0.lock().write(sector, buf)
    }
    fn flush(&mut self) -> Result<(), BlkError> {
        self.0.lock().flush()
    }
    fn sectors(&self) -> u64 {
        self.0.lock().sectors()
    }
    fn read_only(&self) -> bool {
        self.0.lock().read_only()
    }
}

/// What a read needs to know about one regular file.
#[derive(Debug)]
pub struct FileMap {
    ino: u32,
    size: u64,
    atime: u32,
    mtime: u32,
    ctime: u32,
    noatime: bool,
    /// Initialized and unwritten extents, sorted by logical start.
    extents: Vec<FileExtent>,
}

impl FileMap {
    /// The map of `info`'s file from `extents` (rsext4's answer for the
    /// whole file), or `None` when this path cannot serve the file.
    pub fn new(info: &InodeInfo, extents: Vec<FileExtent>, complete: bool) -> Option<Self> {
        let plain =
            info.file_type() == DirectoryEntryType::RegularFile && !info.flags.contains(InodeFlags::INLINE_DATA);
        if !plain || !complete || extents.len() > MAX_EXTENTS {
            return None;
        }
        if extents.iter().any(|e| e.state == FileExtentState::Inline) {
            return None;
        }
        let mut extents = extents;
        extents.sort_unstable_by_key(|e| e.logical_start);
        Some(Self {
            ino: info.number.raw(),
            size: info.size,
            atime: info.atime,
            mtime: info.mtime,
            ctime: info.ctime,
            noatime: info.flags.contains(InodeFlags::NO_ATIME),
            extents,
        })
    }

    /// Whether a read at `now_s` (seconds) should stamp the access time.
    fn wants_atime(&self, now_s: u64) -> bool {
        if self.noatime || now_s == 0 {
            return false;
        }
        self.atime <= self.mtime
            || self.atime <= self.ctime
            || now_s.saturating_sub(u64::from(self.atime)) >= RELATIME_S
    }
}

/// Why the data path did not serve a read.
#[derive(Debug, PartialEq, Eq)]
pub enum Miss {
    /// Not cached: the caller builds the map and asks again.
    NoMap,
    /// The read should stamp the access time: rsext4 serves it.
    Atime,
}

pub struct DataPath {
    dev: SharedDevice,
    /// Most recently used last.
    maps: Vec<FileMap>,
    scratch: Vec<u8>,
}

impl DataPath {
    pub fn new(dev: SharedDevice) -> Self {
        Self { dev, maps: Vec::new(), scratch: Vec::new() }
    }

    /// Drops every map: called on every change to the file system.
    pub fn forget_all(&mut self) {
        self.maps.clear();
    }

    pub fn insert(&mut self, map: FileMap) {
        self.maps.retain(|m| m.ino != map.ino);
        if self.maps.len() == MAX_FILES {
            self.maps.remove(0);
        }
        self.maps.push(map);
    }

    /// Reads `buf.len()` bytes (fewer at the end of the file) at `offset` of
    /// inode `ino`, or says why it cannot. `now_s` is the wall clock in
    /// seconds (0: unknown) and `stamp` whether access times may be written.
    pub fn read(&mut self, ino: u32, offset: u64, buf: &mut [u8], now_s: u64, stamp: bool) -> Result<usize, ReadError> {
        let at = self.maps.iter().rposition(|m| m.ino == ino).ok_or(ReadError::Miss(Miss::NoMap))?;
        let map = &self.maps[at];
        if stamp && map.wants_atime(now_s) {
            return Err(ReadError::Miss(Miss::Atime));
        }
        if offset >= map.size {
            return Ok(0);
        }
        let end = map.size.min(offset.saturating_add(buf.len() as u64));
        let len = (end - offset) as usize;
        let mut pos = offset;
        while pos < end {
            let i = map.extents.partition_point(|e| e.logical_start <= pos);
            let covering = i.checked_sub(1).map(|j| &map.extents[j]).filter(|e| pos - e.logical_start < e.length);
            let dst_at = (pos - offset) as usize;
            match covering {
                Some(e) => {
                    let piece = (e.logical_start + e.length).min(end) - pos;
                    let dst = &mut buf[dst_at..dst_at + piece as usize];
                    if e.state == FileExtentState::Unwritten {
                        dst.fill(0);
                    } else {
                        read_bytes(&mut self.dev, &mut self.scratch, e.physical_start + (pos - e.logical_start), dst)?;
                    }
                    pos += piece;
                }
                None => {
                    // A hole up to the next extent (or the end).
                    let next = map.extents.get(i).map_or(end, |e| e.logical_start.min(end));
                    buf[dst_at..(next - offset) as usize].fill(0);
                    pos = next;
                }
            }
        }
        // Most recently used last.
        let m = self.maps.remove(at);
        self.maps.push(m);
        Ok(len)
    }

    /// The access time was just stamped by rsext4 at `now_s`.
    pub fn stamped(&mut self, ino: u32, now_s: u64) {
        if let Some(m) = self.maps.iter_mut().find(|m| m.ino == ino) {
            m.atime = now_s.min(u64::from(u32::MAX)) as u32;
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum ReadError {
    Miss(Miss),
    Device(BlkError),
}

/// Reads `dst.len()` bytes at device byte `at`: straight into `dst` when
/// both are whole sectors, else through `scratch`.
fn read_bytes(dev: &mut SharedDevice, scratch: &mut Vec<u8>, at: u64, dst: &mut [u8]) -> Result<(), ReadError> {
    if at.is_multiple_of(SECTOR) && (dst.len() as u64).is_multiple_of(SECTOR) {
        return dev.read(at / SECTOR, dst).map_err(ReadError::Device);
    }
    let mut done = 0usize;
    while done < dst.len() {
        let pos = at + done as u64;
        let first = pos / SECTOR * SECTOR;
        let lead = (pos - first) as usize;
        let take = (dst.len() - done).min(SCRATCH - lead);
        let span = (lead + take).next_multiple_of(SECTOR as usize);
        if scratch.len() < span {
            scratch.resize(span, 0);
        }
        dev.read(first / SECTOR, &mut scratch[..span]).map_err(ReadError::Device)?;
        dst[done..done + take].copy_from_slice(&scratch[lead..lead + take]);
        done += take;
    }
    Ok(())
}
