//! ACPI Generic Address Structure: the registers the FADT describes (sleep
//! control, reset, PM1 control) in I/O or memory space.
use super::le;
use crate::arch::x86_64::layout::DIRECT_MAP_BASE;
use crate::arch::x86_64::port::{outb, outl, outw};
use crate::mm::phys;
use core::fmt;

pub const LEN: usize = 12;
const SPACE_MEMORY: u8 = 0;
const SPACE_IO: u8 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Space {
    Io,
    Memory,
}

/// A register we can write: I/O port or direct-mapped MMIO, 1, 2 or 4 bytes
/// wide. Only [`Gas::parse`] and [`Gas::io`] create one, and both check the
/// address, which is what makes [`Gas::write`] sound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gas {
    space: Space,
    width: u8,
    address: u64,
}

impl Gas {
    /// Decodes a 12-byte GAS. `None` when the register is absent (address 0)
    /// or one we do not support: another address space, a bit offset, an
    /// 8-byte access, an I/O range past 0xFFFF, or MMIO that is unaligned or
    /// outside the direct map.
    pub fn parse(raw: &[u8]) -> Option<Gas> {
        let space = le::u8_at(raw, 0)?;
        let bit_width = le::u8_at(raw, 1)?;
        let bit_offset = le::u8_at(raw, 2)?;
        let access_size = le::u8_at(raw, 3)?;
        let address = le::u64_at(raw, 4)?;
        if address == 0 || bit_offset != 0 {
            return None;
        }
        // Access size 0 ("undefined", what ACPI 1.0-style tables such as
        // QEMU's q35 FADT use) means: access the register at its bit width.
        let width = match (access_size, bit_width) {
            (1, _) | (0, 8) => 1,
            (2, _) | (0, 16) => 2,
            (3, _) | (0, 32) => 4,
            _ => return None,
        };
        match space {
            SPACE_IO => Gas::io(u16::try_from(address).ok()?, width),
            SPACE_MEMORY => {
                let aligned = address % u64::from(width) == 0;
                (aligned && phys::bytes(address, width.into()).is_ok())
                    .then_some(Gas { space: Space::Memory, width, address })
            }
            _ => None,
        }
    }

    /// An I/O-port register, as the pre-GAS FADT fields describe them.
    pub fn io(port: u16, width: u8) -> Option<Gas> {
        let fits = u32::from(port) + u32::from(width) <= 0x1_0000;
        (port != 0 && matches!(width, 1 | 2 | 4) && fits).then_some(Gas {
            space: Space::Io,
            width,
            address: port.into(),
        })
    }

    /// Writes `value`, truncated to the register's width.
    pub fn write(&self, value: u32) {
        match self.space {
            Space::Io => {
                let port = self.address as u16;
                match self.width {
                    1 => outb(port, value as u8),
                    2 => outw(port, value as u16),
                    _ => outl(port, value),
                }
            }
            Space::Memory => Mmio(self.address).write(self.width, value),
        }
    }
}

impl fmt::Display for Gas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let space = match self.space {
            Space::Io => "io",
            Space::Memory => "mem",
        };
        write!(f, "{space} {:#x}", self.address)
    }
}

/// A validated MMIO register address (inside the direct map, aligned to its
/// width), written through the direct map.
struct Mmio(u64);

impl Mmio {
    fn write(&self, width: u8, value: u32) {
        let va = DIRECT_MAP_BASE + self.0;
        match width {
            1 => {
                // SAFETY: `Gas::parse` checked that the register lies inside the
                // direct map (mapped for the kernel's lifetime, so no fault) and is
                // aligned. It is a device register named by the VMM's FADT; a VMM
                // that pointed it at RAM could write that RAM directly anyway.
                unsafe { core::ptr::write_volatile(va as *mut u8, value as u8) }
            }
            2 => {
                // SAFETY: as above, for a 2-byte aligned register.
                unsafe { core::ptr::write_volatile(va as *mut u16, value as u16) }
            }
            _ => {
                // SAFETY: as above, for a 4-byte aligned register.
                unsafe { core::ptr::write_volatile(va as *mut u32, value) }
            }
        }
    }
}
