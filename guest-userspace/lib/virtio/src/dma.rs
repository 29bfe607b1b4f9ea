//! Memory shared with the device: a region with a virtual address for the
//! driver and a physical one for the device (`DmaAlloc`), read and written
//! with volatile accesses because the device changes it behind our back.

/// A DMA region. Accesses outside it read 0 and drop writes: offsets are
/// computed by this crate from checked sizes, so that never happens, but
/// a slip must not touch other memory.
#[derive(Debug)]
pub struct DmaRegion {
    va: u64,
    pa: u64,
    len: u64,
}

/// Part of a region, as the device sees it: what a descriptor points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DmaSlice {
    pub pa: u64,
    pub len: u32,
}

impl DmaRegion {
    /// # Safety
    /// `va..va+len` must be memory of this process, 8-byte aligned, that
    /// nothing else uses while the value lives, and `pa` the address at
    /// which the device sees it.
    pub unsafe fn new(va: u64, pa: u64, len: u64) -> Self {
        DmaRegion { va, pa, len }
    }

    pub fn pa(&self) -> u64 {
        self.pa
    }

    pub fn va(&self) -> u64 {
        self.va
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `len` bytes at `off`, if they lie inside the region.
    pub fn slice(&self, off: u64, len: u32) -> Option<DmaSlice> {
        (off.checked_add(u64::from(len))? <= self.len).then_some(DmaSlice { pa: self.pa + off, len })
    }

    fn at(&self, off: u64, width: u64) -> Option<u64> {
        let end = off.checked_add(width)?;
        (end <= self.len && off.is_multiple_of(width)).then_some(self.va + off)
    }

    /// Copies `buf.len()` bytes at `off` out of the region (after the
    /// device has completed the request that filled them); `false` if the
    /// range is not inside the region.
    pub fn read_bytes(&self, off: u64, buf: &mut [u8]) -> bool {
        if off.checked_add(buf.len() as u64).is_none_or(|e| e > self.len) {
            return false;
        }
        core::sync::atomic::fence(core::sync::atomic::Ordering::Acquire);
        // No request that writes this range is in flight (the caller's
        // contract), so a plain copy reads settled bytes.
        // SAFETY: `off..off+len` is inside the region `new`'s caller vouched for.
        unsafe { core::ptr::copy_nonoverlapping((self.va + off) as *const u8, buf.as_mut_ptr(), buf.len()) };
        true
    }

    /// Copies `data` into the region at `off` (before submitting the request
    /// that hands it to the device); `false` if it does not fit.
    pub fn write_bytes(&mut self, off: u64, data: &[u8]) -> bool {
        if off.checked_add(data.len() as u64).is_none_or(|e| e > self.len) {
            return false;
        }
        // The device does not own this range until submission.
        // SAFETY: inside the region `new`'s caller vouched for, which we hold mutably.
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), (self.va + off) as *mut u8, data.len()) };
        core::sync::atomic::fence(core::sync::atomic::Ordering::Release);
        true
    }

    /// The bytes at `off..off+len` as a slice, for parsing in place (a
    /// received frame); None if the range is not inside the region. The
    /// caller's contract is that of [`read_bytes`](Self::read_bytes): the
    /// device does not own the range (no request that writes it is in
    /// flight) while the slice lives.
    pub fn bytes(&self, off: u64, len: usize) -> Option<&[u8]> {
        if off.checked_add(len as u64)? > self.len {
            return None;
        }
        core::sync::atomic::fence(core::sync::atomic::Ordering::Acquire);
        // SAFETY: inside the region `new`'s caller vouched for; the device does not write it (the caller's contract).
        Some(unsafe { core::slice::from_raw_parts((self.va + off) as *const u8, len) })
    }

    /// The bytes at `off..off+len` to fill in place (a frame to send)
    /// before the request that hands them to the device is submitted.
    pub fn bytes_mut(&mut self, off: u64, len: usize) -> Option<&mut [u8]> {
        if off.checked_add(len as u64)? > self.len {
            return None;
        }
        // SAFETY: inside the region, which we hold mutably; the device does not own the range until submission.
        Some(unsafe { core::slice::from_raw_parts_mut((self.va + off) as *mut u8, len) })
    }

    pub fn read8(&self, off: u64) -> u8 {
        // SAFETY: inside the region `new`'s caller vouched for.
        self.at(off, 1).map_or(0, |a| unsafe { (a as *const u8).read_volatile() })
    }
    pub fn read16(&self, off: u64) -> u16 {
        // SAFETY: aligned, inside the region.
        self.at(off, 2).map_or(0, |a| unsafe { (a as *const u16).read_volatile() })
    }
    pub fn read32(&self, off: u64) -> u32 {
        // SAFETY: aligned, inside the region.
        self.at(off, 4).map_or(0, |a| unsafe { (a as *const u32).read_volatile() })
    }
    pub fn write8(&mut self, off: u64, v: u8) {
        if let Some(a) = self.at(off, 1) {
            // SAFETY: inside the region.
            unsafe { (a as *mut u8).write_volatile(v) }
        }
    }
    pub fn write16(&mut self, off: u64, v: u16) {
        if let Some(a) = self.at(off, 2) {
            // SAFETY: aligned, inside the region.
            unsafe { (a as *mut u16).write_volatile(v) }
        }
    }
    pub fn write32(&mut self, off: u64, v: u32) {
        if let Some(a) = self.at(off, 4) {
            // SAFETY: aligned, inside the region.
            unsafe { (a as *mut u32).write_volatile(v) }
        }
    }
    pub fn write64(&mut self, off: u64, v: u64) {
        self.write32(off, v as u32);
        self.write32(off + 4, (v >> 32) as u32);
    }
}
