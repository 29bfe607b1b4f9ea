//! The kernel's virtual address layout: every fixed kernel address, in one
//! file (user space's is in `pv_abi::syscall::layout`).
//!
//! - `KERNEL_VMA + phys`: the kernel image, linked at -2 GiB (see linker.ld).
//! - `DIRECT_MAP_BASE + phys`: all of physical memory. The boot page tables
//!   map the first [`BOOT_DIRECT_MAP_SIZE`] bytes with 2 MiB pages, which
//!   covers every boot structure a PVH loader hands over (all below 4 GiB).
//!
//! The kernel half, as memory management lays it out. The kernel uses few PML4 slots, and all of them get their PDPT
//! when the kernel page tables are built, so the PML4 entries of the kernel
//! half never change after boot and address spaces share them by copying
//! `PML4[256..512]` once.
//!
//! | PML4 slot | base | region |
//! |---|---|---|
//! | 256..256+n | `DIRECT_MAP_BASE` | direct map of `[0, max(4 GiB, top of RAM))` |
//! | 511 | [`HEAP_BASE`] | kernel heap (128 GiB of space), grows upwards on demand |
//! | 511 | [`VMAP_BASE`] | [`paging::reserve_va`](crate::mm::paging::reserve_va) (64 GiB) |
//! | 511 | [`STACK_BASE`] | kernel stacks, one [`STACK_SLOT_SIZE`] slot each (4 GiB) |
//! | 511 | `KERNEL_VMA` (-2 GiB) | the kernel image |
//!
//! Everything but the direct map shares slot 511 and so one PDPT: every
//! page table built at boot costs a 4 KiB zeroing, which an emulated ring 0
//! executes as 512 instructions.

/// Where the kernel image is linked (must match `KERNEL_VMA` in linker.ld).
pub const KERNEL_VMA: u64 = 0xFFFF_FFFF_8000_0000;
/// Base of the direct map of physical memory (PML4 slot 256).
pub const DIRECT_MAP_BASE: u64 = 0xFFFF_8000_0000_0000;
/// Bytes of physical memory the boot page tables direct-map.
pub const BOOT_DIRECT_MAP_SIZE: u64 = 4 << 30;

/// The PML4 slot of the direct map, as the boot page tables need it.
pub const DIRECT_MAP_PML4_INDEX: usize = ((DIRECT_MAP_BASE >> 39) & 0x1ff) as usize;

const _: () = assert!(DIRECT_MAP_PML4_INDEX == 256);

pub use pv_abi::PAGE_SIZE;
pub const LARGE_PAGE_SIZE: u64 = 2 << 20;
pub const HUGE_PAGE_SIZE: u64 = 1 << 30;
/// Bytes one PML4 slot covers.
pub const SLOT_SIZE: u64 = 1 << 39;

/// End (exclusive) of the lower, per-process half (user space itself ends a
/// page lower, at `pv_abi::syscall::layout::USER_END`).
pub use pv_abi::syscall::layout::LOWER_HALF_END;
/// First PML4 slot of the kernel half.
pub const KERNEL_FIRST_SLOT: usize = 256;

/// Most PML4 slots the direct map may use: 64 TiB of physical memory.
pub const DIRECT_MAP_MAX_SLOTS: usize = 128;
/// Largest physical address range the direct map can cover.
pub const DIRECT_MAP_MAX: u64 = DIRECT_MAP_MAX_SLOTS as u64 * SLOT_SIZE;

pub const HEAP_BASE: u64 = 0xFFFF_FF80_0000_0000;
/// The heap's virtual range; it is mapped only as far as it has grown.
pub const HEAP_MAX: u64 = 128 << 30;

pub const VMAP_BASE: u64 = HEAP_BASE + HEAP_MAX;
pub const VMAP_SIZE: u64 = 64 << 30;

pub const STACK_BASE: u64 = VMAP_BASE + VMAP_SIZE;
/// Virtual space per kernel stack: the stack sits at the top of its slot and
/// everything below it (at least one page) stays unmapped as guard.
pub const STACK_SLOT_SIZE: u64 = 1 << 20;
/// Number of stack slots.
pub const STACK_SLOTS: usize = 4096;
pub const STACK_END: u64 = STACK_BASE + STACK_SLOTS as u64 * STACK_SLOT_SIZE;

/// PML4 slot of a kernel-half address.
pub const fn slot(va: u64) -> usize {
    ((va >> 39) & 0x1ff) as usize
}

/// The one PML4 slot holding the heap, vmap, stacks and the kernel image.
pub const KERNEL_SLOT: usize = slot(KERNEL_VMA);

const _: () = {
    assert!(slot(DIRECT_MAP_BASE) == KERNEL_FIRST_SLOT);
    assert!(KERNEL_FIRST_SLOT + DIRECT_MAP_MAX_SLOTS <= KERNEL_SLOT);
    assert!(KERNEL_SLOT == 511 && slot(HEAP_BASE) == KERNEL_SLOT);
    assert!(STACK_END <= KERNEL_VMA);
};

pub const fn align_up(x: u64, a: u64) -> u64 {
    (x + a - 1) & !(a - 1)
}

pub const fn align_down(x: u64, a: u64) -> u64 {
    x & !(a - 1)
}
