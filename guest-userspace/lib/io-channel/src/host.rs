//! Host stand-ins for tests: a heap region and a waker that spins.

use crate::layout::{PAGE_SIZE, REGION_SIZE};
use crate::region::Region;
use crate::wake::Waker;
use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A zeroed, page-aligned heap buffer of `REGION_SIZE` bytes.
pub struct HeapRegion {
    ptr: *mut u8,
}

// SAFETY: the buffer is plain memory, only accessed atomically via Region.
unsafe impl Send for HeapRegion {}
// SAFETY: as for Send.
unsafe impl Sync for HeapRegion {}

const LAYOUT: Layout = match Layout::from_size_align(REGION_SIZE, PAGE_SIZE) {
    Ok(l) => l,
    Err(_) => panic!("bad region layout"),
};

impl HeapRegion {
    pub fn new() -> Self {
        // SAFETY: LAYOUT has a non-zero size.
        let ptr = unsafe { alloc_zeroed(LAYOUT) };
        assert!(!ptr.is_null(), "out of memory");
        Self { ptr }
    }

    /// The region view; valid while `self` lives.
    pub fn region(&self) -> Region {
        // SAFETY: REGION_SIZE bytes, page-aligned, alive as long as self, and
        // the tests keep self alive beyond every endpoint built on it.
        unsafe { Region::from_raw(self.ptr, REGION_SIZE) }.expect("heap region is valid")
    }

    /// Overwrites the whole region (fuzzing).
    pub fn fill(&self, bytes: &[u8]) {
        let n = bytes.len().min(REGION_SIZE);
        // SAFETY: n bytes fit in the buffer; no endpoint runs concurrently
        // with this in the tests that use it.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.ptr, n) };
    }
}

impl Default for HeapRegion {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for HeapRegion {
    fn drop(&mut self) {
        // SAFETY: allocated in new() with LAYOUT.
        unsafe { dealloc(self.ptr, LAYOUT) };
    }
}

/// A futex stand-in that polls the word, yielding, and counts wake calls.
#[derive(Default)]
pub struct SpinWaker {
    pub waits: AtomicU64,
    pub wakes: AtomicU64,
}

impl Waker for SpinWaker {
    fn wait(&self, word: &AtomicU32, expected: u32, timeout_ns: u64) {
        self.waits.fetch_add(1, Ordering::Relaxed);
        let deadline = Instant::now() + Duration::from_nanos(timeout_ns.min(10_000_000_000));
        while word.load(Ordering::Acquire) == expected && Instant::now() < deadline {
            std::thread::yield_now();
        }
    }

    fn wake(&self, _word: &AtomicU32) {
        self.wakes.fetch_add(1, Ordering::Relaxed);
    }
}
