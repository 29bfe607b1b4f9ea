//! A small write-through cache of metadata blocks (inode tables and
//! allocation bitmaps, never file data) for the block layer under rsext4.
//!
//! rsext4 re-reads the same few blocks on every operation despite its own
//! caches: the inode-table block around an inode each time it writes the
//! inode back (read-modify-write), and the bitmap blocks on allocation. All
//! writes pass through the layer, so the cache stays equal to the device.
//!
//! The blocks live in one buffer allocated on first use and reused: in the
//! guest, every heap block above 2 KiB is its own mapping (map, fault, unmap
//! per allocation), so a cache that allocated per insert cost more than the
//! device reads it saved.

use alloc::vec;
use alloc::vec::Vec;

struct Slot {
    /// Device byte offset of the block held, if any.
    at: Option<u64>,
    /// Last use, for LRU eviction.
    used: u64,
}

pub struct MetaCache {
    block: usize,
    capacity: usize,
    slots: Vec<Slot>,
    /// `capacity` blocks, slot `i` at `i * block`; empty until first insert.
    data: Vec<u8>,
    clock: u64,
}

impl MetaCache {
    pub fn new(capacity: usize, block: usize) -> Self {
        Self { block, capacity, slots: Vec::new(), data: Vec::new(), clock: 0 }
    }

    fn find(&self, at: u64) -> Option<usize> {
        self.slots.iter().position(|s| s.at == Some(at))
    }

    /// Copies the block at `at` into `buf` (one block long) if cached.
    pub fn get(&mut self, at: u64, buf: &mut [u8]) -> bool {
        if buf.len() != self.block {
            return false;
        }
        let Some(i) = self.find(at) else { return false };
        self.clock += 1;
        self.slots[i].used = self.clock;
        buf.copy_from_slice(&self.data[i * self.block..(i + 1) * self.block]);
        true
    }

    /// Records `data` (one block) as the device's block at `at`.
    pub fn insert(&mut self, at: u64, data: &[u8]) {
        if data.len() != self.block || self.capacity == 0 {
            self.invalidate(at, data.len() as u64);
            return;
        }
        if self.data.is_empty() {
            self.data = vec![0; self.capacity * self.block];
            self.slots.reserve_exact(self.capacity);
        }
        let i = match self.find(at).or_else(|| self.slots.iter().position(|s| s.at.is_none())) {
            Some(i) => i,
            None if self.slots.len() < self.capacity => {
                self.slots.push(Slot { at: None, used: 0 });
                self.slots.len() - 1
            }
            None => (0..self.slots.len()).min_by_key(|&i| self.slots[i].used).unwrap_or(0),
        };
        self.clock += 1;
        self.slots[i] = Slot { at: Some(at), used: self.clock };
        self.data[i * self.block..(i + 1) * self.block].copy_from_slice(data);
    }

    /// Forgets every cached block overlapping `[at, at + len)`.
    pub fn invalidate(&mut self, at: u64, len: u64) {
        let block = self.block as u64;
        for s in &mut self.slots {
            if s.at.is_some_and(|b| b < at + len && at < b + block) {
                s.at = None;
            }
        }
    }

    /// Bytes the cache may hold at most.
    pub fn bound(capacity: usize, block: usize) -> usize {
        capacity * (block + core::mem::size_of::<Slot>()) + 64
    }
}
