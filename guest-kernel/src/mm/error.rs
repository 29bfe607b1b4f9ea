//! What can go wrong in memory management.
use super::paging::MapError;
use super::phys::NotMapped;
use core::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MmError {
    AlreadyInitialized,
    /// A boot structure is outside the boot direct map.
    BootStructure(NotMapped),
    /// A memory-map or module range wraps around the address space.
    BadBootRange {
        start: u64,
        len: u64,
    },
    /// More free or reserved ranges than the allocator's tables hold.
    TooManyRanges,
    OutOfMemory,
    /// No frame below 4 GiB for the boot page tables.
    NoLowMemory,
    /// The linker symbols describe no sensible image.
    BadKernelImage,
    Map(MapError),
    /// A kernel stack of `pages` pages asked for; 1..=`max` are supported.
    BadStackSize {
        pages: usize,
        max: usize,
    },
    OutOfStackSlots,
}

impl From<NotMapped> for MmError {
    fn from(e: NotMapped) -> Self {
        Self::BootStructure(e)
    }
}

impl From<MapError> for MmError {
    fn from(e: MapError) -> Self {
        match e {
            MapError::OutOfFrames => Self::OutOfMemory,
            e => Self::Map(e),
        }
    }
}

impl fmt::Display for MmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AlreadyInitialized => write!(f, "memory management is already initialised"),
            Self::BootStructure(e) => {
                write!(f, "boot structure at {:#x} (+{:#x}) is outside mapped memory", e.paddr, e.len)
            }
            Self::BadBootRange { start, len } => {
                write!(f, "boot range {start:#x} (+{len:#x}) wraps around")
            }
            Self::TooManyRanges => write!(f, "memory map too fragmented for the frame allocator"),
            Self::OutOfMemory => write!(f, "out of physical memory"),
            Self::NoLowMemory => write!(f, "no free memory below 4 GiB for page tables"),
            Self::BadKernelImage => write!(f, "kernel image symbols out of range"),
            Self::Map(e) => write!(f, "{e}"),
            Self::BadStackSize { pages, max } => write!(f, "kernel stack of {pages} pages (1..={max} supported)"),
            Self::OutOfStackSlots => write!(f, "no free kernel stack slot"),
        }
    }
}
