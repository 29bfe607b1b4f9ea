//! Free-page reporting on the allocator's state: a batch of free frames that
//! were used and not yet reported is taken out ([`report_take`]), the
//! device tells the host, and the batch comes back ([`report_give`]),
//! discarded frames then kept in their own range list and handed out last.
use super::{locked, word, Allocator, KERNEL_RESERVE_FRAMES};
use crate::arch::x86_64::layout::PAGE_SIZE;
use crate::mm::runs::RunList;
use pv_abi::syscall::device::REPORT_MAX_RUNS;

/// Frames one [`report_take`] pops off the free stack at most (its cost is
/// a read per frame, under the allocator's lock).
const REPORT_POP_BUDGET: u64 = 4096;
/// Frames one batch takes at most (64 MiB): while it is out they are not
/// free, so a program allocating meanwhile must not run short.
const REPORT_BATCH_FRAMES: u64 = 16384;

impl Allocator {
    /// Free frames that were used and not reported: what reporting could
    /// give back to the host.
    pub(super) fn reportable(&self) -> u64 {
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
