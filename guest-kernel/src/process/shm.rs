//! Shared memory: frames that several address spaces map. With futexes
//! keyed by physical address, this is the IPC primitive: a shared ring plus
//! wait/wake.
use crate::mm::frame;
use alloc::vec::Vec;
use pv_abi::syscall::Error;
use x86_64::structures::paging::PhysFrame;

/// Largest shared-memory object (bytes).
const MAX_LEN: u64 = 64 << 20;
/// Frames shared memory may never take: the kernel's reserve, as for
/// anonymous memory (vm.rs), so ShmCreate cannot starve the kernel or make
/// every other process's next page fault fatal.
const KERNEL_RESERVE_FRAMES: u64 = 1024;

/// A zeroed frame, unless only the kernel's reserve is left.
fn user_frame() -> Option<PhysFrame> {
    if frame::counts().free <= KERNEL_RESERVE_FRAMES {
        return None;
    }
    frame::alloc_zeroed()
}

pub struct SharedMemory {
    frames: Vec<PhysFrame>,
}

impl SharedMemory {
    pub fn new(len: u64) -> Result<Self, Error> {
        if len == 0 || len > MAX_LEN {
            return Err(Error::Invalid);
        }
        let pages = len.div_ceil(4096) as usize;
        if frame::counts().free < KERNEL_RESERVE_FRAMES + pages as u64 {
            return Err(Error::NoMemory);
        }
        let mut frames = Vec::with_capacity(pages);
        for _ in 0..pages {
            match user_frame() {
                Some(f) => frames.push(f),
                None => {
                    frames.into_iter().for_each(frame::free);
                    return Err(Error::NoMemory);
                }
            }
        }
        Ok(Self { frames })
    }

    pub fn len(&self) -> u64 {
        self.frames.len() as u64 * 4096
    }

    pub fn frames(&self) -> &[PhysFrame] {
        &self.frames
    }
}

impl Drop for SharedMemory {
    fn drop(&mut self) {
        self.frames.drain(..).for_each(frame::free);
    }
}
