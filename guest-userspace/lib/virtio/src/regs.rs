//! A register window: the one way this crate touches device registers,
//! so the transports run against a mock in host tests. [`MmioRegs`] is
//! the real one, a window the kernel mapped uncached with `DeviceMap`.

/// Little-endian device registers at byte offsets in one window.
pub trait Regs {
    fn read8(&self, off: u64) -> u8;
    fn read16(&self, off: u64) -> u16;
    fn read32(&self, off: u64) -> u32;
    fn write8(&mut self, off: u64, v: u8);
    fn write16(&mut self, off: u64, v: u16);
    fn write32(&mut self, off: u64, v: u32);
    /// The window's length in bytes.
    fn len(&self) -> u64;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A 64-bit register as two 32-bit halves, low first (virtio allows
    /// drivers to do so, and some devices require it).
    fn write64(&mut self, off: u64, v: u64) {
        self.write32(off, v as u32);
        self.write32(off + 4, (v >> 32) as u32);
    }
}

/// A mapped register window. Accesses outside it read all ones (like
/// absent hardware) and drop writes, rather than touch other memory.
#[derive(Debug)]
pub struct MmioRegs {
    base: u64,
    len: u64,
}

impl MmioRegs {
    /// # Safety
    /// `base..base+len` must be a device register window mapped into this
    /// process for as long as the value lives.
    pub unsafe fn new(base: u64, len: u64) -> Self {
        MmioRegs { base, len }
    }

    fn at(&self, off: u64, width: u64) -> Option<u64> {
        let end = off.checked_add(width)?;
        (end <= self.len && off.is_multiple_of(width)).then_some(self.base + off)
    }
}

macro_rules! access {
    ($read:ident, $write:ident, $t:ty) => {
        fn $read(&self, off: u64) -> $t {
            match self.at(off, core::mem::size_of::<$t>() as u64) {
                // SAFETY: an aligned address inside the window `new`'s caller vouched for.
                Some(a) => unsafe { (a as *const $t).read_volatile() },
                None => <$t>::MAX,
            }
        }
        fn $write(&mut self, off: u64, v: $t) {
            if let Some(a) = self.at(off, core::mem::size_of::<$t>() as u64) {
                // SAFETY: as for the read.
                unsafe { (a as *mut $t).write_volatile(v) }
            }
        }
    };
}

impl Regs for MmioRegs {
    access!(read8, write8, u8);
    access!(read16, write16, u16);
    access!(read32, write32, u32);

    fn len(&self) -> u64 {
        self.len
    }
}
