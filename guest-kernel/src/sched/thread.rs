//! Kernel threads.
use super::context;
use crate::mm::stack::KernelStack;
use crate::sync::SpinLock;
use alloc::sync::Arc;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};

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
    /// The CPU whose run queue owns this thread (kernel threads never migrate).
    pub cpu: usize,
    pub(super) state: AtomicU8,
    /// Set by `wake` so a wake that races with `park` is never lost.
    pub(super) permit: AtomicBool,
    pub(super) rsp: UnsafeCell<u64>,
    entry: fn(usize),
    arg: usize,
    stack: KernelStack,
    /// Not yet run: its stack's VA may still be cached (stale) in this CPU's TLB.
    pub(super) fresh: AtomicBool,
    done: AtomicBool,
    joiner: SpinLock<Option<Arc<Thread>>>,
}

// SAFETY: `rsp` is only touched by the CPU that runs the thread, with
// interrupts off; every other field is atomic or locked.
unsafe impl Sync for Thread {}
unsafe impl Send for Thread {}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Thread {
    pub(super) fn new(
        name: &'static str,
        cpu: usize,
        entry: fn(usize),
        arg: usize,
        stack: KernelStack,
    ) -> Self {
        let rsp = context::initial_rsp(stack.top);
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            name,
            cpu,
            state: AtomicU8::new(State::Runnable as u8),
            permit: AtomicBool::new(false),
            rsp: UnsafeCell::new(rsp),
            entry,
            arg,
            stack,
            fresh: AtomicBool::new(true),
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
    /// the CPU that first runs a thread drops any stale translation of it.
    pub(super) fn flush_stack_tlb(&self) {
        if self.fresh.swap(false, Ordering::AcqRel) {
            self.stack.flush_tlb_local();
        }
    }

    pub fn is_done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    /// Waits (parking the calling thread) until this thread has returned.
    pub fn join(&self) {
        *self.joiner.lock() = Some(super::current());
        while !self.is_done() {
            super::park();
        }
    }
}

/// First Rust code a new thread runs (from the trampoline).
pub(super) extern "C" fn thread_start() -> ! {
    let me = super::current();
    (me.entry)(me.arg);
    me.done.store(true, Ordering::Release);
    if let Some(j) = me.joiner.lock().take() {
        super::wake(&j);
    }
    drop(me);
    super::exit_current()
}
