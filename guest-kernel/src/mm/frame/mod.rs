//! The physical frame allocator.
//!
//! Built in O(memory-map entries), never O(pages):
//! - free *ranges* carved from the PVH memory map at boot; each range hands
//!   out frames from its low end upwards (`next`) and takes a frame back when
//!   it is freed right below `next`, so LIFO use keeps ranges contiguous;
//! - a LIFO *stack of freed frames*, linked through the frames themselves
//!   (via the direct map), so it needs no memory of its own;
//! - a 256-bit bitmap for the pages below 1 MiB, which the general allocator
//!   does not hand out while CPUs are being started; then its free pages
//!   become ranges of their own ([`low`]: the low pool);
//! - frames the host has discarded (free-page reporting, [`report`]):
//!   they read as zeros and a write faults a host page back in, so they are
//!   kept in a range list of their own (not linked through themselves) and
//!   handed out last.
//!
//! Each range remembers how high it was ever handed out (`high`): frames
//! above that were never touched, so the host holds no page for them and
//! they are never reported.
//!
//! Freeing a frame that was not handed out (or twice) is a kernel bug and
//! panics with the address.
//!
//! This file is the allocator itself; the low pool and free-page reporting
//! work on its state from their own files.
pub mod low;
pub mod report;

use super::phys;
use super::runs::RunList;
use crate::arch::x86_64::layout::{align_down, align_up, PAGE_SIZE};
use crate::sync::SpinLock;
use pv_abi::syscall::device::REPORT_MAX_RUNS;
use x86_64::instructions::interrupts::without_interrupts;
use x86_64::structures::paging::Size4KiB;
use x86_64::PhysAddr;

/// A 4 KiB physical frame.
pub type PhysFrame = x86_64::structures::paging::PhysFrame<Size4KiB>;

/// Free ranges the allocator keeps: every RAM entry of the memory map plus
/// one split per reserved range, with room to spare.
pub const MAX_RANGES: usize = 160;
/// Pages below 1 MiB.
const LOW_PAGES: usize = 256;
pub const LOW_LIMIT: u64 = (LOW_PAGES as u64) * PAGE_SIZE;
/// Written into the second word of a frame on the free stack, to catch
/// double frees without walking the stack on every free.
const FREE_MAGIC: u64 = 0x4652_4545_4652_4d21; // "!MRFEERF"

#[derive(Clone, Copy, Default)]
struct Range {
    base: u64,
    /// Frames `[base, next)` are handed out (or on the free stack);
    /// `[next, end)` are free.
    next: u64,
    /// Highest `next` ever: `[next, high)` are free frames that were used.
    high: u64,
    end: u64,
}

struct Allocator {
    ranges: [Range; MAX_RANGES],
    len: usize,
    /// No range below this index has free frames.
    first: usize,
    /// Head of the freed-frame stack (physical address; 0 = empty: page 0 is
    /// never managed).
    stack: u64,
    free_frames: u64,
    managed_frames: u64,
    /// Bit set = that page below 1 MiB is free RAM.
    low: [u64; LOW_PAGES / 64],
    /// Bit set = that page below 1 MiB belongs to the low pool at all.
    low_pool: [u64; LOW_PAGES / 64],
    low_free: u64,
    /// Frames on the free stack.
    stack_len: u64,
    /// Free frames the host has discarded (counted in `free_frames`).
    reported: RunList<REPORTED_RUNS>,
    /// Frames taken for reporting and not yet given back (not counted in
    /// `free_frames`), and which device session took them.
    batch: RunList<{ REPORT_MAX_RUNS as usize }>,
    batch_owner: u64,
}

/// Entries of the reported list: fragmentation beyond it only means less
/// is reported.
const REPORTED_RUNS: usize = 1024;
static ALLOCATOR: SpinLock<Allocator> = SpinLock::new(Allocator {
    ranges: [Range { base: 0, next: 0, high: 0, end: 0 }; MAX_RANGES],
    len: 0,
    first: 0,
    stack: 0,
    free_frames: 0,
    managed_frames: 0,
    low: [0; LOW_PAGES / 64],
    low_pool: [0; LOW_PAGES / 64],
    low_free: 0,
    stack_len: 0,
    reported: RunList::new(),
    batch: RunList::new(),
    batch_owner: 0,
});

fn locked<R>(f: impl FnOnce(&mut Allocator) -> R) -> R {
    without_interrupts(|| f(&mut ALLOCATOR.lock()))
}

fn frame_at(paddr: u64) -> PhysFrame {
    // Managed frames are page-aligned and below the direct-map limit, so
    // the address is always valid.
    PhysFrame::containing_address(PhysAddr::new_truncate(paddr))
}

fn word(paddr: u64, index: u64) -> *mut u64 {
    (phys::to_virt(paddr) + index * 8) as *mut u64
}

impl Allocator {
    fn add_range(&mut self, start: u64, end: u64) -> bool {
        let (start, end) = (align_up(start, PAGE_SIZE), align_down(end, PAGE_SIZE));
        if start >= end {
            return true;
        }
        if self.len == MAX_RANGES {
            return false;
        }
        // Ranges arrive sorted and disjoint; keep them so (binary search).
        if let Some(last) = self.ranges[..self.len].last() {
            if start < last.end {
                return false;
            }
        }
        self.ranges[self.len] = Range { base: start, next: start, high: start, end };
        self.len += 1;
        let n = (end - start) / PAGE_SIZE;
        self.free_frames += n;
        self.managed_frames += n;
        true
    }

    fn alloc(&mut self) -> Option<u64> {
        if self.stack != 0 {
            let f = self.stack;
            // `f` is a free frame on the stack, inside the direct map (managed
            // frames are below its limit); its first word holds the next link
            // and its second the magic.
            // SAFETY: a free frame in the direct map that nobody else touches.
            unsafe {
                self.stack = word(f, 0).read();
                word(f, 1).write(0);
            }
            self.free_frames -= 1;
            self.stack_len -= 1;
            return Some(f);
        }
        while self.first < self.len {
            let r = &mut self.ranges[self.first];
            if r.next < r.end {
                let f = r.next;
                r.next += PAGE_SIZE;
                r.high = r.high.max(r.next);
                self.free_frames -= 1;
                return Some(f);
            }
            self.first += 1;
        }
        let f = self.reported.pop_frame()?;
        self.free_frames -= 1;
        Some(f)
    }

    fn alloc_contiguous(&mut self, n: u64, align: u64) -> Option<u64> {
        let bytes = n.checked_mul(PAGE_SIZE)?;
        for i in self.first..self.len {
            let r = self.ranges[i];
            let start = align_up(r.next, align);
            if start.checked_add(bytes).is_some_and(|e| e <= r.end) {
                // The pages skipped for alignment go to the free stack.
                let mut p = r.next;
                self.ranges[i].next = start + bytes;
                self.ranges[i].high = r.high.max(start + bytes);
                self.free_frames -= (start + bytes - r.next) / PAGE_SIZE;
                while p < start {
                    self.push(p);
                    p += PAGE_SIZE;
                }
                return Some(start);
            }
        }
        let start = self.reported.carve(bytes, align)?;
        self.free_frames -= n;
        Some(start)
    }

    /// Index of the range containing `paddr`.
    fn range_of(&self, paddr: u64) -> Option<usize> {
        let ranges = &self.ranges[..self.len];
        let i = ranges.partition_point(|r| r.end <= paddr);
        (i < self.len && ranges[i].base <= paddr).then_some(i)
    }

    fn push(&mut self, f: u64) {
        // `f` is a handed-out frame being returned (checked by the caller).
        // SAFETY: `f` is in the direct map and from now on the allocator's alone.
        unsafe {
            word(f, 0).write(self.stack);
            word(f, 1).write(FREE_MAGIC);
        }
        self.stack = f;
        self.free_frames += 1;
        self.stack_len += 1;
    }

    fn on_stack(&self, f: u64) -> bool {
        let mut p = self.stack;
        while p != 0 {
            if p == f {
                return true;
            }
            // Every element of the stack is a free frame in the direct map.
            // SAFETY: `p` is such a frame; its first word is the next link.
            p = unsafe { word(p, 0).read() };
        }
        false
    }

    fn free(&mut self, f: u64) {
        let Some(i) = self.range_of(f) else {
            panic!("frame::free({f:#x}): not a managed frame");
        };
        let r = self.ranges[i];
        if f >= r.next || self.reported.contains(f) || self.batch.contains(f) {
            panic!("frame::free({f:#x}): frame is free (double free)");
        }
        // SAFETY: `f` is inside a managed range, so inside the direct map.
        if unsafe { word(f, 1).read() } == FREE_MAGIC && self.on_stack(f) {
            panic!("frame::free({f:#x}): frame is free (double free)");
        }
        self.release(i, f);
    }

    /// Makes `f`, a frame of range `i` that is not free, free again.
    fn release(&mut self, i: usize, f: u64) {
        if f + PAGE_SIZE == self.ranges[i].next {
            self.ranges[i].next = f;
            self.first = self.first.min(i);
            self.free_frames += 1;
        } else {
            self.push(f);
        }
    }
}

/// Adds a free range of RAM (boot only; sorted, disjoint, above 1 MiB and
/// inside the direct map). False if the range table is full or out of order.
pub(super) fn add_range(start: u64, end: u64) -> bool {
    locked(|a| a.add_range(start, end))
}

/// Allocates one frame. Its contents are whatever was there.
pub fn alloc() -> Option<PhysFrame> {
    locked(|a| a.alloc()).map(frame_at)
}

/// Frames that memory allocated on behalf of user space (its pages and its
/// page tables) may never take: the kernel keeps them, so a process that
/// exhausts memory is killed while the kernel carries on.
pub const KERNEL_RESERVE_FRAMES: u64 = 1024;

/// Allocates one frame for user space, unless only the kernel's reserve is
/// left. Its contents are whatever was there.
pub fn alloc_for_user() -> Option<PhysFrame> {
    locked(|a| if a.free_frames > KERNEL_RESERVE_FRAMES { a.alloc() } else { None }).map(frame_at)
}

/// Allocates one frame filled with zeroes.
pub fn alloc_zeroed() -> Option<PhysFrame> {
    let f = alloc()?;
    zero(f);
    Some(f)
}

/// Fills a frame with zeroes through the direct map.
pub fn zero(f: PhysFrame) {
    // SAFETY: the caller owns `f` (just allocated); it lies in the direct map.
    unsafe { core::ptr::write_bytes(phys::to_virt(f.start_address().as_u64()) as *mut u8, 0, 4096) }
}

/// Returns a frame obtained from [`alloc`] (or one page of [`alloc_contiguous`]).
/// Panics on a frame the allocator did not hand out: that is a kernel bug.
pub fn free(f: PhysFrame) {
    locked(|a| a.free(f.start_address().as_u64()))
}

/// Allocates `n` physically contiguous frames; returns the first.
pub fn alloc_contiguous(n: usize) -> Option<PhysFrame> {
    alloc_contiguous_aligned(n, PAGE_SIZE)
}

/// Allocates `n` contiguous frames starting at a multiple of `align` bytes
/// (a power of two).
pub fn alloc_contiguous_aligned(n: usize, align: u64) -> Option<PhysFrame> {
    if n == 0 || !align.is_power_of_two() {
        return None;
    }
    if n == 1 && align <= PAGE_SIZE {
        return alloc();
    }
    locked(|a| a.alloc_contiguous(n as u64, align.max(PAGE_SIZE))).map(frame_at)
}

/// Frees `n` frames from [`alloc_contiguous`] (highest first, so they rejoin
/// their range when nothing was allocated after them).
pub fn free_contiguous(first: PhysFrame, n: usize) {
    let base = first.start_address().as_u64();
    locked(|a| {
        for i in (0..n as u64).rev() {
            a.free(base + i * PAGE_SIZE);
        }
    })
}

/// Counters of the allocator.
#[derive(Clone, Copy, Debug, Default)]
pub struct FrameCounts {
    /// Frames the general allocator manages (RAM above 1 MiB, not reserved;
    /// the low pool's too once it is retired).
    pub managed: u64,
    pub free: u64,
    /// Free pages below 1 MiB.
    pub low_free: u64,
    /// Highest managed frame's end address.
    pub top: u64,
    /// Of `free`, frames the host has discarded (free-page reporting).
    pub reported: u64,
    /// Free frames that were used and not reported.
    pub reportable: u64,
}

pub fn counts() -> FrameCounts {
    locked(|a| FrameCounts {
        managed: a.managed_frames,
        free: a.free_frames,
        low_free: a.low_free,
        top: a.len.checked_sub(1).map_or(0, |i| a.ranges[i].end),
        reported: a.reported.frames(),
        reportable: a.reportable(),
    })
}
