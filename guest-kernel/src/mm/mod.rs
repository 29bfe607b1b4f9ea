//! Memory management: the physical frame allocator, the kernel address
//! space (higher-half image, direct map, heap, stacks), the kernel heap.
//!
//! [`init`] runs once, early, on the boot CPU: it carves the PVH memory map
//! into free ranges, builds the kernel page tables and switches to them
//! (dropping the boot identity map), and maps the initial heap. Its cost is
//! O(memory-map entries + GiB of direct map), never O(pages).
mod error;
pub mod frame;
mod heap;
mod kernel_map;
pub mod paging;
pub mod phys;
mod reserve;
mod runs;
pub mod selftest;
pub mod stack;
mod stats;

pub use error::MmError;
pub use frame::low::{release_low_page, reserve_low_page, retire_low_pool};
pub use paging::{is_kernel_mapped, AddressSpace};
pub use stack::alloc_kernel_stack;
pub use stats::{stats, MemStats};

use crate::boot::start_info::BootInfo;
use core::sync::atomic::{AtomicBool, Ordering};

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
    paging::install_kernel(AddressSpace::kernel(built.pml4));
    heap::init()?;
    stats::record_boot(carved.ram_bytes, carved.direct_map_bytes, built.direct_map_page);
    Ok(stats())
}
