//! A sorted list of disjoint physical ranges `[start, end)` of fixed
//! capacity, merged with their neighbours on insert: where the frame
//! allocator keeps frames the host has discarded (free-page reporting),
//! which may not be linked through their own memory, and the batch being
//! reported. No heap: the allocator's lock is held while it changes, and
//! the heap itself takes frames from the allocator.
use crate::arch::x86_64::layout::{align_up, PAGE_SIZE};

pub struct RunList<const N: usize> {
    runs: [(u64, u64); N],
    len: usize,
    frames: u64,
}

impl<const N: usize> RunList<N> {
    pub const fn new() -> Self {
        Self { runs: [(0, 0); N], len: 0, frames: 0 }
    }

    pub fn runs(&self) -> &[(u64, u64)] {
        &self.runs[..self.len]
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Entries still free (an insert that merges needs none).
    pub fn room(&self) -> usize {
        N - self.len
    }

    /// Frames in the list.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Index of the first run ending after `addr`.
    fn index_after(&self, addr: u64) -> usize {
        self.runs().partition_point(|r| r.1 <= addr)
    }

    pub fn contains(&self, addr: u64) -> bool {
        let i = self.index_after(addr);
        i < self.len && self.runs[i].0 <= addr
    }

    /// Adds `[start, end)`, which must not overlap the list. False (nothing
    /// changed) when it merges with no neighbour and the list is full.
    pub fn insert(&mut self, start: u64, end: u64) -> bool {
        let i = self.index_after(start);
        let joins_prev = i > 0 && self.runs[i - 1].1 == start;
        let joins_next = i < self.len && self.runs[i].0 == end;
        match (joins_prev, joins_next) {
            (true, true) => {
                self.runs[i - 1].1 = self.runs[i].1;
                self.runs.copy_within(i + 1..self.len, i);
                self.len -= 1;
            }
            (true, false) => self.runs[i - 1].1 = end,
            (false, true) => self.runs[i].0 = start,
            (false, false) => {
                if self.len == N {
                    return false;
                }
                self.runs.copy_within(i..self.len, i + 1);
                self.runs[i] = (start, end);
                self.len += 1;
            }
        }
        self.frames += (end - start) / PAGE_SIZE;
        true
    }

    /// Takes one frame: the highest, so no entry is ever split.
    pub fn pop_frame(&mut self) -> Option<u64> {
        let last = self.len.checked_sub(1)?;
        let r = &mut self.runs[last];
        r.1 -= PAGE_SIZE;
        let f = r.1;
        if r.0 == r.1 {
            self.len -= 1;
        }
        self.frames -= 1;
        Some(f)
    }

    /// Takes `bytes` starting at a multiple of `align` out of one run, if
    /// one has them (and, when that splits the run, the list has room).
    pub fn carve(&mut self, bytes: u64, align: u64) -> Option<u64> {
        let i = (0..self.len).find(|&i| {
            let (s, e) = self.runs[i];
            let at = align_up(s, align);
            let fits = at.checked_add(bytes).is_some_and(|x| x <= e);
            fits && (self.len < N || at == s || at + bytes == e)
        })?;
        let (s, e) = self.runs[i];
        let at = align_up(s, align);
        match (at == s, at + bytes == e) {
            (true, true) => {
                self.runs.copy_within(i + 1..self.len, i);
                self.len -= 1;
            }
            (true, false) => self.runs[i].0 = at + bytes,
            (false, true) => self.runs[i].1 = at,
            (false, false) => {
                self.runs.copy_within(i + 1..self.len, i + 2);
                self.runs[i].1 = at;
                self.runs[i + 1] = (at + bytes, e);
                self.len += 1;
            }
        }
        self.frames -= bytes / PAGE_SIZE;
        Some(at)
    }

    /// Empties the list, returning what it held.
    pub fn take_all(&mut self) -> impl Iterator<Item = (u64, u64)> + '_ {
        let n = core::mem::take(&mut self.len);
        self.frames = 0;
        self.runs[..n].iter().copied()
    }
}
