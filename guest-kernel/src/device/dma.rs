//! DMA memory: physically contiguous, zeroed frames owned by an opened
//! device (and mapped by its driver). Freed only after the device is reset.
use crate::mm::frame;
use x86_64::structures::paging::PhysFrame;

/// Frames DMA allocations never take (as for user memory in `process::vm`).
const RESERVE_FRAMES: u64 = 1024;

pub struct DmaBuffer {
    first: PhysFrame,
    pages: usize,
}

impl DmaBuffer {
    /// `pages` contiguous zeroed frames, or `None` when memory is short.
    pub fn new(pages: usize) -> Option<Self> {
        // Leave the kernel the same reserve user memory leaves it.
        if frame::counts().free <= pages as u64 + RESERVE_FRAMES {
            return None;
        }
        let first = frame::alloc_contiguous(pages)?;
        let base = first.start_address().as_u64();
        for i in 0..pages as u64 {
            frame::zero(PhysFrame::containing_address(x86_64::PhysAddr::new(base + i * 4096)));
        }
        Some(Self { first, pages })
    }

    pub fn paddr(&self) -> u64 {
        self.first.start_address().as_u64()
    }

    pub fn len(&self) -> u64 {
        self.pages as u64 * 4096
    }
}

impl Drop for DmaBuffer {
    fn drop(&mut self) {
        frame::free_contiguous(self.first, self.pages);
    }
}
