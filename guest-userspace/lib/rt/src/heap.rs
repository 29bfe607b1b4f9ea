//! The global allocator: power-of-two size classes over memory from `Map`.
//!
//! Blocks up to 64 KiB come from 256 KiB chunks carved by a bump pointer and
//! are recycled through one free list per size class; chunks are never
//! returned. Anything larger is its own `Map` and is unmapped on free, so big
//! buffers do not pin memory. The limit was 2 KiB, which made every 4 KiB
//! block buffer of the I/O server's file system a map, a page fault and an
//! unmap with its TLB shootdown (some 200 per file created); recycling them
//! costs at most the program's peak of such blocks.
//! `Map` memory is zeroed and populated on first touch, so an untouched chunk
//! costs no physical memory.

use crate::sync::Mutex;
use crate::sys::{map, prot, unmap};
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::null_mut;

const PAGE: usize = 4096;
const MIN_SHIFT: u32 = 4; // 16-byte blocks: room for a free-list link, SysV alignment
const MAX_SHIFT: u32 = 16; // 64 KiB
const CLASSES: usize = (MAX_SHIFT - MIN_SHIFT + 1) as usize;
const CHUNK: usize = 256 << 10;

struct Heap {
    /// Head of each class's free list (0 = empty); a free block's first word
    /// holds the next block's address.
    free: [usize; CLASSES],
    /// The current chunk's unused part.
    next: usize,
    end: usize,
}

pub struct Allocator {
    heap: Mutex<Heap>,
}

impl Allocator {
    pub const fn new() -> Self {
        Self { heap: Mutex::new(Heap { free: [0; CLASSES], next: 0, end: 0 }) }
    }
}

impl Default for Allocator {
    fn default() -> Self {
        Self::new()
    }
}

/// Size class (and block size) for a layout, or None if it needs its own mapping.
fn class(layout: Layout) -> Option<(usize, usize)> {
    let size = layout.size().max(layout.align()).max(1 << MIN_SHIFT);
    let block = size.checked_next_power_of_two()?;
    let shift = block.trailing_zeros();
    (shift <= MAX_SHIFT).then(|| ((shift - MIN_SHIFT) as usize, block))
}

fn pages(size: usize) -> usize {
    (size + PAGE - 1) & !(PAGE - 1)
}

// Each block comes off a free list or fresh bump space exactly once until
// freed; chunks and mappings are page aligned and the bump pointer is aligned
// to the block size; all state is behind the mutex.
// SAFETY: blocks never overlap, are at least `size` bytes and aligned to a power of two >= `align`.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some((class, block)) = class(layout) else {
            // Mappings are page aligned; stricter alignments are not needed
            // by anything here, so refuse them rather than over-map.
            if layout.align() > PAGE {
                return null_mut();
            }
            return match map(0, pages(layout.size()) as u64, prot::READ | prot::WRITE) {
                Ok(a) => a as *mut u8,
                Err(_) => null_mut(),
            };
        };
        let mut h = self.heap.lock();
        let head = h.free[class];
        if head != 0 {
            // Its first word is the link we stored when it was freed.
            // SAFETY: `head` is a free block of this class, at least a word long.
            h.free[class] = unsafe { *(head as *const usize) };
            return head as *mut u8;
        }
        let mut start = (h.next + block - 1) & !(block - 1);
        if start + block > h.end {
            // The rest of the old chunk is abandoned (less than 64 KiB of
            // untouched, hence unpopulated, address space).
            let Ok(chunk) = map(0, CHUNK as u64, prot::READ | prot::WRITE) else {
                return null_mut();
            };
            start = chunk as usize;
            h.end = start + CHUNK;
        }
        h.next = start + block;
        start as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match class(layout) {
            Some((class, _)) => {
                let mut h = self.heap.lock();
                // Its first word becomes the free-list link.
                // SAFETY: the block is ours again, at least a word long and word aligned.
                unsafe { *(ptr as *mut usize) = h.free[class] };
                h.free[class] = ptr as usize;
            }
            None => {
                // The caller gives the block up.
                // SAFETY: a large block is exactly one mapping of these pages.
                let _ = unsafe { unmap(ptr as u64, pages(layout.size()) as u64) };
            }
        }
    }
}
