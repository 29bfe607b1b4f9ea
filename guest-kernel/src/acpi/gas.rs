//! Writing the registers the FADT names (sleep control, reset, PM1
//! control), decoded by `vireo_parse::acpi::gas`.
use crate::arch::x86_64::port::{outb, outl, outw};
use crate::mm::phys;
use vireo_parse::acpi::gas::{Gas, Space};

pub trait GasWrite {
    /// Writes `value`, truncated to the register's width.
    fn write(&self, value: u32);
}

impl GasWrite for Gas {
    fn write(&self, value: u32) {
        match self.space() {
            Space::Io => {
                let port = self.address() as u16;
                match self.width() {
                    1 => outb(port, value as u8),
                    2 => outw(port, value as u16),
                    _ => outl(port, value),
                }
            }
            Space::Memory => {
                // Checked again here, not only when parsed, so the soundness
                // of the write below does not rest on which memory the
                // parser was given.
                let width = self.width();
                if self.address().is_multiple_of(u64::from(width)) && phys::bytes(self.address(), width.into()).is_ok()
                {
                    Mmio(self.address()).write(width, value);
                }
            }
        }
    }
}

/// A validated MMIO register address (inside the direct map, aligned to its
/// width), written through an uncached mapping made for it: registers are
/// never written through the write-back direct map.
struct Mmio(u64);

impl Mmio {
    fn write(&self, width: u8, value: u32) {
        let Ok(va) = crate::mm::paging::map_mmio(self.0, width.into()) else { return };
        // SAFETY: `map_mmio` just mapped the register uncached; the mapping
        // is never removed. It is a device register named by the VMM's
        // FADT; a VMM that pointed it at RAM could write that RAM anyway.
        let reg = unsafe { crate::arch::x86_64::mmio::Mmio::new(va, width.into()) };
        match width {
            1 => reg.write8(0, value as u8),
            2 => reg.write16(0, value as u16),
            _ => reg.write32(0, value),
        }
    }
}
