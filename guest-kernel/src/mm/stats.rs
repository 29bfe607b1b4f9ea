//! Memory statistics: a snapshot of every allocator's counters.
use super::{frame, heap, paging, reserve, stack};
use crate::arch::x86_64::layout::PAGE_SIZE;
use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};

static RAM_BYTES: AtomicU64 = AtomicU64::new(0);
static DIRECT_MAP_BYTES: AtomicU64 = AtomicU64::new(0);
static DIRECT_MAP_PAGE: AtomicU64 = AtomicU64::new(0);

pub(super) fn record_boot(ram: u64, direct_map: u64, direct_map_page: u64) {
    RAM_BYTES.store(ram, Ordering::Relaxed);
    DIRECT_MAP_BYTES.store(direct_map, Ordering::Relaxed);
    DIRECT_MAP_PAGE.store(direct_map_page, Ordering::Relaxed);
}

/// A snapshot of memory use. `total - free` is the memory in use. Displays
/// as a one-line summary (without a subsystem prefix).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemStats {
    /// RAM according to the memory map.
    pub total_bytes: u64,
    /// Frames the frame allocator can still hand out.
    pub free_bytes: u64,
    /// RAM the frame allocator never manages: below 1 MiB, the kernel
    /// image, boot structures, modules.
    pub reserved_bytes: u64,
    /// Of `reserved_bytes`, the kernel image.
    pub kernel_image_bytes: u64,
    /// Frames holding page tables.
    pub page_table_bytes: u64,
    /// Mapped heap and, of it, bytes in live allocations.
    pub heap_bytes: u64,
    pub heap_used_bytes: u64,
    /// Mapped kernel stacks (the boot stack is part of the image).
    pub stack_bytes: u64,
    /// Free pages below 1 MiB (for the SMP trampoline).
    pub low_free_bytes: u64,
    pub direct_map_bytes: u64,
    /// 1 GiB or 2 MiB.
    pub direct_map_page_bytes: u64,
}

impl MemStats {
    /// RAM not free for allocation.
    pub fn used_bytes(&self) -> u64 {
        self.total_bytes.saturating_sub(self.free_bytes)
    }
}

/// Current statistics (zeroes before `mm::init`).
pub fn stats() -> MemStats {
    let frames = frame::counts();
    let heap = heap::counts();
    let total = RAM_BYTES.load(Ordering::Relaxed);
    let (k_start, k_end) = reserve::kernel_image();
    MemStats {
        total_bytes: total,
        free_bytes: frames.free * PAGE_SIZE,
        reserved_bytes: total.saturating_sub(frames.managed * PAGE_SIZE),
        kernel_image_bytes: k_end - k_start,
        page_table_bytes: paging::table_frames() * PAGE_SIZE,
        heap_bytes: heap.mapped,
        heap_used_bytes: heap.allocated,
        stack_bytes: stack::stack_bytes(),
        low_free_bytes: frames.low_free * PAGE_SIZE,
        direct_map_bytes: DIRECT_MAP_BYTES.load(Ordering::Relaxed),
        direct_map_page_bytes: DIRECT_MAP_PAGE.load(Ordering::Relaxed),
    }
}

/// Bytes as B/KiB/MiB/GiB, rounded to one decimal (dropped when whole); the
/// unit is the largest that divides the value or still gives at least 4.
pub struct Size(pub u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
        for (unit, name) in UNITS {
            if self.0 >= 4 * unit || (self.0 >= unit && self.0.is_multiple_of(unit)) {
                let tenths = (self.0 as u128 * 10 + unit as u128 / 2) / unit as u128;
                return if tenths.is_multiple_of(10) {
                    write!(f, "{} {name}", tenths / 10)
                } else {
                    write!(f, "{}.{} {name}", tenths / 10, tenths % 10)
                };
            }
        }
        write!(f, "{} B", self.0)
    }
}

impl fmt::Display for MemStats {
    /// One short line (every character costs on an emulated serial port);
    /// `{:#}` gives every counter.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            return write!(
                f,
                "{} RAM, {} free, {} in use (kernel {}, reserved {}, page tables {}, heap {} ({} used), stacks {}, low pool {} free); direct map {} in {} pages",
                Size(self.total_bytes),
                Size(self.free_bytes),
                Size(self.used_bytes()),
                Size(self.kernel_image_bytes),
                Size(self.reserved_bytes),
                Size(self.page_table_bytes),
                Size(self.heap_bytes),
                Size(self.heap_used_bytes),
                Size(self.stack_bytes),
                Size(self.low_free_bytes),
                Size(self.direct_map_bytes),
                Size(self.direct_map_page_bytes),
            );
        }
        write!(
            f,
            "{} RAM, {} in use (kernel {}, tables {}, heap {}), {} pages",
            Size(self.total_bytes),
            Size(self.used_bytes()),
            Size(self.kernel_image_bytes),
            Size(self.page_table_bytes),
            Size(self.heap_bytes),
            Size(self.direct_map_page_bytes),
        )
    }
}
