//! The kernel scheduler: per-CPU run queues, round robin, kernel threads
//! that run until they yield, park, sleep or return. The kernel itself is
//! not preemptible and runs with interrupts off; a CPU takes interrupts only
//! when idle (`sti; hlt`), which is also how cross-CPU wake-up IPIs and timer
//! deadlines reach it. An idle CPU with no sleeper has no timer armed.
//!
//! Issue 4 adds preemptive user threads on top: their time slice is the
//! timer deadline armed before returning to user mode.
mod context;
pub mod selftests;
mod thread;

pub use thread::{State, Thread};

use crate::arch::x86_64::{apic, trap::vector};
use crate::percpu;
use crate::sync::SpinLock;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Kernel thread stack size (pages); a guard page sits below each.
const THREAD_STACK_PAGES: usize = 4;

pub struct CpuSched {
    queue: SpinLock<VecDeque<Arc<Thread>>>,
    /// Sleeping threads by deadline (ns), earliest first.
    sleepers: SpinLock<Vec<(u64, Arc<Thread>)>>,
    current: UnsafeCell<Option<Arc<Thread>>>,
    /// The scheduler loop's saved stack pointer.
    loop_rsp: UnsafeCell<u64>,
    idle: AtomicBool,
    /// Context switches into threads on this CPU.
    pub switches: AtomicU64,
    /// Times this CPU woke from `hlt`.
    pub wakeups: AtomicU64,
}

impl CpuSched {
    pub const fn new() -> Self {
        Self {
            queue: SpinLock::new(VecDeque::new()),
            sleepers: SpinLock::new(Vec::new()),
            current: UnsafeCell::new(None),
            loop_rsp: UnsafeCell::new(0),
            idle: AtomicBool::new(false),
            switches: AtomicU64::new(0),
            wakeups: AtomicU64::new(0),
        }
    }
}

#[derive(Debug)]
pub enum SpawnError {
    NoSuchCpu(usize),
    NoStack,
}

impl core::fmt::Display for SpawnError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoSuchCpu(c) => write!(f, "cpu {c} is not online"),
            Self::NoStack => write!(f, "out of memory for a thread stack"),
        }
    }
}

fn here() -> &'static CpuSched {
    &percpu::current().sched
}

/// The running thread. Only valid inside a kernel thread.
pub fn current() -> Arc<Thread> {
    // SAFETY: `current` is only touched by this CPU with interrupts off.
    let cur = unsafe { &*here().current.get() };
    cur.clone().expect("sched::current called outside a kernel thread")
}

/// Starts `entry(arg)` as a kernel thread on `cpu`.
pub fn spawn(name: &'static str, cpu: usize, entry: fn(usize), arg: usize) -> Result<Arc<Thread>, SpawnError> {
    let target = percpu::get(cpu).ok_or(SpawnError::NoSuchCpu(cpu))?;
    let stack = crate::mm::stack::alloc_kernel_stack(THREAD_STACK_PAGES).map_err(|_| SpawnError::NoStack)?;
    let t = Arc::new(Thread::new(name, cpu, entry, arg, stack));
    enqueue(target, t.clone());
    Ok(t)
}

fn enqueue(target: &'static percpu::PerCpu, t: Arc<Thread>) {
    target.sched.queue.lock().push_back(t);
    if target.index != percpu::index() && target.sched.idle.load(Ordering::SeqCst) {
        apic::send_ipi(target.apic_id, vector::IPI_WAKE);
    }
}

/// Makes a parked thread runnable (or lets its next `park` return at once).
pub fn wake(t: &Arc<Thread>) {
    t.permit.store(true, Ordering::SeqCst);
    if t.cas_state(State::Parked, State::Runnable) {
        if let Some(cpu) = percpu::get(t.cpu) {
            enqueue(cpu, t.clone());
        }
    }
}

/// Blocks the calling thread until `wake` (spurious returns are possible:
/// callers re-check their condition).
pub fn park() {
    let me = current();
    me.set_state(State::Parked);
    if me.permit.swap(false, Ordering::SeqCst) && me.cas_state(State::Parked, State::Running) {
        return;
    }
    drop(me);
    switch_to_loop();
}

/// Gives the CPU to the next runnable thread on this CPU.
pub fn yield_now() {
    switch_to_loop();
}

/// Sleeps until monotonic time `deadline_ns`.
pub fn sleep_until(deadline_ns: u64) {
    let me = current();
    {
        let mut s = here().sleepers.lock();
        let pos = s.partition_point(|(d, _)| *d <= deadline_ns);
        s.insert(pos, (deadline_ns, me.clone()));
    }
    drop(me);
    while crate::time::now_ns() < deadline_ns {
        park();
    }
}

pub fn sleep_ns(ns: u64) {
    sleep_until(crate::time::now_ns().saturating_add(ns));
}

pub(crate) fn exit_current() -> ! {
    current().set_state(State::Dead);
    switch_to_loop();
    unreachable!("a dead thread was resumed");
}

fn switch_to_loop() {
    let s = here();
    // SAFETY: `current` is this CPU's, touched with interrupts off.
    let rsp_slot = match unsafe { &*s.current.get() } {
        Some(t) => t.rsp.get(),
        None => return,
    };
    // SAFETY: switches to this CPU's scheduler loop, which switches back
    // into this thread (restoring its callee-saved registers) when it runs next.
    unsafe { context::switch_context(rsp_slot, *s.loop_rsp.get()) };
}

/// The per-CPU scheduler loop; each CPU ends its bring-up here.
pub fn run() -> ! {
    let s = here();
    loop {
        wake_expired_sleepers(s);
        let next = s.queue.lock().pop_front();
        match next {
            Some(t) => run_thread(s, t),
            None => idle(s),
        }
    }
}

fn run_thread(s: &CpuSched, t: Arc<Thread>) {
    t.flush_stack_tlb();
    t.set_state(State::Running);
    let rsp = t.rsp.get();
    // SAFETY: this CPU owns `current` and the loop context.
    unsafe {
        *s.current.get() = Some(t);
        s.switches.fetch_add(1, Ordering::Relaxed);
        context::switch_context(s.loop_rsp.get(), *rsp);
    }
    // SAFETY: as above; the thread has switched back to the loop.
    let t = unsafe { (*s.current.get()).take() };
    if let Some(t) = t {
        // A yield leaves the thread Running; a wake that raced with park
        // already queued it (Runnable); Parked and Dead threads stay out.
        if t.cas_state(State::Running, State::Runnable) {
            s.queue.lock().push_back(t);
        }
    }
}

fn wake_expired_sleepers(s: &CpuSched) {
    let now = crate::time::now_ns();
    loop {
        let expired = {
            let mut sl = s.sleepers.lock();
            match sl.first() {
                Some((d, _)) if *d <= now => Some(sl.remove(0).1),
                _ => None,
            }
        };
        match expired {
            Some(t) => wake(&t),
            None => break,
        }
    }
}

fn idle(s: &CpuSched) {
    match s.sleepers.lock().first() {
        Some((deadline, _)) => apic::arm_timer(vector::TIMER, *deadline),
        None => apic::disarm_timer(),
    }
    s.idle.store(true, Ordering::SeqCst);
    // Re-check after announcing idleness: a waker that missed the flag
    // queued before we looked, one that saw it sends an IPI.
    if s.queue.lock().is_empty() {
        // `sti; hlt` is atomic with respect to interrupts: one arriving
        // between the two still ends the halt.
        x86_64::instructions::interrupts::enable_and_hlt();
        x86_64::instructions::interrupts::disable();
        s.wakeups.fetch_add(1, Ordering::Relaxed);
    }
    s.idle.store(false, Ordering::SeqCst);
}

/// Timer interrupt: nothing to do beyond ending `hlt`; the loop checks sleepers.
pub fn on_timer_interrupt() {}

/// Wake-up IPI: nothing to do beyond ending `hlt`; the loop checks its queue.
pub fn on_wake_ipi() {}
