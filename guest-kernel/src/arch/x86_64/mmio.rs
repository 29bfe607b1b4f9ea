//! Device registers in memory space, reached only through an [`Mmio`]
//! window: a mapping made uncached for the device (never the write-back
//! direct map), whose accesses are volatile and bounds-checked. An access
//! outside the window reads as all ones (what a missing device returns)
//! and writes nothing, so an offset bug cannot touch other memory.

/// A window of device registers mapped uncached at `base`, `len` bytes long.
#[derive(Clone, Copy, Debug)]
pub struct Mmio {
    base: u64,
    len: u64,
}

impl Mmio {
    /// # Safety
    /// `base..base + len` must be an uncached kernel mapping of device
    /// registers that stays mapped for as long as the window is used.
    pub const unsafe fn new(base: u64, len: u64) -> Self {
        Self { base, len }
    }

    /// A sub-window `off..off + len`, if it lies inside this one.
    pub fn slice(&self, off: u64, len: u64) -> Option<Self> {
        let end = off.checked_add(len)?;
        (end <= self.len).then(|| Self { base: self.base + off, len })
    }

    /// The address of an aligned `width`-byte register at `off`, if inside.
    fn reg(&self, off: u64, width: u64) -> Option<u64> {
        (off.is_multiple_of(width) && off.checked_add(width)? <= self.len).then(|| self.base + off)
    }

    pub fn read32(&self, off: u64) -> u32 {
        match self.reg(off, 4) {
            // SAFETY: inside the window `new`'s caller vouched for, aligned.
            Some(va) => unsafe { (va as *const u32).read_volatile() },
            None => u32::MAX,
        }
    }

    pub fn write32(&self, off: u64, v: u32) {
        if let Some(va) = self.reg(off, 4) {
            // SAFETY: as for `read32`.
            unsafe { (va as *mut u32).write_volatile(v) }
        }
    }

    pub fn write16(&self, off: u64, v: u16) {
        if let Some(va) = self.reg(off, 2) {
            // SAFETY: as for `read32`.
            unsafe { (va as *mut u16).write_volatile(v) }
        }
    }

    pub fn write8(&self, off: u64, v: u8) {
        if let Some(va) = self.reg(off, 1) {
            // SAFETY: as for `read32`.
            unsafe { (va as *mut u8).write_volatile(v) }
        }
    }
}
