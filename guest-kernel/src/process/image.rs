//! A kernel copy of a program image that user space holds (`SpawnImage`).
//! The loader parses and re-reads its input, so it must never see memory
//! that another thread of the caller may change meanwhile: the image is
//! copied once, and only the copy is parsed.
//!
//! The copy goes into physically contiguous frames read through the direct
//! map when such a run is free (no heap growth: on SMP the kernel heap never
//! shrinks again), else into the heap. Either way memory is taken only while
//! more than the kernel's reserve stays free, and a failed allocation is
//! `NoMemory`, never a panic.
use super::uaccess::read_user;
use crate::mm::{frame, phys_to_virt};
use alloc::vec::Vec;
use pv_abi::syscall::{Error, MAX_SPAWN_IMAGE};
use x86_64::structures::paging::PhysFrame;

use pv_abi::PAGE_SIZE as PAGE;
/// Bytes copied per user access (the address space's lock is taken per chunk).
const CHUNK: usize = 64 << 10;

pub enum ImageCopy {
    Frames { first: PhysFrame, pages: usize, len: usize },
    Heap(Vec<u8>),
}

impl ImageCopy {
    /// Copies `len` bytes at user address `va` of the calling process.
    /// `Invalid` past [`MAX_SPAWN_IMAGE`], `Fault` for a bad range.
    pub fn from_user(va: u64, len: u64) -> Result<Self, Error> {
        if len > MAX_SPAWN_IMAGE {
            return Err(Error::Invalid);
        }
        let pages = len.div_ceil(PAGE);
        if frame::counts().free < frame::KERNEL_RESERVE_FRAMES + pages {
            return Err(Error::NoMemory);
        }
        let len = len as usize;
        let mut copy = match frame::alloc_contiguous(pages as usize) {
            Some(first) => Self::Frames { first, pages: pages as usize, len },
            None => {
                let mut v = Vec::new();
                v.try_reserve_exact(len).map_err(|_| Error::NoMemory)?;
                v.resize(len, 0);
                Self::Heap(v)
            }
        };
        for (i, chunk) in copy.bytes_mut().chunks_mut(CHUNK).enumerate() {
            read_user(va + (i * CHUNK) as u64, chunk)?;
        }
        Ok(copy)
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        match self {
            Self::Frames { first, len, .. } => {
                // SAFETY: the frames were allocated for this copy alone (so
                // nothing else aliases them) and lie in the direct map; `len`
                // is at most their total size.
                unsafe {
                    core::slice::from_raw_parts_mut(phys_to_virt(first.start_address().as_u64()) as *mut u8, *len)
                }
            }
            Self::Heap(v) => v,
        }
    }
}

impl core::ops::Deref for ImageCopy {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            // SAFETY: as in `bytes_mut`, shared.
            Self::Frames { first, len, .. } => unsafe {
                core::slice::from_raw_parts(phys_to_virt(first.start_address().as_u64()) as *const u8, *len)
            },
            Self::Heap(v) => v,
        }
    }
}

impl Drop for ImageCopy {
    fn drop(&mut self) {
        if let Self::Frames { first, pages, .. } = *self {
            frame::free_contiguous(first, pages);
        }
    }
}
