//! A mapped channel region and typed access to its parts.
//!
//! Every access goes through atomics (the peer writes concurrently) at
//! offsets fixed by [`crate::layout`], so no value read from the region ever
//! becomes an address without a bounds check.

use crate::error::Error;
use crate::layout::*;
use crate::msg::MSG_WORDS;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};

/// The header's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Word {
    Magic,
    Version,
    SqHead,
    SqTail,
    SqSleep,
    CqHead,
    CqTail,
    CqSleep,
}

impl Word {
    fn offset(self) -> usize {
        match self {
            Word::Magic => MAGIC_OFFSET,
            Word::Version => VERSION_OFFSET,
            Word::SqHead => SQ_HEAD,
            Word::SqTail => SQ_TAIL,
            Word::SqSleep => SQ_SLEEP,
            Word::CqHead => CQ_HEAD,
            Word::CqTail => CQ_TAIL,
            Word::CqSleep => CQ_SLEEP,
        }
    }
}

/// A view of one shared channel region. Copying it is cheap; the memory
/// must outlive every copy (see [`Region::from_raw`]).
#[derive(Clone, Copy, Debug)]
pub struct Region {
    base: NonNull<u8>,
}

// Atomics are meant to be shared between threads (and processes).
// SAFETY: the region is only accessed through atomics.
unsafe impl Send for Region {}
// SAFETY: as for Send: all access is atomic.
unsafe impl Sync for Region {}

impl Region {
    /// Wraps `len` bytes at `base` (page-aligned, at least `REGION_SIZE`).
    ///
    /// # Safety
    /// The memory must be readable and writable for `REGION_SIZE` bytes for
    /// as long as this `Region` (or a copy, or an endpoint built on it)
    /// exists, and be accessed by anyone else only through atomics or from
    /// another process.
    pub unsafe fn from_raw(base: *mut u8, len: usize) -> Result<Self, Error> {
        let base = NonNull::new(base).ok_or(Error::BadRegion)?;
        if len < REGION_SIZE || !(base.as_ptr() as usize).is_multiple_of(PAGE_SIZE) {
            return Err(Error::BadRegion);
        }
        Ok(Self { base })
    }

    /// The region's first byte, for the modules that lay out the rest.
    pub(crate) fn base(&self) -> *mut u8 {
        self.base.as_ptr()
    }

    /// Writes a fresh header and empty queues (the creator does this
    /// before handing the region to the server).
    pub fn init(&self) {
        for w in [Word::SqHead, Word::SqTail, Word::SqSleep, Word::CqHead, Word::CqTail, Word::CqSleep] {
            self.word(w).store(0, Ordering::Relaxed);
        }
        self.word(Word::Version).store(VERSION, Ordering::Relaxed);
        self.word(Word::Magic).store(MAGIC, Ordering::Release);
    }

    /// Checks the header the creator wrote.
    pub fn check_header(&self) -> Result<(), Error> {
        let magic = self.word(Word::Magic).load(Ordering::Acquire);
        let version = self.word(Word::Version).load(Ordering::Relaxed);
        if magic == MAGIC && version == VERSION {
            Ok(())
        } else {
            Err(Error::BadHeader { magic, version })
        }
    }

    /// One header word. Public so tests can play a lying peer.
    pub fn word(&self, word: Word) -> &AtomicU32 {
        // Every Word offset is 4-aligned and inside the header page (layout asserts); the base is
        // page-aligned; the memory is only accessed atomically.
        // SAFETY: in bounds and aligned (above), and valid for our lifetime (from_raw's contract).
        unsafe { &*(self.base.as_ptr().add(word.offset()) as *const AtomicU32) }
    }

    /// Entry `counter mod QUEUE_LEN` of the queue at `queue` (`SQ_ENTRIES`
    /// or `CQ_ENTRIES`).
    pub(crate) fn entry(&self, queue: usize, counter: u32) -> &[AtomicU64; MSG_WORDS] {
        let index = (counter % QUEUE_LEN) as usize;
        let offset = queue + index * crate::MSG_SIZE;
        debug_assert!(queue == SQ_ENTRIES || queue == CQ_ENTRIES);
        // A queue of QUEUE_LEN messages fits in its page (layout asserts); entries are 8-aligned.
        // SAFETY: index < QUEUE_LEN, so in bounds and aligned; valid memory per from_raw.
        unsafe { &*(self.base.as_ptr().add(offset) as *const [AtomicU64; MSG_WORDS]) }
    }

    /// The bytes of data slot `slot`, or `BadSlot`.
    pub fn slot(&self, slot: usize) -> Result<&[AtomicU8; SLOT_SIZE], Error> {
        if slot >= SLOT_COUNT {
            return Err(Error::BadSlot(slot.min(u16::MAX as usize) as u16));
        }
        // The slots end at REGION_SIZE (layout asserts); AtomicU8 has alignment 1.
        // SAFETY: slot < SLOT_COUNT, so in bounds; valid memory per from_raw.
        Ok(unsafe { &*(self.base.as_ptr().add(SLOTS + slot * SLOT_SIZE) as *const [AtomicU8; SLOT_SIZE]) })
    }

    /// The address of data slot `slot`, for zero-copy I/O (a device writing
    /// into it directly). The caller owns the synchronisation.
    pub fn slot_ptr(&self, slot: usize) -> Result<*mut u8, Error> {
        self.slot(slot).map(|s| s.as_ptr() as *mut u8)
    }

    /// The data-area bytes `[slot * SLOT_SIZE + offset, + len)`, which may
    /// run on across consecutive slots, or `OutOfRange`.
    fn data_range(&self, slot: usize, offset: usize, len: usize) -> Result<&[AtomicU8], Error> {
        let start = slot.checked_mul(SLOT_SIZE).and_then(|s| s.checked_add(offset)).ok_or(Error::OutOfRange)?;
        let end = start.checked_add(len).filter(|&e| e <= DATA_SIZE).ok_or(Error::OutOfRange)?;
        // The data area is DATA_SIZE bytes at SLOTS and ends at REGION_SIZE
        // (layout asserts); AtomicU8 has alignment 1.
        // SAFETY: in bounds and aligned as above; valid memory per from_raw.
        let area = unsafe { &*(self.base.as_ptr().add(SLOTS) as *const [AtomicU8; DATA_SIZE]) };
        Ok(&area[start..end])
    }

    /// Copies `buf.len()` bytes from `slot` at `offset` (running on into the
    /// next slots if the range is longer) into `buf`.
    pub fn read_slot(&self, slot: usize, offset: usize, buf: &mut [u8]) -> Result<(), Error> {
        let src = self.data_range(slot, offset, buf.len())?;
        // The peer may write these bytes while we copy: we then copy garbage,
        // which is what untrusted data may be anyway; nothing here interprets
        // it. A byte-wise atomic loop costs several instructions per byte.
        // SAFETY: `src` is `buf.len()` mapped bytes (data_range) not overlapping `buf`.
        unsafe { core::ptr::copy_nonoverlapping(src.as_ptr() as *const u8, buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }

    /// Copies `data` into `slot` at `offset` (running on into the next slots
    /// if it is longer).
    pub fn write_slot(&self, slot: usize, offset: usize, data: &[u8]) -> Result<(), Error> {
        let dst = self.data_range(slot, offset, data.len())?;
        // Concurrent peer writes can only garble bytes the peer owns the
        // meaning of (as in read_slot).
        // SAFETY: `dst` is `data.len()` mapped bytes (data_range) not overlapping `data`.
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), dst.as_ptr() as *mut u8, data.len()) };
        Ok(())
    }
}
