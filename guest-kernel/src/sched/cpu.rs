//! Each CPU's scheduler state ([`CpuSched`]: run queue, sleepers, the
//! running thread, timer and idle bookkeeping), owned by the scheduler
//! rather than by `percpu` (which sits below it), and its counters.
use super::thread::Thread;
use crate::percpu;
use crate::sync::SpinLock;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// `armed` when the local timer is not programmed.
pub(super) const NOT_ARMED: u64 = u64::MAX;

pub(super) struct CpuSched {
    pub(super) queue: SpinLock<VecDeque<Arc<Thread>>>,
    /// Sleeping threads by deadline (ns), earliest first.
    pub(super) sleepers: SpinLock<Vec<(u64, Arc<Thread>)>>,
    pub(super) current: UnsafeCell<Option<Arc<Thread>>>,
    /// The scheduler loop's saved stack pointer.
    pub(super) loop_rsp: UnsafeCell<u64>,
    pub(super) idle: AtomicBool,
    /// The deadline the local timer is programmed for (`NOT_ARMED`: none),
    /// so returning to user mode reprograms it (an MSR write, a VM exit on
    /// KVM) only when the wanted deadline changes.
    pub(super) armed: AtomicU64,
    /// When the running user thread's time slice ends; set as it gets the
    /// CPU and moved later by the time the host steals meanwhile.
    pub(super) slice_end: AtomicU64,
    /// When the running user thread got the CPU, and this vCPU's steal-time
    /// counter then: the slice is charged only for time not stolen.
    pub(super) slice_start: AtomicU64,
    pub(super) slice_steal: AtomicU64,
    /// Context switches into threads on this CPU.
    pub(super) switches: AtomicU64,
    /// Times this CPU woke from `hlt`.
    pub(super) wakeups: AtomicU64,
    /// Nanoseconds this CPU spent idle: halted, or halt polling (what
    /// benchmarks subtract: under QEMU `-icount` a halted guest's clock
    /// still advances; polling happens only on KVM).
    pub(super) idle_ns: AtomicU64,
    /// Set (before any IPI) by whoever gives an idle CPU work: a queued
    /// thread, a timer interrupt. A polling CPU watches it instead of the
    /// locked queue, so wakers need no IPI while it polls.
    pub(super) wake_hint: AtomicBool,
    /// The CPU is past polling, on its way into `hlt`: wakers must send an
    /// IPI. (`idle` covers polling too.)
    pub(super) halting: AtomicBool,
    /// Halt polling: the current window, ns spent polling, idle periods
    /// polling ended.
    pub(super) poll_window: AtomicU64,
    pub(super) poll_ns: AtomicU64,
    pub(super) poll_hits: AtomicU64,
}

// Every other field is atomic or locked.
// SAFETY: `current` and `loop_rsp` are only touched by their own CPU, with interrupts off.
unsafe impl Sync for CpuSched {}

impl CpuSched {
    pub(super) const fn new() -> Self {
        Self {
            queue: SpinLock::new(VecDeque::new()),
            sleepers: SpinLock::new(Vec::new()),
            current: UnsafeCell::new(None),
            loop_rsp: UnsafeCell::new(0),
            idle: AtomicBool::new(false),
            armed: AtomicU64::new(NOT_ARMED),
            slice_end: AtomicU64::new(0),
            slice_start: AtomicU64::new(0),
            slice_steal: AtomicU64::new(0),
            switches: AtomicU64::new(0),
            wakeups: AtomicU64::new(0),
            idle_ns: AtomicU64::new(0),
            wake_hint: AtomicBool::new(false),
            halting: AtomicBool::new(false),
            poll_window: AtomicU64::new(0),
            poll_ns: AtomicU64::new(0),
            poll_hits: AtomicU64::new(0),
        }
    }
}

/// Each CPU's scheduler state, owned here rather than in `percpu` (which
/// sits below the scheduler), indexed by CPU index.
static CPUS: [CpuSched; percpu::MAX_CPUS] = [const { CpuSched::new() }; percpu::MAX_CPUS];

pub(super) fn here() -> &'static CpuSched {
    &CPUS[percpu::current().index]
}

pub(super) fn of(cpu: &percpu::PerCpu) -> &'static CpuSched {
    &CPUS[cpu.index]
}

/// Nanoseconds all CPUs have spent idle (halted or halt polling) since boot.
pub fn idle_ns() -> u64 {
    CPUS.iter().map(|c| c.idle_ns.load(Ordering::Relaxed)).sum()
}

/// One CPU's counters (`None`: not online).
pub fn cpu_stats(cpu: usize) -> Option<pv_abi::syscall::CpuStats> {
    percpu::get(cpu)?;
    let s = &CPUS[cpu];
    Some(pv_abi::syscall::CpuStats {
        idle_ns: s.idle_ns.load(Ordering::Relaxed),
        steal_ns: crate::pv::steal_ns(cpu),
        poll_ns: s.poll_ns.load(Ordering::Relaxed),
        poll_hits: s.poll_hits.load(Ordering::Relaxed),
        halts: s.wakeups.load(Ordering::Relaxed),
        poll_window_ns: s.poll_window.load(Ordering::Relaxed),
        switches: s.switches.load(Ordering::Relaxed),
    })
}
