//! Where virtio-mmio transports are, from the two places VMMs say so: the
//! kernel command line (`virtio_mmio.device=SIZE@ADDR:IRQ[:ID]`, Firecracker
//! and QEMU microvm without ACPI; [`cmdline`]) and the DSDT (QEMU microvm
//! with ACPI: a `Device` with `_HID` "LNRO0005" whose `_CRS` holds a
//! Memory32Fixed and an extended Interrupt descriptor; [`dsdt`]).
//!
//! Both yield one `Result` per entry they recognise, so the kernel can say
//! which entry it skipped and why; [`Transports`] collects the good ones
//! and refuses a window that overlaps one already kept (QEMU may list the
//! same transport in both places).
mod aml;
pub mod cmdline;
mod crs;
pub mod dsdt;

use core::fmt;

/// One transport: register window and interrupt (GSI). Both parsers only
/// return windows with `size > 0` whose end fits in 64 bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Transport {
    pub base: u64,
    pub size: u64,
    pub irq: u32,
}

impl Transport {
    /// One past the window's last byte; `None` for an empty or wrapping window.
    pub fn end(&self) -> Option<u64> {
        (self.size > 0).then_some(())?;
        self.base.checked_add(self.size)
    }

    fn overlaps(&self, other: &Transport) -> bool {
        self.base < other.base.saturating_add(other.size) && other.base < self.base.saturating_add(self.size)
    }
}

/// Transports kept at most (QEMU microvm has 24 slots).
pub const MAX_TRANSPORTS: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddError {
    /// The same transport is already kept (listed twice).
    Duplicate,
    /// Its window overlaps this different transport's, already kept.
    Overlaps(Transport),
    /// An empty window or one whose end does not fit in 64 bits.
    BadWindow,
    /// [`MAX_TRANSPORTS`] are kept already.
    Full,
}

impl fmt::Display for AddError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddError::Duplicate => write!(f, "listed twice"),
            AddError::Overlaps(t) => write!(f, "overlaps {:#x}+{:#x}", t.base, t.size),
            AddError::BadWindow => write!(f, "empty or wrapping window"),
            AddError::Full => write!(f, "more than {MAX_TRANSPORTS} transports"),
        }
    }
}

/// The transports found, in the order added; no two windows overlap.
#[derive(Clone, Debug)]
pub struct Transports {
    list: [Transport; MAX_TRANSPORTS],
    len: usize,
}

impl Default for Transports {
    fn default() -> Self {
        Self::new()
    }
}

impl Transports {
    pub const fn new() -> Self {
        Transports { list: [Transport { base: 0, size: 0, irq: 0 }; MAX_TRANSPORTS], len: 0 }
    }

    pub fn add(&mut self, t: Transport) -> Result<(), AddError> {
        t.end().ok_or(AddError::BadWindow)?;
        if let Some(old) = self.as_slice().iter().find(|o| o.overlaps(&t)) {
            return Err(if *old == t { AddError::Duplicate } else { AddError::Overlaps(*old) });
        }
        let slot = self.list.get_mut(self.len).ok_or(AddError::Full)?;
        *slot = t;
        self.len += 1;
        Ok(())
    }

    pub fn as_slice(&self) -> &[Transport] {
        self.list.get(..self.len).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn t(base: u64, size: u64, irq: u32) -> Transport {
        Transport { base, size, irq }
    }

    #[test]
    fn adjacent_windows_are_kept_in_order() {
        let mut s = Transports::new();
        assert_eq!(s.add(t(0x2000, 0x200, 6)), Ok(()));
        assert_eq!(s.add(t(0x1e00, 0x200, 5)), Ok(()));
        assert_eq!(s.add(t(0x2200, 0x200, 7)), Ok(()));
        assert_eq!(s.as_slice(), &[t(0x2000, 0x200, 6), t(0x1e00, 0x200, 5), t(0x2200, 0x200, 7)]);
    }

    #[test]
    fn the_same_transport_twice_is_a_duplicate() {
        let mut s = Transports::new();
        s.add(t(0xfeb0_2e00, 0x200, 47)).unwrap();
        assert_eq!(s.add(t(0xfeb0_2e00, 0x200, 47)), Err(AddError::Duplicate));
        assert_eq!(s.as_slice().len(), 1);
    }

    #[test]
    fn overlapping_windows_are_refused_whatever_their_irq() {
        let mut s = Transports::new();
        s.add(t(0x1000, 0x1000, 5)).unwrap();
        for other in [t(0x1000, 0x1000, 6), t(0x1fff, 1, 5), t(0, 0x1001, 5), t(0x800, 0x10000, 5)] {
            assert_eq!(s.add(other), Err(AddError::Overlaps(t(0x1000, 0x1000, 5))), "{other:?}");
        }
        assert_eq!(s.as_slice().len(), 1);
    }

    #[test]
    fn empty_and_wrapping_windows_are_refused() {
        let mut s = Transports::new();
        assert_eq!(s.add(t(0x1000, 0, 5)), Err(AddError::BadWindow));
        assert_eq!(s.add(t(u64::MAX, 1, 5)), Err(AddError::BadWindow));
        assert_eq!(s.add(t(u64::MAX - 1, 1, 5)), Ok(()));
    }

    #[test]
    fn at_most_max_transports_are_kept() {
        let mut s = Transports::new();
        for i in 0..MAX_TRANSPORTS as u64 {
            s.add(t(i * 0x200, 0x200, 5)).unwrap();
        }
        assert_eq!(s.add(t(0x10_0000, 0x200, 5)), Err(AddError::Full));
        assert_eq!(s.as_slice().len(), MAX_TRANSPORTS);
    }
}
