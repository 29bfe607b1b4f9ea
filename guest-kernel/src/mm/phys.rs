//! Access to physical memory through the direct map, bounds-checked against
//! what is mapped so a bad address handed over by a VMM becomes an error,
//! not a page fault.
use crate::arch::x86_64::layout::{BOOT_DIRECT_MAP_SIZE, DIRECT_MAP_BASE};
use core::sync::atomic::{AtomicU64, Ordering};

/// The boot page tables direct-map 4 GiB; `mm::init` raises this to the end
/// of its own direct map. It only ever grows.
static MAPPED_LIMIT: AtomicU64 = AtomicU64::new(BOOT_DIRECT_MAP_SIZE);

/// Highest physical address (exclusive) currently reachable through the direct map.
pub fn mapped_limit() -> u64 {
    MAPPED_LIMIT.load(Ordering::Acquire)
}

/// Called once the direct map covers `[0, limit)`.
pub(super) fn set_mapped_limit(limit: u64) {
    MAPPED_LIMIT.fetch_max(limit, Ordering::AcqRel);
}

/// The direct-map virtual address of `paddr` (no check that it is mapped).
pub const fn to_virt(paddr: u64) -> u64 {
    DIRECT_MAP_BASE + paddr
}

/// `paddr..paddr+len` is not (entirely) in the direct map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotMapped {
    pub paddr: u64,
    pub len: u64,
}

/// Borrows `len` bytes of physical memory. The memory must stay untouched by
/// the kernel's allocators for `'static` (boot structures are reserved).
pub fn bytes(paddr: u64, len: usize) -> Result<&'static [u8], NotMapped> {
    let end = paddr.checked_add(len as u64);
    match end {
        Some(end) if end <= mapped_limit() => {
            // SAFETY: the range lies inside the direct map, which maps RAM and
            // device memory read-write for the kernel's whole lifetime; the
            // caller only reads boot-handover structures that nothing writes.
            Ok(unsafe { core::slice::from_raw_parts(to_virt(paddr) as *const u8, len) })
        }
        _ => Err(NotMapped { paddr, len: len as u64 }),
    }
}

/// The direct map as `vireo_parse`'s parsers read it.
pub struct Phys;

impl vireo_parse::PhysMem<'static> for Phys {
    fn bytes(&self, paddr: u64, len: usize) -> Option<&'static [u8]> {
        bytes(paddr, len).ok()
    }
}

/// Copies a fixed-size structure out of physical memory.
pub fn read_array<const N: usize>(paddr: u64) -> Result<[u8; N], NotMapped> {
    let src = bytes(paddr, N)?;
    let mut out = [0u8; N];
    out.copy_from_slice(src);
    Ok(out)
}
