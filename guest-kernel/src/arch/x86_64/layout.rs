//! The kernel's virtual address layout.
//!
//! - `KERNEL_VMA + phys`: the kernel image, linked at -2 GiB (see linker.ld).
//! - `DIRECT_MAP_BASE + phys`: all of physical memory. The boot page tables
//!   map the first [`BOOT_DIRECT_MAP_SIZE`] bytes with 2 MiB pages, which
//!   covers every boot structure a PVH loader hands over (all below 4 GiB).

/// Where the kernel image is linked (must match `KERNEL_VMA` in linker.ld).
pub const KERNEL_VMA: u64 = 0xFFFF_FFFF_8000_0000;
/// Base of the direct map of physical memory (PML4 slot 256).
pub const DIRECT_MAP_BASE: u64 = 0xFFFF_8000_0000_0000;
/// Bytes of physical memory the boot page tables direct-map.
pub const BOOT_DIRECT_MAP_SIZE: u64 = 4 << 30;

/// The PML4 slot of the direct map, as the boot page tables need it.
pub const DIRECT_MAP_PML4_INDEX: usize = ((DIRECT_MAP_BASE >> 39) & 0x1ff) as usize;

const _: () = assert!(DIRECT_MAP_PML4_INDEX == 256);
