//! Memory management: the physical frame allocator, the kernel address
//! space (higher-half image, direct map, heap, stacks), the kernel heap.
//!
//! [`init`] runs once, early, on the boot CPU: it carves the PVH memory map
//! into free ranges, builds the kernel page tables and switches to them
//! (dropping the boot identity map), and maps the initial heap. Its cost is
//! O(memory-map entries + GiB of direct map), never O(pages).
pub mod frame;
mod heap;
mod kernel_map;
pub mod layout;
pub mod paging;
pub mod phys;
mod reserve;
mod selftests;
pub mod stack;
mod stats;

pub use frame::{release_low_page, reserve_low_page};
pub use paging::{is_kernel_mapped, AddressSpace, MapError};
pub use selftests::selftests;
pub use stack::alloc_kernel_stack;
pub use stats::{stats, MemStats};

use crate::boot::start_info::BootInfo;
use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};
use phys::NotMapped;

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
    BadStackSize(usize),
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
                write!(
                    f,
                    "boot structure at {:#x} (+{:#x}) is outside mapped memory",
                    e.paddr, e.len
                )
            }
            Self::BadBootRange { start, len } => {
                write!(f, "boot range {start:#x} (+{len:#x}) wraps around")
            }
            Self::TooManyRanges => write!(f, "memory map too fragmented for the frame allocator"),
            Self::OutOfMemory => write!(f, "out of physical memory"),
            Self::NoLowMemory => write!(f, "no free memory below 4 GiB for page tables"),
            Self::BadKernelImage => write!(f, "kernel image symbols out of range"),
            Self::Map(e) => write!(f, "{e}"),
            Self::BadStackSize(n) => {
                write!(f, "kernel stack of {n} pages (1..={} supported)", stack::MAX_PAGES)
            }
            Self::OutOfStackSlots => write!(f, "no free kernel stack slot"),
        }
    }
}

/// The direct-map virtual address of physical address `paddr`.
pub const fn phys_to_virt(paddr: u64) -> u64 {
    phys::to_virt(paddr)
}

static INITIALISED: AtomicBool = AtomicBool::new(false);

/// Sets up memory management from the validated boot information; see the
/// module documentation. Call once, on the boot CPU, before anything
/// allocates. On error the boot page tables may still be active.
pub fn init(info: &BootInfo) -> Result<MemStats, MmError> {
    if INITIALISED.swap(true, Ordering::AcqRel) {
        return Err(MmError::AlreadyInitialized);
    }
    let carved = reserve::carve_memory(info)?;
    let built = kernel_map::build_and_switch(carved.direct_map_bytes, heap::INITIAL)?;
    phys::set_mapped_limit(carved.direct_map_bytes);
    crate::arch::x86_64::exception::set_kernel_page_tables(built.pml4.start_address().as_u64());
    paging::install_kernel(AddressSpace::kernel(built.pml4));
    heap::init()?;
    stats::record_boot(carved.ram_bytes, carved.direct_map_bytes, built.direct_map_page);
    Ok(stats())
}
