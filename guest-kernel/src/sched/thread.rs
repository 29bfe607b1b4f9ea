//! Kernel threads: what the scheduler keeps per thread.
use super::context;
use crate::arch::x86_64::trap::TrapFrame;
use crate::arch::x86_64::user::FpuArea;
use crate::mm::stack::KernelStack;
use crate::sync::SpinLock;
use alloc::boxed::Box;
use alloc::sync::Arc;
use core::any::Any;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};

/// What the scheduler needs from the owner of user threads (a process)
/// without knowing what a process is: the process layer sits above it.
pub trait UserContext: Send + Sync {
    /// One of its threads is about to run on this CPU: load its address space.
    fn enter(&self);
    /// The thread has left this CPU after running `ran_ns` on it: back to
    /// the kernel's page tables, and charge the time.
    fn leave(&self, ran_ns: u64);
    /// A thread is about to enter user mode for the first time, at `rip`.
    fn thread_starting(&self, rip: u64);
    /// A thread ended with `status` and is off its CPU for good.
    fn thread_ended(&self, status: i32);
    /// Whether its threads must end at their next return to user mode
    /// (asked on every return, so it is a direct call, not a downcast).
    fn must_exit(&self) -> bool;
    /// For the owner's layer to get its own type back.
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

/// What a thread that runs user code carries besides its kernel context.
pub struct UserState {
    pub owner: Arc<dyn UserContext>,
    /// User FPU/SSE registers while another thread has the CPU.
    pub(super) fpu: UnsafeCell<Box<FpuArea>>,
    pub fs_base: AtomicU64,
    /// The registers the thread starts user mode with (taken once).
    pub(super) start: SpinLock<Option<TrapFrame>>,
    /// The thread's exit status, once it has ended.
    pub status: spin::Once<i32>,
    /// When it last got a CPU (ns since boot), 0 while it is off every CPU:
    /// its owner adds the time not yet charged to what `leave` charged.
    pub run_since: AtomicU64,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum State {
    /// On a run queue (or about to be).
    Runnable = 0,
    Running = 1,
    /// Waiting for `wake`.
    Parked = 2,
    Dead = 3,
}

pub struct Thread {
    pub id: u64,
    pub name: &'static str,
    /// The CPU whose run queue owns this thread (kernel threads never
    /// migrate; user threads may be stolen by idle CPUs).
    pub(super) cpu: AtomicUsize,
    pub user: Option<UserState>,
    pub(super) state: AtomicU8,
    /// Set by `wake` so a wake that races with `park` is never lost.
    pub(super) permit: AtomicBool,
    pub(super) rsp: UnsafeCell<u64>,
    pub(super) entry: fn(usize),
    pub(super) arg: usize,
    stack: KernelStack,
    /// The CPU that last ran the thread (`usize::MAX`: none yet). On any
    /// other CPU its stack's addresses may still be cached from an earlier,
    /// freed stack in the same slot.
    last_cpu: AtomicUsize,
    pub(super) done: AtomicBool,
    /// True while a CPU is running the thread or still switching away from it.
    pub(super) on_cpu: AtomicBool,
    pub(super) joiner: SpinLock<Option<Arc<Thread>>>,
}

// SAFETY: `rsp` is only touched by the CPU that runs the thread, with
// interrupts off; every other field is atomic or locked.
unsafe impl Sync for Thread {}
// SAFETY: as above: a thread moves between CPUs only while it is not running.
unsafe impl Send for Thread {}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Thread {
    pub(super) fn new(
        name: &'static str,
        cpu: usize,
        entry: fn(usize),
        arg: usize,
        stack: KernelStack,
        user: Option<UserState>,
        trampoline: u64,
    ) -> Self {
        let rsp = context::initial_rsp(stack.top, trampoline);
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            name,
            cpu: AtomicUsize::new(cpu),
            user,
            state: AtomicU8::new(State::Runnable as u8),
            permit: AtomicBool::new(false),
            rsp: UnsafeCell::new(rsp),
            entry,
            arg,
            stack,
            last_cpu: AtomicUsize::new(usize::MAX),
            on_cpu: AtomicBool::new(false),
            done: AtomicBool::new(false),
            joiner: SpinLock::new(None),
        }
    }

    pub fn state(&self) -> State {
        match self.state.load(Ordering::Acquire) {
            0 => State::Runnable,
            1 => State::Running,
            2 => State::Parked,
            _ => State::Dead,
        }
    }

    pub(super) fn set_state(&self, s: State) {
        self.state.store(s as u8, Ordering::Release);
    }

    pub(super) fn cas_state(&self, from: State, to: State) -> bool {
        self.state.compare_exchange(from as u8, to as u8, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// Kernel stack slots are reused without a cross-CPU TLB shootdown, so
    /// each CPU drops any stale translation of the stack before it first
    /// runs the thread.
    pub(super) fn flush_stack_tlb(&self, cpu: usize) {
        if self.last_cpu.swap(cpu, Ordering::AcqRel) != cpu {
            self.stack.flush_tlb_local();
        }
    }

    pub fn cpu(&self) -> usize {
        self.cpu.load(Ordering::Acquire)
    }

    pub fn kernel_stack_top(&self) -> u64 {
        self.stack.top
    }

    pub fn is_done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }
}
