//! Everything that can be wrong with the tables a VMM hands over. Parsing
//! never panics on table data; it stops at the first problem with one of
//! these.
use core::fmt;

/// A table signature, printed as text (`RSDP` stands for the 8-byte "RSD PTR ").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sig(pub [u8; 4]);

impl Sig {
    pub const RSDP: Sig = Sig(*b"RSDP");
    pub const XSDT: Sig = Sig(*b"XSDT");
    pub const RSDT: Sig = Sig(*b"RSDT");
    pub const FADT: Sig = Sig(*b"FACP");
    pub const MADT: Sig = Sig(*b"APIC");
    pub const MCFG: Sig = Sig(*b"MCFG");
    pub const DSDT: Sig = Sig(*b"DSDT");
}

impl fmt::Display for Sig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in &self.0 {
            let c = if b.is_ascii_graphic() || b == b' ' { b as char } else { '?' };
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcpiError {
    /// No RSDP was handed over and none was found in 0xE0000..0x100000.
    NoRsdp,
    /// A table (or part of one) lies outside readable memory.
    NotMapped {
        what: Sig,
        paddr: u64,
        len: u64,
    },
    /// An XSDT/RSDT entry points outside readable memory.
    EntryNotMapped {
        root: Sig,
        paddr: u64,
    },
    BadSignature {
        expected: Sig,
        found: Sig,
        paddr: u64,
    },
    BadChecksum {
        what: Sig,
        paddr: u64,
    },
    /// The length field is too small, too large or not a whole number of entries.
    BadLength {
        what: Sig,
        paddr: u64,
        len: u64,
    },
    /// A table the kernel cannot run without (FADT, MADT) is not in the root table.
    MissingTable(Sig),
    /// A MADT entry whose length is shorter than its type needs or runs past the table.
    TruncatedEntry {
        what: Sig,
        offset: usize,
        entry_type: u8,
    },
    /// `_S5_` is followed by a package we cannot decode.
    BadS5 {
        offset: usize,
        why: &'static str,
    },
}

impl AcpiError {
    pub(super) fn not_mapped(what: Sig, paddr: u64, len: usize) -> Self {
        Self::NotMapped { what, paddr, len: len as u64 }
    }
}

impl fmt::Display for AcpiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::NoRsdp => write!(f, "no RSDP handed over and none found in 0xe0000-0xfffff"),
            Self::NotMapped { what, paddr, len } => {
                write!(f, "{what} at {paddr:#x} (+{len:#x}) is outside mapped memory")
            }
            Self::EntryNotMapped { root, paddr } => {
                write!(f, "{root} lists a table at {paddr:#x}, outside mapped memory")
            }
            Self::BadSignature { expected, found, paddr } => {
                write!(f, "table at {paddr:#x} has signature '{found}', expected '{expected}'")
            }
            Self::BadChecksum { what, paddr } => write!(f, "{what} at {paddr:#x}: bad checksum"),
            Self::BadLength { what, paddr, len } => {
                write!(f, "{what} at {paddr:#x}: implausible length {len:#x}")
            }
            Self::MissingTable(sig) => write!(f, "no {sig} table"),
            Self::TruncatedEntry { what, offset, entry_type } => {
                write!(f, "{what}: entry type {entry_type} at offset {offset:#x} is truncated")
            }
            Self::BadS5 { offset, why } => write!(f, "DSDT _S5_ at offset {offset:#x}: {why}"),
        }
    }
}
