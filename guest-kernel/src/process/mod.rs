//! User processes: an address space, a handle table, threads, and an exit
//! status others can wait for. A process ends when its last thread ends or
//! when it is killed (by `Kill`, a fatal exception, or running out of
//! memory); only that process is affected.
mod futex;
mod handle;
mod motor;
mod pipe;
mod shm;
mod spawn;
mod uaccess;
mod vm;

pub use futex::{futex_wait, futex_wake};
pub use pipe::pipe;
pub use handle::{HandleTable, Object};
pub use shm::SharedMemory;
pub use spawn::spawn;
pub use uaccess::{read_user, write_user};
pub use vm::Vm;

use crate::arch::x86_64::trap::TrapFrame;
use crate::sched::{self, Thread};
use crate::sync::SpinLock;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use pv_abi::syscall::status;

pub struct Process {
    pub pid: u32,
    pub name: String,
    /// `None` once the process has ended and its memory is released.
    pub vm: SpinLock<Option<Vm>>,
    pml4: u64,
    pub handles: SpinLock<HandleTable>,
    /// NUL-separated arguments.
    pub args: Vec<u8>,
    live_threads: AtomicUsize,
    threads: SpinLock<Vec<Weak<Thread>>>,
    killed: AtomicBool,
    exit: spin::Once<i32>,
    /// Threads waiting for this process or one of its threads to end.
    waiters: SpinLock<Vec<Arc<Thread>>>,
}

static NEXT_PID: AtomicU32 = AtomicU32::new(1);

impl Process {
    fn new(name: &str, vm: Vm, args: Vec<u8>) -> Self {
        Self {
            pid: NEXT_PID.fetch_add(1, Ordering::Relaxed),
            name: String::from(name),
            pml4: vm.pml4_paddr(),
            vm: SpinLock::new(Some(vm)),
            handles: SpinLock::new(HandleTable::new()),
            args,
            live_threads: AtomicUsize::new(0),
            threads: SpinLock::new(Vec::new()),
            killed: AtomicBool::new(false),
            exit: spin::Once::new(),
            waiters: SpinLock::new(Vec::new()),
        }
    }

    /// Loads this process's page tables on the calling CPU.
    pub fn activate(&self) {
        load_cr3(self.pml4);
    }

    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Acquire)
    }

    pub fn exit_status(&self) -> Option<i32> {
        self.exit.get().copied()
    }

    /// The exit status once every thread has ended.
    pub fn ended_status(&self) -> Option<i32> {
        if self.live_threads.load(Ordering::Acquire) == 0 {
            self.exit_status()
        } else {
            None
        }
    }

    /// Starts a thread in this process.
    pub fn start_thread(self: &Arc<Self>, name: &'static str, frame: TrapFrame) -> Result<Arc<Thread>, pv_abi::syscall::Error> {
        self.start_thread_with_tls(name, frame, 0)
    }

    /// Starts a thread with FS base `fs_base`.
    pub fn start_thread_with_tls(
        self: &Arc<Self>,
        name: &'static str,
        frame: TrapFrame,
        fs_base: u64,
    ) -> Result<Arc<Thread>, pv_abi::syscall::Error> {
        if self.is_killed() {
            return Err(pv_abi::syscall::Error::Invalid);
        }
        self.live_threads.fetch_add(1, Ordering::AcqRel);
        match sched::spawn_user(name, self.clone(), frame, fs_base) {
            Ok(t) => {
                let mut ts = self.threads.lock();
                ts.retain(|w| w.strong_count() > 0);
                ts.push(Arc::downgrade(&t));
                Ok(t)
            }
            Err(_) => {
                self.live_threads.fetch_sub(1, Ordering::AcqRel);
                Err(pv_abi::syscall::Error::NoMemory)
            }
        }
    }

    /// Ends the process with `status` (the first status set wins): its
    /// threads stop at their next kernel entry or wake-up.
    pub fn kill(&self, status: i32) {
        self.exit.call_once(|| status);
        if self.killed.swap(true, Ordering::AcqRel) {
            return;
        }
        let me = sched::current_opt();
        for t in self.threads.lock().iter().filter_map(Weak::upgrade) {
            if me.as_ref().is_some_and(|m| Arc::ptr_eq(m, &t)) {
                continue;
            }
            sched::wake(&t);
            sched::kick(&t);
        }
    }

    /// Registers the calling thread to be woken when any thread of this
    /// process ends.
    pub fn add_waiter(&self) {
        self.waiters.lock().push(sched::current());
    }

    /// For `WaitMany`: registers `waiter` (if any), then says whether the
    /// process has ended (registration first, so an end after it wakes it).
    pub fn poll_end(&self, waiter: Option<&Arc<Thread>>) -> bool {
        if let Some(t) = waiter {
            let mut w = self.waiters.lock();
            if !w.iter().any(|x| Arc::ptr_eq(x, t)) {
                w.push(t.clone());
            }
        }
        self.ended_status().is_some()
    }

    pub fn forget_waiter(&self, t: &Arc<Thread>) {
        self.waiters.lock().retain(|x| !Arc::ptr_eq(x, t));
    }

    fn wake_waiters(&self) {
        for t in core::mem::take(&mut *self.waiters.lock()) {
            sched::wake(&t);
        }
    }
}

fn load_cr3(pml4: u64) {
    use x86_64::registers::control::Cr3;
    let (cur, flags) = Cr3::read();
    if cur.start_address().as_u64() != pml4 {
        let frame = x86_64::structures::paging::PhysFrame::containing_address(x86_64::PhysAddr::new(pml4));
        // SAFETY: `pml4` is a live page table whose kernel half is the
        // kernel's, so the running kernel code stays mapped.
        unsafe { Cr3::write(frame, flags) };
    }
}

/// Back to the kernel's own page tables (idle CPUs, kernel threads).
pub fn activate_kernel_space() {
    load_cr3(crate::mm::paging::kernel_pml4_paddr());
}

/// The calling thread's process, if it is a user thread.
pub fn current() -> Option<Arc<Process>> {
    sched::current_opt().and_then(|t| t.user.as_ref().map(|u| u.process.clone()))
}

/// Ends the calling user thread with `status`. The process ends with its
/// last thread (with this status unless it was killed first).
pub fn exit_thread(status: i32) -> ! {
    let me = sched::current();
    if let Some(u) = &me.user {
        u.status.call_once(|| status);
        let p = u.process.clone();
        if p.live_threads.fetch_sub(1, Ordering::AcqRel) == 1 {
            p.exit.call_once(|| status);
            p.killed.store(true, Ordering::Release);
            // Off this process's page tables before they are freed.
            activate_kernel_space();
            drop(p.vm.lock().take());
            drop(core::mem::take(&mut *p.handles.lock()));
        }
        p.wake_waiters();
    }
    drop(me);
    sched::exit_current()
}

/// Ends the whole calling process with `status`.
pub fn exit_process(status: i32) -> ! {
    if let Some(p) = current() {
        p.kill(status);
    }
    exit_thread(status)
}

/// First entry of a user thread. The first one of process 1 (init) is the
/// system's first user instruction.
pub fn on_thread_start() {
    static FIRST: AtomicBool = AtomicBool::new(true);
    if current().is_some_and(|p| p.pid == 1) && FIRST.swap(false, Ordering::AcqRel) {
        crate::trace::mark(pv_abi::boot_trace::USER_ENTRY);
    }
    before_user_return();
}

/// Runs on every return to user mode: a killed process's threads end here;
/// otherwise the time slice is armed.
pub fn before_user_return() {
    let killed = sched::with_current(|t| t.user.as_ref().is_some_and(|u| u.process.is_killed()));
    if killed == Some(true) {
        exit_thread(status::KILLED);
    }
    sched::arm_for_user_return();
}

/// A CPU exception in user mode: a page fault inside a lazily populated
/// region is served; anything else kills the process with a one-line report.
pub fn on_user_exception(frame: &mut TrapFrame) {
    let Some(p) = current() else { return };
    let cr2 = x86_64::registers::control::Cr2::read_raw();
    if frame.vector == 14 {
        let write = frame.error_code & 2 != 0;
        let exec = frame.error_code & 16 != 0;
        let present = frame.error_code & 1 != 0;
        let served = match p.vm.lock().as_mut() {
            Some(vm) if !present => vm.fault_in(cr2, write, exec),
            _ => Err(vm::FaultError::Denied),
        };
        match served {
            Ok(()) => return,
            Err(vm::FaultError::OutOfMemory) => {
                kprintln!("process {} ({}) killed: out of memory (fault at {cr2:#x})", p.pid, p.name);
                drop(p);
                exit_process(status::OUT_OF_MEMORY);
            }
            Err(vm::FaultError::Denied) => {}
        }
    }
    let what = crate::arch::x86_64::exception::name(frame.vector);
    if frame.vector == 14 {
        kprintln!(
            "process {} ({}) killed: {what} at {cr2:#x} (rip {:#x}, error {:#x})",
            p.pid, p.name, frame.rip, frame.error_code
        );
    } else {
        kprintln!("process {} ({}) killed: {what} (rip {:#x})", p.pid, p.name, frame.rip);
    }
    drop(p);
    exit_process(status::killed_by_exception(frame.vector as u8));
}
