//! The kernel scheduler: per-CPU run queues, round robin, kernel threads
//! that run until they yield, park, sleep or return. The kernel itself is
//! not preemptible and runs with interrupts off; a CPU takes interrupts only
//! when idle (`sti; hlt`), which is also how cross-CPU wake-up IPIs and timer
//! deadlines reach it. An idle CPU with no sleeper arms no timer (one armed
//! earlier may still fire once: see `program_timer`).
//!
//! Issue 4 adds preemptive user threads on top: their time slice is the
//! timer deadline armed before returning to user mode.
mod context;
pub mod selftest;
mod thread;

pub use thread::{State, Thread, UserContext, UserState};

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
/// How long a user thread runs before others waiting for its CPU get a turn.
const TIME_SLICE_NS: u64 = 10_000_000;
const NOT_ARMED: u64 = u64::MAX;

struct CpuSched {
    queue: SpinLock<VecDeque<Arc<Thread>>>,
    /// Sleeping threads by deadline (ns), earliest first.
    sleepers: SpinLock<Vec<(u64, Arc<Thread>)>>,
    current: UnsafeCell<Option<Arc<Thread>>>,
    /// The scheduler loop's saved stack pointer.
    loop_rsp: UnsafeCell<u64>,
    idle: AtomicBool,
    /// The deadline the local timer is programmed for (`NOT_ARMED`: none),
    /// so returning to user mode reprograms it (an MSR write, a VM exit on
    /// KVM) only when the wanted deadline changes.
    armed: AtomicU64,
    /// When the running user thread's time slice ends; set as it gets the
    /// CPU and moved later by the time the host steals meanwhile.
    slice_end: AtomicU64,
    /// When the running user thread got the CPU, and this vCPU's steal-time
    /// counter then: the slice is charged only for time not stolen.
    slice_start: AtomicU64,
    slice_steal: AtomicU64,
    /// Context switches into threads on this CPU.
    pub switches: AtomicU64,
    /// Times this CPU woke from `hlt`.
    pub wakeups: AtomicU64,
    /// Nanoseconds this CPU spent idle: halted, or halt polling (what
    /// benchmarks subtract: under QEMU `-icount` a halted guest's clock
    /// still advances; polling happens only on KVM).
    idle_ns: AtomicU64,
    /// Set (before any IPI) by whoever gives an idle CPU work: a queued
    /// thread, a timer interrupt. A polling CPU watches it instead of the
    /// locked queue, so wakers need no IPI while it polls.
    wake_hint: AtomicBool,
    /// The CPU is past polling, on its way into `hlt`: wakers must send an
    /// IPI. (`idle` covers polling too.)
    halting: AtomicBool,
    /// Halt polling: the current window, ns spent polling, idle periods
    /// polling ended.
    poll_window: AtomicU64,
    poll_ns: AtomicU64,
    poll_hits: AtomicU64,
}

// Every other field is atomic or locked.
// SAFETY: `current` and `loop_rsp` are only touched by their own CPU, with interrupts off.
unsafe impl Sync for CpuSched {}

impl CpuSched {
    const fn new() -> Self {
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

/// Each CPU's scheduler state, owned here rather than in `percpu` (which
/// sits below the scheduler), indexed by CPU index.
static CPUS: [CpuSched; percpu::MAX_CPUS] = [const { CpuSched::new() }; percpu::MAX_CPUS];

fn here() -> &'static CpuSched {
    &CPUS[percpu::current().index]
}

fn of(cpu: &percpu::PerCpu) -> &'static CpuSched {
    &CPUS[cpu.index]
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
    let t = Arc::new(Thread::new(name, cpu, entry, arg, stack, None, thread_trampoline_addr()));
    enqueue(target, t.clone());
    Ok(t)
}

/// Starts a thread that enters user mode with `start`'s registers in
/// `process`, on the CPU with the shortest run queue.
pub fn spawn_user(
    name: &'static str,
    owner: Arc<dyn UserContext>,
    start: crate::arch::x86_64::trap::TrapFrame,
    fs_base: u64,
) -> Result<Arc<Thread>, SpawnError> {
    let cpu = least_loaded_cpu();
    let target = percpu::get(cpu).ok_or(SpawnError::NoSuchCpu(cpu))?;
    let stack = crate::mm::stack::alloc_kernel_stack_for_user(THREAD_STACK_PAGES).map_err(|_| SpawnError::NoStack)?;
    let user = UserState {
        owner,
        fpu: UnsafeCell::new(alloc::boxed::Box::new(crate::arch::x86_64::user::FpuArea::new())),
        fs_base: AtomicU64::new(fs_base),
        start: SpinLock::new(Some(start)),
        status: spin::Once::new(),
        run_since: AtomicU64::new(0),
    };
    let t = Arc::new(Thread::new(name, cpu, user_thread_start, 0, stack, Some(user), thread_trampoline_addr()));
    enqueue(target, t.clone());
    Ok(t)
}

fn user_thread_start(_: usize) {
    let me = current();
    let start = me.user.as_ref().and_then(|u| Some((u.owner.clone(), u.start.lock().take()?)));
    drop(me);
    match start {
        Some((owner, frame)) => {
            owner.thread_starting(frame.rip);
            drop(owner);
            crate::arch::x86_64::user::enter_user(&frame)
        }
        None => kprintln!("sched: user thread without a start frame"),
    }
}

fn least_loaded_cpu() -> usize {
    (0..percpu::online_count())
        .filter_map(|i| {
            percpu::get(i).map(|c| (i, of(c).queue.lock().len() + usize::from(!of(c).idle.load(Ordering::Relaxed))))
        })
        .min_by_key(|&(_, load)| load)
        .map_or(0, |(i, _)| i)
}

/// The running thread for diagnostics: `None` before per-CPU data exists
/// or in the scheduler loop.
pub fn current_if_safe() -> Option<Arc<Thread>> {
    if x86_64::registers::model_specific::GsBase::read().as_u64() == 0 {
        return None;
    }
    current_opt()
}

/// The running thread, if a thread (not the scheduler loop) is running.
pub fn current_opt() -> Option<Arc<Thread>> {
    // SAFETY: `current` is only touched by this CPU with interrupts off.
    unsafe { (*here().current.get()).clone() }
}

fn enqueue(target: &'static percpu::PerCpu, t: Arc<Thread>) {
    let s = of(target);
    s.queue.lock().push_back(t);
    // Hint first, then look: a CPU that polls sees the hint, one that stops
    // polling sets `halting` before its last look at the queue (SeqCst both
    // sides, so one of us sees the other).
    s.wake_hint.store(true, Ordering::SeqCst);
    if target.index != percpu::index() && s.halting.load(Ordering::SeqCst) {
        apic::send_ipi(target.apic_id, vector::IPI_WAKE);
    }
}

/// Makes a parked thread runnable (or lets its next `park` return at once).
pub fn wake(t: &Arc<Thread>) {
    t.permit.store(true, Ordering::SeqCst);
    if t.cas_state(State::Parked, State::Runnable) {
        if let Some(cpu) = percpu::get(t.cpu()) {
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
    wake_at(deadline_ns);
    while crate::time::now_ns() < deadline_ns {
        park();
    }
}

/// Makes the calling thread's CPU wake it at `deadline_ns` (a spurious
/// wake-up for a thread that was woken earlier: callers re-check).
pub fn wake_at(deadline_ns: u64) {
    let me = current();
    let mut s = here().sleepers.lock();
    let pos = s.partition_point(|(d, _)| *d <= deadline_ns);
    s.insert(pos, (deadline_ns, me));
}

/// Withdraws the calling thread's `wake_at(deadline_ns)` once it no longer
/// needs it (woken early): a stale entry would keep the timer armed and
/// wake the thread for nothing, and every waiting syscall adds one, so
/// without this the list grows by one per wait.
pub fn cancel_wake_at(deadline_ns: u64) {
    let me = current();
    let mut s = here().sleepers.lock();
    let start = s.partition_point(|(d, _)| *d < deadline_ns);
    let found = s[start..].iter().take_while(|(d, _)| *d == deadline_ns).position(|(_, t)| Arc::ptr_eq(t, &me));
    if let Some(i) = found {
        s.remove(start + i);
    }
}

/// Interrupts the CPU running `t` if it is running on another CPU (a killed
/// process's thread in user mode then traps and ends).
pub fn kick(t: &Arc<Thread>) {
    let cpu = t.cpu();
    if cpu != percpu::index() && t.state() == State::Running {
        if let Some(c) = percpu::get(cpu) {
            apic::send_ipi(c.apic_id, vector::IPI_WAKE);
        }
    }
}

/// Waits (parking the calling thread) until `t` has returned.
pub fn join(t: &Thread) {
    *t.joiner.lock() = Some(current());
    while !t.is_done() {
        park();
    }
}

core::arch::global_asm!(
    r#"
    .text
    .global thread_trampoline
thread_trampoline:
    xorl %ebp, %ebp
    callq {start}
    ud2
    "#,
    start = sym thread_start,
    options(att_syntax)
);

extern "C" {
    fn thread_trampoline();
}

/// Where a new thread's first switch lands.
fn thread_trampoline_addr() -> u64 {
    thread_trampoline as *const () as u64
}

/// First Rust code a new thread runs (from the trampoline).
extern "C" fn thread_start() -> ! {
    // No reference may live across the call: a user thread's entry never
    // returns (it leaves through `process::exit_thread`), and a reference
    // held here would keep the thread and its stack alive forever.
    let (entry, arg) = {
        let me = current();
        (me.entry, me.arg)
    };
    entry(arg);
    let me = current();
    me.done.store(true, Ordering::Release);
    if let Some(j) = me.joiner.lock().take() {
        wake(&j);
    }
    drop(me);
    exit_current()
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
    // The loop switches back into this thread (restoring its callee-saved registers) when it runs next.
    // SAFETY: switches to this CPU's scheduler loop, whose saved context is valid.
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
    t.flush_stack_tlb(percpu::index());
    // A thread that parked on another CPU can be woken (and stolen) before
    // that CPU has finished switching away from it: wait until its state is
    // saved there, or we would resume it on a stale stack.
    while t.on_cpu.load(Ordering::Acquire) {
        core::hint::spin_loop();
    }
    t.on_cpu.store(true, Ordering::Relaxed);
    t.set_state(State::Running);
    if let Some(u) = &t.user {
        let now = crate::time::now_ns();
        s.slice_start.store(now, Ordering::Relaxed);
        s.slice_steal.store(crate::pv::steal_ns(percpu::index()), Ordering::Relaxed);
        s.slice_end.store(now.saturating_add(TIME_SLICE_NS), Ordering::Relaxed);
        u.run_since.store(now.max(1), Ordering::Relaxed);
        crate::arch::x86_64::user::init_cpu_once(&percpu::current().user_ready);
        percpu::set_kernel_stack(t.kernel_stack_top());
        u.owner.enter();
        crate::arch::x86_64::user::set_fs_base(u.fs_base.load(Ordering::Relaxed));
        // SAFETY: only the CPU running the thread touches its FPU area.
        unsafe { (*u.fpu.get()).restore() };
    }
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
        if let Some(u) = &t.user {
            // SAFETY: as above.
            unsafe { (*u.fpu.get()).save() };
            // One clock read per switch: the process's CPU time (`ps`, `top`).
            let since = u.run_since.swap(0, Ordering::Relaxed);
            u.owner.leave(crate::time::now_ns().saturating_sub(since));
            if t.state() == State::Dead {
                let status = u.status.get().copied().unwrap_or(pv_abi::syscall::status::KILLED);
                u.owner.thread_ended(status);
            }
        }
        // A yield leaves the thread Running; a wake that raced with park
        // already queued it (Runnable); Parked and Dead threads stay out.
        // Decided before `on_cpu` is released: once it is, a CPU that took
        // the thread from a queue (a raced wake, then a steal) sets it
        // Running and runs it, and a later Running -> Runnable here would
        // queue it a second time: two CPUs on one kernel stack.
        let requeue = t.cas_state(State::Running, State::Runnable);
        t.on_cpu.store(false, Ordering::Release);
        if requeue {
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

/// Moves one runnable user thread from the busiest other CPU to this one.
fn steal(s: &'static CpuSched) -> bool {
    let me = percpu::index();
    let victim = (0..percpu::online_count())
        .filter(|&i| i != me)
        .filter_map(percpu::get)
        .max_by_key(|c| of(c).queue.lock().len());
    let Some(victim) = victim else { return false };
    let stolen = {
        let mut q = of(victim).queue.lock();
        let pos = q.iter().rposition(|t| t.user.is_some());
        pos.and_then(|p| q.remove(p))
    };
    match stolen {
        Some(t) => {
            t.cpu.store(me, Ordering::Release);
            s.queue.lock().push_back(t);
            true
        }
        None => false,
    }
}

/// Nanoseconds all CPUs have spent idle (halted or halt polling) since boot.
pub fn idle_ns() -> u64 {
    CPUS.iter().map(|c| c.idle_ns.load(Ordering::Relaxed)).sum()
}

fn idle(s: &'static CpuSched) {
    if steal(s) {
        return;
    }
    let sleeper = s.sleepers.lock().first().map(|(d, _)| *d);
    program_timer(s, sleeper);
    s.idle.store(true, Ordering::SeqCst);
    s.wake_hint.store(false, Ordering::SeqCst);
    // Re-check after clearing the hint: a waker that queued before it was
    // cleared is seen here, one after sets it again.
    if s.queue.lock().is_empty() {
        let t0 = crate::time::now_ns();
        let found = crate::pv::halt_poll() && poll(s, t0, sleeper);
        if !found {
            s.halting.store(true, Ordering::SeqCst);
            // Re-check after announcing the halt: a waker that missed the
            // flag queued before we looked, one that saw it sends an IPI.
            if s.queue.lock().is_empty() && !s.wake_hint.load(Ordering::SeqCst) {
                // `sti; hlt` is atomic with respect to interrupts: one
                // arriving between the two still ends the halt.
                x86_64::instructions::interrupts::enable_and_hlt();
                x86_64::instructions::interrupts::disable();
                s.wakeups.fetch_add(1, Ordering::Relaxed);
            }
            s.halting.store(false, Ordering::SeqCst);
        }
        let idle_ns = crate::time::now_ns().saturating_sub(t0);
        s.idle_ns.fetch_add(idle_ns, Ordering::Relaxed);
        if crate::pv::halt_poll() {
            let w = s.poll_window.load(Ordering::Relaxed);
            let next = crate::pv::policy::next_window(w, idle_ns, &crate::pv::poll_params());
            s.poll_window.store(next, Ordering::Relaxed);
        }
    }
    s.idle.store(false, Ordering::SeqCst);
}

/// Halt polling: waits up to the CPU's window (never past the next
/// sleeper's deadline, whose timer is armed) for work, with interrupts on
/// so device and timer interrupts are taken as promptly as in `hlt`; their
/// handlers run just as they would from `hlt` (this is idle, no lock is
/// held) and set the wake hint when they give this CPU work. Returns
/// whether work arrived. Linux's equivalent: cpuidle-haltpoll.
fn poll(s: &CpuSched, t0: u64, sleeper: Option<u64>) -> bool {
    let window = s.poll_window.load(Ordering::Relaxed);
    if window == 0 {
        return false;
    }
    let end = t0.saturating_add(window);
    let due = sleeper.unwrap_or(u64::MAX);
    x86_64::instructions::interrupts::enable();
    let mut now = t0;
    let found = loop {
        if s.wake_hint.load(Ordering::SeqCst) || now >= due {
            break true;
        }
        if now >= end {
            break false;
        }
        core::hint::spin_loop();
        now = crate::time::now_ns();
    };
    x86_64::instructions::interrupts::disable();
    s.poll_ns.fetch_add(now.saturating_sub(t0), Ordering::Relaxed);
    if found {
        s.poll_hits.fetch_add(1, Ordering::Relaxed);
    }
    found
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

/// Timer interrupt. From idle: ends `hlt` or halt polling (the loop checks
/// sleepers). From user mode: the time slice is over if others wait and
/// the host did not steal part of it.
pub fn on_timer_interrupt(from_user: bool) {
    // A fired timer is no longer armed (TSC-deadline clears itself, the
    // one-shot count has run out).
    let s = here();
    s.armed.store(NOT_ARMED, Ordering::Relaxed);
    if from_user {
        wake_expired_sleepers(s);
        // The timer may be one armed for an earlier deadline (program_timer).
        if crate::time::now_ns() >= s.slice_end.load(Ordering::Relaxed) && !slice_extended_by_steal(s) {
            preempt_if_contended();
        }
    } else {
        // From idle: a polling CPU learns that a sleeper may be due.
        s.wake_hint.store(true, Ordering::SeqCst);
    }
}

/// At the nominal end of a slice: if the host stole some of it, moves the
/// end later by that much (the next return to user mode arms the timer for
/// it) and says so. Without steal time the counter reads 0 and the slice
/// simply ends.
fn slice_extended_by_steal(s: &CpuSched) -> bool {
    let now = crate::time::now_ns();
    let steal = crate::pv::steal_ns(percpu::index());
    let start = s.slice_start.load(Ordering::Relaxed);
    let used = crate::pv::policy::charged_ns(start, now, s.slice_steal.load(Ordering::Relaxed), steal);
    match crate::pv::policy::slice_end(now, used, TIME_SLICE_NS) {
        Some(end) => {
            s.slice_end.store(end, Ordering::Relaxed);
            true
        }
        None => false,
    }
}

/// Wake-up IPI. From idle: ends `hlt`. From user mode: a thread became
/// runnable here, so let it run.
pub fn on_wake_ipi(from_user: bool) {
    if from_user {
        preempt_if_contended();
    }
}

fn preempt_if_contended() {
    if !here().queue.lock().is_empty() {
        yield_now();
    }
}

/// Before a thread returns to user mode: arm the timer for the earliest of
/// the end of its time slice (counted from when it got the CPU, and only if
/// another thread waits for this CPU) and the next sleeper's deadline; a
/// thread alone on its CPU runs untimed.
pub fn arm_for_user_return() {
    let s = here();
    let slice = (!s.queue.lock().is_empty()).then(|| s.slice_end.load(Ordering::Relaxed));
    let sleeper = s.sleepers.lock().first().map(|(d, _)| *d);
    let deadline = match (slice, sleeper) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    program_timer(s, deadline);
}

/// Programs this CPU's timer for `deadline` unless it is already armed for
/// that time or earlier. A later deadline, or none, leaves the armed one in
/// place: its one early interrupt costs less than re-programming the timer
/// (a TSC conversion and an MSR write) on most returns to user mode, which
/// is what a thread waiting with a timeout, request after request, caused.
/// The handlers re-check (sleepers by their deadlines, the slice by its
/// end), and every return to user mode and every idle pass arms again.
fn program_timer(s: &CpuSched, deadline: Option<u64>) {
    let Some(d) = deadline else { return };
    if s.armed.load(Ordering::Relaxed) <= d {
        return;
    }
    s.armed.store(d, Ordering::Relaxed);
    crate::time::timer::arm(vector::TIMER, d);
}

/// Runs `f` on the running thread without taking a reference count.
pub fn with_current<R>(f: impl FnOnce(&Thread) -> R) -> Option<R> {
    // The thread `current` holds stays alive while it is current.
    // SAFETY: `current` is only touched by this CPU, with interrupts off.
    unsafe { (*here().current.get()).as_deref().map(f) }
}
