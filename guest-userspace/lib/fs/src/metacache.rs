//! A small write-through cache of metadata blocks (inode tables and
//! allocation bitmaps, never file data) for the block layer under rsext4.
//!
//! rsext4 re-reads the same few blocks on every operation despite its own
//! caches: the inode-table block around an inode each time it writes the
//! inode back (read-modify-write), and the bitmap blocks on allocation. On
//! the VM each such read is a full device round trip. All writes pass
//! through the layer, so the cache stays equal to the device.

use alloc::boxed::Box;
use alloc::collections::VecDeque;

pub struct MetaCache {
    /// Most recently used first: (device byte offset, block).
    entries: VecDeque<(u64, Box<[u8]>)>,
    capacity: usize,
}

impl MetaCache {
    pub fn new(capacity: usize) -> Self {
        Self { entries: VecDeque::with_capacity(capacity), capacity }
    }

    /// Copies the block at `at` into `buf` if cached (same length).
    pub fn get(&mut self, at: u64, buf: &mut [u8]) -> bool {
        let Some(i) = self.entries.iter().position(|e| e.0 == at && e.1.len() == buf.len()) else { return false };
        let e = self.entries.remove(i).expect("index from position");
        buf.copy_from_slice(&e.1);
        self.entries.push_front(e);
        true
    }

    /// Records `data` as the device's block at `at`.
    pub fn insert(&mut self, at: u64, data: &[u8]) {
        self.invalidate(at, data.len() as u64);
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() == self.capacity {
            self.entries.pop_back();
        }
        self.entries.push_front((at, data.into()));
    }

    /// Drops every cached block overlapping `[at, at + len)`.
    pub fn invalidate(&mut self, at: u64, len: u64) {
        self.entries.retain(|e| e.0 + e.1.len() as u64 <= at || at + len <= e.0);
    }

    /// Bytes the cache may hold at most, for `block_size` blocks.
    pub fn bound(capacity: usize, block_size: usize) -> usize {
        capacity * (block_size + 32) + 64
    }
}
