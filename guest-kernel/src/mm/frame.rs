//! The physical frame allocator.
//!
//! Built in O(memory-map entries), never O(pages):
//! - free *ranges* carved from the PVH memory map at boot; each range hands
//!   out frames from its low end upwards (`next`) and takes a frame back when
//!   it is freed right below `next`, so LIFO use keeps ranges contiguous;
//! - a LIFO *stack of freed frames*, linked through the frames themselves
//!   (via the direct map), so it needs no memory of its own;
//! - a 256-bit bitmap for the pages below 1 MiB, which the general allocator
//!   does not hand out while CPUs are being started (see
//!   [`reserve_low_page`]); then [`retire_low_pool`] makes its free pages
//!   ranges of their own;
//! - frames the host has discarded (free-page reporting, [`report_take`]):
//!   they read as zeros and a write faults a host page back in, so they are
//!   kept in a range list of their own (not linked through themselves) and
//!   handed out last.
//!
//! Each range remembers how high it was ever handed out (`high`): frames
//! above that were never touched, so the host holds no page for them and
//! they are never reported.
//!
//! Freeing a frame that was not handed out (or twice) is a kernel bug and
//! panics with the address.
use super::phys;
use super::runs::RunList;
use crate::arch::x86_64::layout::{align_down, align_up, PAGE_SIZE};
use crate::sync::SpinLock;
use pv_abi::syscall::device::REPORT_MAX_RUNS;
use x86_64::instructions::interrupts::without_interrupts;
use x86_64::structures::paging::Size4KiB;
use x86_64::PhysAddr;

/// A 4 KiB physical frame.
pub type PhysFrame = x86_64::structures::paging::PhysFrame<Size4KiB>;

/// Free ranges the allocator keeps: every RAM entry of the memory map plus
/// one split per reserved range, with room to spare.
pub const MAX_RANGES: usize = 160;
/// Pages below 1 MiB.
const LOW_PAGES: usize = 256;
pub const LOW_LIMIT: u64 = (LOW_PAGES as u64) * PAGE_SIZE;
/// Written into the second word of a frame on the free stack, to catch
/// double frees without walking the stack on every free.
const FREE_MAGIC: u64 = 0x4652_4545_4652_4d21; // "!MRFEERF"

#[derive(Clone, Copy, Default)]
struct Range {
    base: u64,
    /// Frames `[base, next)` are handed out (or on the free stack);
    /// `[next, end)` are free.
    next: u64,
    /// Highest `next` ever: `[next, high)` are free frames that were used.
    high: u64,
    end: u64,
}

struct Allocator {
    ranges: [Range; MAX_RANGES],
    len: usize,
    /// No range below this index has free frames.
    first: usize,
    /// Head of the freed-frame stack (physical address; 0 = empty: page 0 is
    /// never managed).
    stack: u64,
    free_frames: u64,
    managed_frames: u64,
    /// Bit set = that page below 1 MiB is free RAM.
    low: [u64; LOW_PAGES / 64],
    /// Bit set = that page below 1 MiB belongs to the low pool at all.
    low_pool: [u64; LOW_PAGES / 64],
    low_free: u64,
    /// Frames on the free stack.
    stack_len: u64,
    /// Free frames the host has discarded (counted in `free_frames`).
    reported: RunList<REPORTED_RUNS>,
    /// Frames taken for reporting and not yet given back (not counted in
    /// `free_frames`), and which device session took them.
    batch: RunList<{ REPORT_MAX_RUNS as usize }>,
    batch_owner: u64,
}

/// Entries of the reported list: fragmentation beyond it only means less
/// is reported.
const REPORTED_RUNS: usize = 1024;
/// Frames one [`report_take`] pops off the free stack at most (its cost is
/// a read per frame, under the allocator's lock).
const REPORT_POP_BUDGET: u64 = 4096;
/// Frames one batch takes at most (64 MiB): while it is out they are not
/// free, so a program allocating meanwhile must not run short.
const REPORT_BATCH_FRAMES: u64 = 16384;

static ALLOCATOR: SpinLock<Allocator> = SpinLock::new(Allocator {
    ranges: [Range { base: 0, next: 0, high: 0, end: 0 }; MAX_RANGES],
    len: 0,
    first: 0,
    stack: 0,
    free_frames: 0,
    managed_frames: 0,
    low: [0; LOW_PAGES / 64],
    low_pool: [0; LOW_PAGES / 64],
    low_free: 0,
    stack_len: 0,
    reported: RunList::new(),
    batch: RunList::new(),
    batch_owner: 0,
});

fn locked<R>(f: impl FnOnce(&mut Allocator) -> R) -> R {
    without_interrupts(|| f(&mut ALLOCATOR.lock()))
}

fn frame_at(paddr: u64) -> PhysFrame {
    // Managed frames are page-aligned and below the direct-map limit, so
    // the address is always valid.
    PhysFrame::containing_address(PhysAddr::new_truncate(paddr))
}

fn word(paddr: u64, index: u64) -> *mut u64 {
    (phys::to_virt(paddr) + index * 8) as *mut u64
}

impl Allocator {
    fn add_range(&mut self, start: u64, end: u64) -> bool {
        let (start, end) = (align_up(start, PAGE_SIZE), align_down(end, PAGE_SIZE));
        if start >= end {
            return true;
        }
        if self.len == MAX_RANGES {
            return false;
        }
        // Ranges arrive sorted and disjoint; keep them so (binary search).
        if let Some(last) = self.ranges[..self.len].last() {
            if start < last.end {
                return false;
            }
        }
        self.ranges[self.len] = Range { base: start, next: start, high: start, end };
        self.len += 1;
        let n = (end - start) / PAGE_SIZE;
        self.free_frames += n;
        self.managed_frames += n;
        true
    }

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

    fn alloc(&mut self) -> Option<u64> {
        if self.stack != 0 {
            let f = self.stack;
            // `f` is a free frame on the stack, inside the direct map (managed
            // frames are below its limit); its first word holds the next link
            // and its second the magic.
            // SAFETY: a free frame in the direct map that nobody else touches.
            unsafe {
                self.stack = word(f, 0).read();
                word(f, 1).write(0);
            }
            self.free_frames -= 1;
            self.stack_len -= 1;
            return Some(f);
        }
        while self.first < self.len {
            let r = &mut self.ranges[self.first];
            if r.next < r.end {
                let f = r.next;
                r.next += PAGE_SIZE;
                r.high = r.high.max(r.next);
                self.free_frames -= 1;
                return Some(f);
            }
            self.first += 1;
        }
        let f = self.reported.pop_frame()?;
        self.free_frames -= 1;
        Some(f)
    }

    fn alloc_contiguous(&mut self, n: u64, align: u64) -> Option<u64> {
        let bytes = n.checked_mul(PAGE_SIZE)?;
        for i in self.first..self.len {
            let r = self.ranges[i];
            let start = align_up(r.next, align);
            if start.checked_add(bytes).is_some_and(|e| e <= r.end) {
                // The pages skipped for alignment go to the free stack.
                let mut p = r.next;
                self.ranges[i].next = start + bytes;
                self.ranges[i].high = r.high.max(start + bytes);
                self.free_frames -= (start + bytes - r.next) / PAGE_SIZE;
                while p < start {
                    self.push(p);
                    p += PAGE_SIZE;
                }
                return Some(start);
            }
        }
        let start = self.reported.carve(bytes, align)?;
        self.free_frames -= n;
        Some(start)
    }

    /// Index of the range containing `paddr`.
    fn range_of(&self, paddr: u64) -> Option<usize> {
        let ranges = &self.ranges[..self.len];
        let i = ranges.partition_point(|r| r.end <= paddr);
        (i < self.len && ranges[i].base <= paddr).then_some(i)
    }

    fn push(&mut self, f: u64) {
        // `f` is a handed-out frame being returned (checked by the caller).
        // SAFETY: `f` is in the direct map and from now on the allocator's alone.
        unsafe {
            word(f, 0).write(self.stack);
            word(f, 1).write(FREE_MAGIC);
        }
        self.stack = f;
        self.free_frames += 1;
        self.stack_len += 1;
    }

    fn on_stack(&self, f: u64) -> bool {
        let mut p = self.stack;
        while p != 0 {
            if p == f {
                return true;
            }
            // Every element of the stack is a free frame in the direct map.
            // SAFETY: `p` is such a frame; its first word is the next link.
            p = unsafe { word(p, 0).read() };
        }
        false
    }

    fn free(&mut self, f: u64) {
        let Some(i) = self.range_of(f) else {
            panic!("frame::free({f:#x}): not a managed frame");
        };
        let r = self.ranges[i];
        if f >= r.next || self.reported.contains(f) || self.batch.contains(f) {
            panic!("frame::free({f:#x}): frame is free (double free)");
        }
        // SAFETY: `f` is inside a managed range, so inside the direct map.
        if unsafe { word(f, 1).read() } == FREE_MAGIC && self.on_stack(f) {
            panic!("frame::free({f:#x}): frame is free (double free)");
        }
        self.release(i, f);
    }

    /// Makes `f`, a frame of range `i` that is not free, free again.
    fn release(&mut self, i: usize, f: u64) {
        if f + PAGE_SIZE == self.ranges[i].next {
            self.ranges[i].next = f;
            self.first = self.first.min(i);
            self.free_frames += 1;
        } else {
            self.push(f);
        }
    }

    /// Free frames that were used and not reported: what reporting could
    /// give back to the host.
    fn reportable(&self) -> u64 {
        let tails: u64 = self.ranges[..self.len].iter().map(|r| r.high.saturating_sub(r.next) / PAGE_SIZE).sum();
        tails + self.stack_len
    }

    fn report_take(&mut self, owner: u64, max_runs: usize, min_frames: u64) -> Result<(), ReportError> {
        if !self.batch.is_empty() {
            return Err(ReportError::Busy);
        }
        // Every run of the batch may need an entry of its own in `reported`.
        let max_runs = max_runs.min(self.batch.room()).min(self.reported.room());
        // Taken frames are not free while the batch is out: take at most
        // half of what is free above twice the kernel's reserve.
        let mut budget = (self.free_frames.saturating_sub(2 * KERNEL_RESERVE_FRAMES) / 2).min(REPORT_BATCH_FRAMES);
        if max_runs == 0 || self.reportable() < min_frames.max(1) || budget == 0 {
            return Ok(());
        }
        // Whole used tails of ranges first: one run each, no frame read.
        for i in 0..self.len {
            let r = self.ranges[i];
            let n = (r.high.saturating_sub(r.next) / PAGE_SIZE).min(budget);
            if n == 0 || !self.batch_has_room_for(None, max_runs) {
                continue;
            }
            self.ranges[i].next += n * PAGE_SIZE;
            self.batch.insert(r.next, r.next + n * PAGE_SIZE);
            budget -= n;
        }
        // Then the free stack, coalescing neighbours as they come off it
        // (a process's pages come back in address order, so they mostly do).
        let mut run: Option<(u64, u64)> = None;
        let mut popped = 0;
        while self.stack != 0 && popped < REPORT_POP_BUDGET.min(budget) {
            let f = self.stack;
            let joined = match run {
                Some((s, e)) if f + PAGE_SIZE == s => Some((f, e)),
                Some((s, e)) if f == e => Some((s, e + PAGE_SIZE)),
                _ => None,
            };
            if joined.is_none() && !self.batch_has_room_for(run, max_runs) {
                break;
            }
            // SAFETY: `f` heads the free stack: its first word is the next link.
            self.stack = unsafe { word(f, 0).read() };
            self.stack_len -= 1;
            popped += 1;
            run = match (joined, run) {
                (Some(j), _) => Some(j),
                (None, Some((s, e))) => {
                    self.batch.insert(s, e);
                    Some((f, f + PAGE_SIZE))
                }
                (None, None) => Some((f, f + PAGE_SIZE)),
            };
        }
        if let Some((s, e)) = run {
            self.batch.insert(s, e);
        }
        let taken = self.batch.frames();
        self.free_frames -= taken;
        self.batch_owner = if taken == 0 { 0 } else { owner };
        Ok(())
    }

    /// Whether flushing `run` and starting another keeps the batch within
    /// `max_runs` entries.
    fn batch_has_room_for(&self, run: Option<(u64, u64)>, max_runs: usize) -> bool {
        let used = REPORT_MAX_RUNS as usize - self.batch.room();
        used + usize::from(run.is_some()) < max_runs
    }

    fn report_give(&mut self, owner: u64, reported: bool) -> Result<u64, ReportError> {
        if self.batch.is_empty() {
            return Err(ReportError::NoBatch);
        }
        if owner != self.batch_owner {
            return Err(ReportError::NotOwner);
        }
        let n = self.batch.frames();
        let mut batch = core::mem::replace(&mut self.batch, RunList::new());
        for (s, e) in batch.take_all() {
            if reported && self.reported.insert(s, e) {
                self.free_frames += (e - s) / PAGE_SIZE;
                continue;
            }
            // Not discarded (or no room to remember that it was): free
            // frames as any other, highest first so tails grow back.
            let mut f = e;
            while f > s {
                f -= PAGE_SIZE;
                if let Some(i) = self.range_of(f) {
                    self.release(i, f);
                }
            }
        }
        self.batch_owner = 0;
        Ok(n)
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

/// Adds a free range of RAM (boot only; sorted, disjoint, above 1 MiB and
/// inside the direct map). False if the range table is full or out of order.
pub(super) fn add_range(start: u64, end: u64) -> bool {
    locked(|a| a.add_range(start, end))
}

/// Marks RAM pages below 1 MiB as available to [`reserve_low_page`] (boot only).
pub(super) fn add_low_range(start: u64, end: u64) {
    locked(|a| a.add_low(start, end, true))
}

/// Allocates one frame. Its contents are whatever was there.
pub fn alloc() -> Option<PhysFrame> {
    locked(|a| a.alloc()).map(frame_at)
}

/// Frames that memory allocated on behalf of user space (its pages and its
/// page tables) may never take: the kernel keeps them, so a process that
/// exhausts memory is killed while the kernel carries on.
pub const KERNEL_RESERVE_FRAMES: u64 = 1024;

/// Allocates one frame for user space, unless only the kernel's reserve is
/// left. Its contents are whatever was there.
pub fn alloc_for_user() -> Option<PhysFrame> {
    locked(|a| if a.free_frames > KERNEL_RESERVE_FRAMES { a.alloc() } else { None }).map(frame_at)
}

/// Allocates one frame filled with zeroes.
pub fn alloc_zeroed() -> Option<PhysFrame> {
    let f = alloc()?;
    zero(f);
    Some(f)
}

/// Fills a frame with zeroes through the direct map.
pub fn zero(f: PhysFrame) {
    // SAFETY: the caller owns `f` (just allocated); it lies in the direct map.
    unsafe { core::ptr::write_bytes(phys::to_virt(f.start_address().as_u64()) as *mut u8, 0, 4096) }
}

/// Returns a frame obtained from [`alloc`] (or one page of [`alloc_contiguous`]).
/// Panics on a frame the allocator did not hand out: that is a kernel bug.
pub fn free(f: PhysFrame) {
    locked(|a| a.free(f.start_address().as_u64()))
}

/// Allocates `n` physically contiguous frames; returns the first.
pub fn alloc_contiguous(n: usize) -> Option<PhysFrame> {
    alloc_contiguous_aligned(n, PAGE_SIZE)
}

/// Allocates `n` contiguous frames starting at a multiple of `align` bytes
/// (a power of two).
pub fn alloc_contiguous_aligned(n: usize, align: u64) -> Option<PhysFrame> {
    if n == 0 || !align.is_power_of_two() {
        return None;
    }
    if n == 1 && align <= PAGE_SIZE {
        return alloc();
    }
    locked(|a| a.alloc_contiguous(n as u64, align.max(PAGE_SIZE))).map(frame_at)
}

/// Frees `n` frames from [`alloc_contiguous`] (highest first, so they rejoin
/// their range when nothing was allocated after them).
pub fn free_contiguous(first: PhysFrame, n: usize) {
    let base = first.start_address().as_u64();
    locked(|a| {
        for i in (0..n as u64).rev() {
            a.free(base + i * PAGE_SIZE);
        }
    })
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

/// Why [`report_take`] or [`report_give`] refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportError {
    /// A batch is out and not given back yet.
    Busy,
    /// No batch is out.
    NoBatch,
    /// The batch out belongs to another device session.
    NotOwner,
}

/// Free-page reporting, step 1: takes free frames that were used and not
/// yet reported out of the allocator (their contents untouched), as at most
/// `max_runs` runs, only if at least `min_frames` such frames are free, and
/// pushes the runs `(start, end)` to `out` (whose capacity must hold
/// `max_runs`: nothing allocates under the allocator's lock). `owner` names
/// the device session: only it gives the batch back.
pub fn report_take(
    owner: u64,
    max_runs: usize,
    min_frames: u64,
    out: &mut alloc::vec::Vec<(u64, u64)>,
) -> Result<(), ReportError> {
    locked(|a| {
        a.report_take(owner, max_runs.min(out.capacity()), min_frames)?;
        out.extend(a.batch.runs().iter().copied());
        Ok(())
    })
}

/// Step 2: gives the batch back, `reported` if the host discarded it (then
/// its frames are kept off the free stack and handed out last); returns its
/// frames.
pub fn report_give(owner: u64, reported: bool) -> Result<u64, ReportError> {
    locked(|a| a.report_give(owner, reported))
}

/// Gives back `owner`'s batch, if it has one, as not reported (its device
/// session ended; the device was reset first).
pub fn report_abandon(owner: u64) {
    locked(|a| {
        if !a.batch.is_empty() && a.batch_owner == owner {
            let _ = a.report_give(owner, false);
        }
    })
}

/// Counters of the allocator.
#[derive(Clone, Copy, Debug, Default)]
pub struct FrameCounts {
    /// Frames the general allocator manages (RAM above 1 MiB, not reserved;
    /// the low pool's too once it is retired).
    pub managed: u64,
    pub free: u64,
    /// Free pages below 1 MiB.
    pub low_free: u64,
    /// Highest managed frame's end address.
    pub top: u64,
    /// Of `free`, frames the host has discarded (free-page reporting).
    pub reported: u64,
    /// Free frames that were used and not reported.
    pub reportable: u64,
}

pub fn counts() -> FrameCounts {
    locked(|a| FrameCounts {
        managed: a.managed_frames,
        free: a.free_frames,
        low_free: a.low_free,
        top: a.len.checked_sub(1).map_or(0, |i| a.ranges[i].end),
        reported: a.reported.frames(),
        reportable: a.reportable(),
    })
}
