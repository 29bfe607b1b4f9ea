//! The low pool: the free RAM pages below 1 MiB, kept out of the general
//! allocator while CPUs are being started (the SMP trampoline's start-up
//! vector must point below 1 MiB), then handed to it as ranges of their own
//! ([`retire_low_pool`]).
use super::{locked, Allocator, Range, LOW_LIMIT, LOW_PAGES, MAX_RANGES};
use crate::arch::x86_64::layout::{align_down, align_up, PAGE_SIZE};

impl Allocator {
    /// Marks the low pages of `[start, end)` free; at boot (`grow`) they join
    /// the pool, later only pages of the pool are taken back.
    fn add_low(&mut self, start: u64, end: u64, grow: bool) {
        let first = align_up(start, PAGE_SIZE).max(PAGE_SIZE) / PAGE_SIZE;
        let last = align_down(end, PAGE_SIZE).min(LOW_LIMIT) / PAGE_SIZE;
        // A word of the bitmap at a time.
        for (w, bits) in self.low.iter_mut().enumerate() {
            let (lo, hi) = (first.max(w as u64 * 64), last.min(w as u64 * 64 + 64));
            if lo >= hi {
                continue;
            }
            let n = hi - lo;
            let mut mask = if n == 64 { u64::MAX } else { ((1u64 << n) - 1) << (lo % 64) };
            if grow {
                self.low_pool[w] |= mask;
            }
            mask &= self.low_pool[w];
            self.low_free += u64::from((mask & !*bits).count_ones());
            *bits |= mask;
        }
    }

    /// Moves the low pool's free pages into ranges at the front of the
    /// table (they all lie below every other range), as many runs as the
    /// table has room for; returns the pages moved.
    fn retire_low(&mut self) -> u64 {
        let mut moved = 0;
        let mut page = 0;
        // A word of the bitmap at a time (this runs on the way to init's
        // first instruction).
        while page < LOW_PAGES && self.len < MAX_RANGES {
            let bits = self.low[page / 64] >> (page % 64);
            if bits == 0 {
                page = (page / 64 + 1) * 64;
                continue;
            }
            page += bits.trailing_zeros() as usize;
            let start = page;
            loop {
                let ones = (self.low[page / 64] >> (page % 64)).trailing_ones() as usize;
                page += ones.min(64 - page % 64);
                if page >= LOW_PAGES || !page.is_multiple_of(64) {
                    break;
                }
            }
            // Ranges stay sorted: this run lies above the ones moved before
            // it and below every range of RAM above 1 MiB.
            let (base, end) = (start as u64 * PAGE_SIZE, page as u64 * PAGE_SIZE);
            let at = self.ranges[..self.len].partition_point(|r| r.end <= base);
            self.ranges.copy_within(at..self.len, at + 1);
            self.ranges[at] = Range { base, next: base, high: base, end };
            self.len += 1;
            let mut p = start;
            while p < page {
                let n = (page - p).min(64 - p % 64);
                let mask = if n == 64 { u64::MAX } else { ((1u64 << n) - 1) << (p % 64) };
                self.low[p / 64] &= !mask;
                self.low_pool[p / 64] &= !mask;
                p += n;
            }
            let n = (page - start) as u64;
            self.low_free -= n;
            self.free_frames += n;
            self.managed_frames += n;
            moved += n;
        }
        self.first = 0;
        moved
    }

    fn reserve_low(&mut self) -> Option<u64> {
        for (w, bits) in self.low.iter_mut().enumerate() {
            if *bits != 0 {
                let b = bits.trailing_zeros() as u64;
                *bits &= !(1 << b);
                self.low_free -= 1;
                return Some((w as u64 * 64 + b) * PAGE_SIZE);
            }
        }
        None
    }
}

/// Marks RAM pages below 1 MiB as available to [`reserve_low_page`] (boot only).
pub(crate) fn add_low_range(start: u64, end: u64) {
    locked(|a| a.add_low(start, end, true))
}

/// A free RAM page below 1 MiB (for the SMP trampoline, whose SIPI vector
/// must point below 1 MiB), taken out of the low pool. Never page 0, never a
/// boot structure.
pub fn reserve_low_page() -> Option<u64> {
    locked(|a| a.reserve_low())
}

/// Once every CPU is started nothing needs memory below 1 MiB any more
/// (only the SMP trampoline's start-up vector must point there): the low
/// pool's free pages become ordinary frames for the rest of the VM's life
/// (628 KiB on QEMU, which would otherwise sit free but unusable). Returns
/// the pages moved; [`reserve_low_page`] finds none afterwards.
pub fn retire_low_pool() -> u64 {
    locked(|a| a.retire_low())
}

/// Returns a page obtained from [`reserve_low_page`] (other addresses are
/// ignored).
pub fn release_low_page(paddr: u64) {
    locked(|a| a.add_low(paddr, paddr + PAGE_SIZE, false))
}
