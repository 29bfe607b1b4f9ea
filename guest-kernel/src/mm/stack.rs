//! Kernel stacks in their own region ([`STACK_BASE`]): one
//! [`STACK_SLOT_SIZE`] slot per stack, the stack at the top of its slot and
//! the rest of the slot, at least one page right below the stack, never
//! mapped. Running off the bottom of a stack therefore page-faults on an
//! address for which [`is_guard_address`] is true.
//!
//! Stack pages are not zeroed: a stack needs no initial contents.
use super::error::MmError;
use super::frame::{self, PhysFrame};
use super::paging::{self, KERNEL_RW};
use crate::arch::x86_64::layout::{PAGE_SIZE, STACK_BASE, STACK_END, STACK_SLOTS, STACK_SLOT_SIZE};
use crate::sync::SpinLock;
use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::instructions::interrupts::without_interrupts;

/// Largest stack: the slot minus its guard page.
pub const MAX_PAGES: usize = (STACK_SLOT_SIZE / PAGE_SIZE) as usize - 1;

struct Slots {
    /// Bit set = slot in use.
    bits: [u64; STACK_SLOTS / 64],
}

static SLOTS: SpinLock<Slots> = SpinLock::new(Slots { bits: [0; STACK_SLOTS / 64] });
/// Mapped stack bytes, for statistics.
static STACK_BYTES: AtomicU64 = AtomicU64::new(0);

/// A mapped kernel stack `[bottom, top)`. Dropping it unmaps and frees the
/// stack (the caller must not be running on it); `core::mem::forget` keeps
/// it for good (e.g. a CPU's stack).
#[derive(Debug)]
pub struct KernelStack {
    /// Initial stack pointer (exclusive end, 16-byte aligned).
    pub top: u64,
    /// Lowest mapped address; the page below is the guard.
    pub bottom: u64,
    slot: usize,
}

impl KernelStack {
    pub fn pages(&self) -> usize {
        ((self.top - self.bottom) / PAGE_SIZE) as usize
    }

    /// The unmapped page right below the stack.
    pub fn guard_page(&self) -> u64 {
        self.bottom - PAGE_SIZE
    }

    /// Drops this CPU's TLB entries for the stack. There is no TLB shootdown
    /// yet, so a CPU that ran on an earlier stack in the same slot may still
    /// translate these addresses to that stack's (freed) frames: call this
    /// before a CPU first runs on a stack it did not allocate.
    pub fn flush_tlb_local(&self) {
        let mut va = self.bottom;
        while va < self.top {
            x86_64::instructions::tlb::flush(x86_64::VirtAddr::new(va));
            va += PAGE_SIZE;
        }
    }

    /// Unmaps the stack and frees its frames and slot (same as dropping it).
    pub fn free(self) {
        drop(self)
    }
}

impl Drop for KernelStack {
    fn drop(&mut self) {
        unmap_range(self.bottom, self.top);
        STACK_BYTES.fetch_sub(self.top - self.bottom, Ordering::Relaxed);
        release_slot(self.slot);
    }
}

/// The lowest free slot, so stacks reuse the same few page tables. A freed
/// slot's addresses may still be cached in another CPU's TLB (there is no
/// shootdown); the scheduler flushes a thread's stack range on each CPU
/// before the thread first runs there (`sched::Thread::flush_stack_tlb`).
fn claim_slot() -> Option<usize> {
    without_interrupts(|| {
        let mut s = SLOTS.lock();
        let (w, word) = s.bits.iter().enumerate().find(|(_, w)| **w != u64::MAX)?;
        let b = (!*word).trailing_zeros() as usize;
        s.bits[w] |= 1 << b;
        Some(w * 64 + b)
    })
}

fn release_slot(slot: usize) {
    without_interrupts(|| SLOTS.lock().bits[slot / 64] &= !(1 << (slot % 64)));
}

fn unmap_range(from: u64, to: u64) {
    let mut va = from;
    while va < to {
        if let Ok(f) = paging::unmap(va) {
            frame::free(f);
        }
        va += PAGE_SIZE;
    }
}

/// Allocates and maps a kernel stack of `pages` pages (1..=[`MAX_PAGES`])
/// with an unmapped guard page below it.
pub fn alloc_kernel_stack(pages: usize) -> Result<KernelStack, MmError> {
    alloc_stack_with(pages, frame::alloc)
}

/// The same for a user thread: charged like user memory, so a process that
/// starts threads without end runs out before the kernel's reserve does.
pub fn alloc_kernel_stack_for_user(pages: usize) -> Result<KernelStack, MmError> {
    alloc_stack_with(pages, frame::alloc_for_user)
}

fn alloc_stack_with(pages: usize, alloc: fn() -> Option<PhysFrame>) -> Result<KernelStack, MmError> {
    if pages == 0 || pages > MAX_PAGES {
        return Err(MmError::BadStackSize { pages, max: MAX_PAGES });
    }
    let slot = claim_slot().ok_or(MmError::OutOfStackSlots)?;
    let top = STACK_BASE + (slot as u64 + 1) * STACK_SLOT_SIZE;
    let bottom = top - pages as u64 * PAGE_SIZE;
    let mut va = bottom;
    while va < top {
        let result = match alloc() {
            None => Err(MmError::OutOfMemory),
            Some(f) => paging::map(va, f.start_address().as_u64(), KERNEL_RW).map_err(|e| {
                frame::free(f);
                MmError::from(e)
            }),
        };
        if let Err(e) = result {
            unmap_range(bottom, va);
            release_slot(slot);
            return Err(e);
        }
        va += PAGE_SIZE;
    }
    STACK_BYTES.fetch_add(top - bottom, Ordering::Relaxed);
    Ok(KernelStack { top, bottom, slot })
}

/// Frees a stack (same as [`KernelStack::free`]).
pub fn free_kernel_stack(stack: KernelStack) {
    stack.free()
}

/// True if `va` is in the stack region but not mapped: a fault there is a
/// kernel stack overflow (for the page-fault handler's report; lock-free).
pub fn is_guard_address(va: u64) -> bool {
    (STACK_BASE..STACK_END).contains(&va) && !paging::is_kernel_mapped(va)
}

pub(super) fn stack_bytes() -> u64 {
    STACK_BYTES.load(Ordering::Relaxed)
}
