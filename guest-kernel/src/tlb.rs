//! Cross-CPU TLB shootdown for user address spaces.
//!
//! Frames a process unmaps (its pages and the page tables `Unmap` empties)
//! are freed only after every other CPU that runs the same address space has
//! flushed its TLB, so no stale translation or paging-structure cache entry
//! can reach a reused frame. An address space records the CPUs it is live on
//! ([`CpuSet`]): a CPU joins before it loads the process's CR3 and leaves
//! after it has loaded the kernel's, and a CR3 load flushes every non-global
//! entry, so only members need an IPI, and an idle CPU never gets one.
//!
//! The initiator waits for acknowledgements with interrupts enabled and no
//! lock held: a target may be shooting down at the initiator at that very
//! moment, and both must answer each other's IPI.
use crate::arch::x86_64::trap::vector;
use crate::percpu::{self, MAX_CPUS};
use core::sync::atomic::{fence, AtomicU64, Ordering};
use x86_64::instructions::{interrupts, tlb};

const _: () = assert!(MAX_CPUS <= 64, "CpuSet is one u64");

/// The CPUs on which an address space is loaded (bit i: CPU index i).
pub struct CpuSet(AtomicU64);

impl CpuSet {
    pub const fn new() -> Self {
        Self(AtomicU64::new(0))
    }

    /// The calling CPU is about to load the address space. SeqCst pairs
    /// with the fence in [`shootdown`]: either the initiator sees this CPU,
    /// or this CPU's later CR3 load sees the initiator's page-table writes.
    pub fn join_current(&self) {
        self.0.fetch_or(1 << percpu::current().index, Ordering::SeqCst);
    }

    /// The calling CPU has switched to another CR3.
    pub fn leave_current(&self) {
        self.0.fetch_and(!(1 << percpu::current().index), Ordering::Release);
    }

    pub fn is_empty(&self) -> bool {
        self.0.load(Ordering::Acquire) == 0
    }
}

/// Spins between looks for a preempted target to yield to.
const YIELD_EVERY: u32 = 64;

/// Targets that needed no IPI because the host flushes them on entry.
static SKIPPED: AtomicU64 = AtomicU64::new(0);

/// Shootdown targets skipped since boot (PV TLB flush).
pub fn skipped_preempted() -> u64 {
    SKIPPED.load(Ordering::Relaxed)
}

/// Makes every CPU in `set` drop the address space's cached translations,
/// and returns once they all have (the calling CPU flushes itself). Call
/// after the page tables were changed and with no spinlock held.
pub fn shootdown(set: &CpuSet) {
    fence(Ordering::SeqCst);
    let me = percpu::index();
    let members = set.0.load(Ordering::SeqCst);
    if members & (1 << me) != 0 {
        tlb::flush_all();
    }
    // A preempted vCPU need not be interrupted: the host flushes its TLB
    // before it runs again (PV TLB flush), so it counts as done now.
    let others = members & !(1 << me);
    let targets = cpus(others).filter(|&i| !crate::pv::flush_tlb_on_entry(i)).fold(0, |m, i| m | 1 << i);
    if targets != others {
        SKIPPED.fetch_add(u64::from((others & !targets).count_ones()), Ordering::Relaxed);
    }
    if targets == 0 {
        return;
    }
    let mut seen = [0u64; MAX_CPUS];
    for i in cpus(targets) {
        if let Some(c) = percpu::get(i) {
            seen[i] = c.tlb_acks.load(Ordering::Acquire);
        }
    }
    crate::pv::send_ipi_many(targets, vector::IPI_TLB_FLUSH);
    let was_enabled = interrupts::are_enabled();
    interrupts::enable();
    let mut spins = 0u32;
    loop {
        let still_live = set.0.load(Ordering::Acquire);
        // A CPU is done once it acknowledged, or once it left the set (its
        // CR3 load flushed it; if it joined again, it did so with a flush).
        let pending = cpus(targets).any(|i| {
            still_live & (1 << i) != 0 && percpu::get(i).is_some_and(|c| c.tlb_acks.load(Ordering::Acquire) == seen[i])
        });
        if !pending {
            break;
        }
        spins = spins.wrapping_add(1);
        // A target the host preempted after the IPI answers only once it
        // runs: give it our time (PV yield) rather than spin against it.
        if spins.is_multiple_of(YIELD_EVERY) {
            let waiting = |&i: &usize| percpu::get(i).is_some_and(|c| c.tlb_acks.load(Ordering::Acquire) == seen[i]);
            if let Some(i) = cpus(targets).find(waiting) {
                crate::pv::yield_if_preempted(i);
            }
        }
        core::hint::spin_loop();
    }
    if !was_enabled {
        interrupts::disable();
    }
}

/// The flush IPI: drop this CPU's user translations and say so.
pub fn on_flush_ipi() {
    tlb::flush_all();
    percpu::current().tlb_acks.fetch_add(1, Ordering::Release);
}

fn cpus(mask: u64) -> impl Iterator<Item = usize> {
    (0..MAX_CPUS).filter(move |i| mask & (1 << i) != 0)
}
