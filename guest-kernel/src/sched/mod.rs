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
mod cpu;
mod idle;
pub mod selftest;
mod thread;
mod timer;

pub use cpu::{cpu_stats, idle_ns};
pub use thread::{State, Thread, UserContext, UserState};
pub use timer::arm_for_user_return;

use cpu::{here, of, CpuSched, NOT_ARMED};
use idle::idle;
use timer::{slice_extended_by_steal, TIME_SLICE_NS};

use crate::arch::x86_64::{apic, trap::vector};
use crate::percpu;
use crate::sync::SpinLock;
use alloc::sync::Arc;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU64, Ordering};

/// Kernel thread stack size (pages); a guard page sits below each.
const THREAD_STACK_PAGES: usize = 4;

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

/// Runs `f` on the running thread without taking a reference count.
pub fn with_current<R>(f: impl FnOnce(&Thread) -> R) -> Option<R> {
    // The thread `current` holds stays alive while it is current.
    // SAFETY: `current` is only touched by this CPU, with interrupts off.
    unsafe { (*here().current.get()).as_deref().map(f) }
}
