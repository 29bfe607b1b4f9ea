//! ACPI Generic Address Structure: the registers the FADT describes (sleep
//! control, reset, PM1 control) in I/O or memory space. Decoding only; the
//! kernel does the writes.
use crate::{le, PhysMem};
use core::fmt;

pub const LEN: usize = 12;
const SPACE_MEMORY: u8 = 0;
const SPACE_IO: u8 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Space {
    Io,
    Memory,
}

/// A register the kernel can write: an I/O port or MMIO inside readable
/// memory, 1, 2 or 4 bytes wide. Only [`Gas::parse`] and [`Gas::io`] create
/// one, and both check the address.
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
    /// outside `mem`.
    pub fn parse<'a>(raw: &[u8], mem: &impl PhysMem<'a>) -> Option<Gas> {
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
                (aligned && mem.bytes(address, width.into()).is_some()).then_some(Gas {
                    space: Space::Memory,
                    width,
                    address,
                })
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

    pub fn space(&self) -> Space {
        self.space
    }

    /// Access width in bytes: 1, 2 or 4.
    pub fn width(&self) -> u8 {
        self.width
    }

    /// An I/O port number or a physical address.
    pub fn address(&self) -> u64 {
        self.address
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
