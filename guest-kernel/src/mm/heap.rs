//! The kernel heap: `talc` over a region of its own ([`HEAP_BASE`]) that is
//! mapped as far as the heap has grown. Running out maps more frames at the
//! end (at least [`GROW_MIN`]); a large free tail is unmapped again, so
//! memory a burst of allocations took goes back to the frame allocator —
//! while only the boot CPU runs: without TLB shootdown another CPU could
//! keep using a stale translation of a returned page (see
//! [`paging::other_cpus_possible`]).
//!
//! Heap pages are never zeroed: the allocator does not need it, and
//! `alloc_zeroed` zeroes what it returns.
use super::error::MmError;
use super::frame;
use super::paging::{self, KERNEL_RW};
use crate::arch::x86_64::layout::{align_up, HEAP_BASE, HEAP_MAX, PAGE_SIZE};
use crate::sync::SpinLock;
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{null_mut, NonNull};
use talc::base::binning::Binning;
use talc::base::Talc;
use talc::source::Source;
use talc::DefaultBinning;
use x86_64::instructions::interrupts::without_interrupts;

/// Mapped at boot.
pub const INITIAL: u64 = 64 << 10;
/// Smallest growth step.
pub const GROW_MIN: u64 = 64 << 10;
/// A free tail this large is given back...
const SHRINK_AT: u64 = 512 << 10;
/// ...down to this much above the last allocation.
const SHRINK_KEEP: u64 = 128 << 10;

/// The heap's memory source: maps frames at the end of the heap region.
#[derive(Debug)]
struct HeapSource {
    /// End of the mapped part (0 = heap not set up).
    mapped_end: u64,
    /// The end of talc's heap (equals `mapped_end` once claimed).
    heap_end: Option<NonNull<u8>>,
}

// SAFETY: the source only holds addresses of the kernel heap region, which
// is the same in every context; access is serialised by the heap lock.
unsafe impl Send for HeapSource {}

/// Maps fresh frames at `[from, to)`; on failure unmaps what it mapped.
fn map_pages(from: u64, to: u64) -> Result<(), MmError> {
    let mut va = from;
    while va < to {
        let Some(f) = frame::alloc() else {
            unmap_pages(from, va);
            return Err(MmError::OutOfMemory);
        };
        if let Err(e) = paging::map(va, f.start_address().as_u64(), KERNEL_RW) {
            frame::free(f);
            unmap_pages(from, va);
            return Err(e.into());
        }
        va += PAGE_SIZE;
    }
    Ok(())
}

/// Unmaps `[from, to)` and frees the frames.
fn unmap_pages(from: u64, to: u64) {
    let mut va = from;
    while va < to {
        if let Ok(f) = paging::unmap(va) {
            frame::free(f);
        }
        va += PAGE_SIZE;
    }
}

// SAFETY: `acquire` and `resize` use only the frame allocator and the
// kernel page tables, never the heap.
unsafe impl Source for HeapSource {
    const TRACK_HEAP_END: bool = true;

    fn acquire<B: Binning>(talc: &mut Talc<Self, B>, layout: Layout) -> Result<(), ()> {
        let (old, Some(heap_end)) = (talc.source.mapped_end, talc.source.heap_end) else {
            return Err(()); // not set up yet
        };
        // Room for the block, its alignment and talc's per-chunk tags.
        let need = (layout.size() as u64).saturating_add(layout.align() as u64).saturating_add(64);
        let grow = align_up(need.max(GROW_MIN), PAGE_SIZE);
        let new = old.checked_add(grow).filter(|&n| n <= HEAP_BASE + HEAP_MAX).ok_or(())?;
        map_pages(old, new).map_err(|_| ())?;
        talc.source.mapped_end = new;
        // SAFETY: `[old, new)` was just mapped for the heap alone, and
        // `heap_end` is talc's current heap end (== old).
        let end = unsafe { talc.extend(heap_end, new as *mut u8) };
        talc.source.heap_end = Some(end);
        Ok(())
    }

    unsafe fn resize(&mut self, chunk_base: *mut u8, heap_end: *mut u8, _is_heap_base: bool) -> *mut u8 {
        let (base, end) = (chunk_base as u64, heap_end as u64);
        if end - base < SHRINK_AT || end != self.mapped_end || paging::other_cpus_possible() {
            return heap_end;
        }
        let keep = align_up(base + SHRINK_KEEP, PAGE_SIZE).max(HEAP_BASE + INITIAL);
        if keep >= end {
            return heap_end;
        }
        unmap_pages(keep, end);
        self.mapped_end = keep;
        self.heap_end = NonNull::new(keep as *mut u8);
        keep as *mut u8
    }
}

/// The `GlobalAlloc` over talc, behind the kernel's spinlock with interrupts
/// off (so an interrupt handler that allocates cannot deadlock on it).
pub struct KernelHeap {
    talc: SpinLock<Talc<HeapSource, DefaultBinning>>,
}

impl KernelHeap {
    const fn new() -> Self {
        Self { talc: SpinLock::new(Talc::new(HeapSource { mapped_end: 0, heap_end: None })) }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Talc<HeapSource, DefaultBinning>) -> R) -> R {
        without_interrupts(|| f(&mut self.talc.lock()))
    }
}

// SAFETY: talc upholds the GlobalAlloc contract; every call is serialised by
// the lock.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: GlobalAlloc callers never pass a zero-sized layout.
        self.with(|t| unsafe { t.allocate(layout) }).map_or(null_mut(), |p| p.as_ptr())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated here with `layout` (caller contract).
        self.with(|t| unsafe { t.deallocate(ptr, layout) })
    }

    unsafe fn realloc(&self, ptr: *mut u8, old: Layout, new_size: usize) -> *mut u8 {
        self.with(|t| {
            // SAFETY: `ptr`/`old` come from this allocator, `new_size` is a
            // valid non-zero size for `old.align()` (caller contract).
            unsafe {
                if t.try_realloc_in_place(ptr, old, new_size) {
                    return ptr;
                }
                let new_layout = Layout::from_size_align_unchecked(new_size, old.align());
                let Some(new) = t.allocate(new_layout) else {
                    return null_mut();
                };
                new.as_ptr().copy_from_nonoverlapping(ptr, old.size().min(new_size));
                t.deallocate(ptr, old);
                new.as_ptr()
            }
        })
    }
}

#[global_allocator]
static HEAP: KernelHeap = KernelHeap::new();

/// Hands the first [`INITIAL`] bytes of the heap region, which the boot page
/// tables already map, to talc.
pub fn init() -> Result<(), MmError> {
    HEAP.with(|t| {
        if t.source.mapped_end != 0 {
            return Err(MmError::AlreadyInitialized);
        }
        t.source.mapped_end = HEAP_BASE + INITIAL;
        // SAFETY: the region is mapped, for the heap alone.
        let end = unsafe { t.claim(HEAP_BASE as *mut u8, INITIAL as usize) };
        t.source.heap_end = Some(end.ok_or(MmError::OutOfMemory)?);
        Ok(())
    })
}

/// Heap counters.
#[derive(Clone, Copy, Debug, Default)]
pub struct HeapCounts {
    /// Bytes of the heap region that are mapped.
    pub mapped: u64,
    /// Bytes in live allocations (as requested).
    pub allocated: u64,
    pub allocations: u64,
}

pub fn counts() -> HeapCounts {
    HEAP.with(|t| {
        let c = t.counters();
        HeapCounts {
            mapped: t.source.mapped_end.saturating_sub(HEAP_BASE),
            allocated: c.allocated_bytes as u64,
            allocations: c.allocation_count as u64,
        }
    })
}
