//! Shared memory: frames that several address spaces map. With futexes
//! keyed by physical address, this is the IPC primitive: a shared ring plus
//! wait/wake.
use crate::mm::frame;
use alloc::vec::Vec;
use pv_abi::syscall::Error;
use x86_64::structures::paging::PhysFrame;

/// Largest shared-memory object (bytes).
const MAX_LEN: u64 = 64 << 20;

pub struct SharedMemory {
    frames: Vec<PhysFrame>,
}

impl SharedMemory {
    pub fn new(len: u64) -> Result<Self, Error> {
        if len == 0 || len > MAX_LEN {
            return Err(Error::Invalid);
        }
        let pages = len.div_ceil(4096) as usize;
        let mut frames = Vec::with_capacity(pages);
        for _ in 0..pages {
            match frame::alloc_zeroed() {
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
