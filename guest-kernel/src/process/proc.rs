//! A process: its address space, handle table and threads, and its life
//! cycle from the first thread's start to the teardown after the last.
use super::handle::HandleTable;
use super::listener::Listener;
use super::pipe::{PipeReader, PipeWriter};
use super::shm::SharedMemory;
use super::vm::Vm;
use crate::arch::x86_64::trap::TrapFrame;
use crate::sched::{self, Thread, UserContext};
use crate::sync::SpinLock;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use pv_abi::syscall::status;

/// What a handle refers to.
#[derive(Clone)]
pub enum Object {
    Process(Arc<Process>),
    Thread(Arc<Thread>),
    Shm(Arc<SharedMemory>),
    /// A pipe's read end (the end closes when its last handle does).
    PipeRead(Arc<PipeReader>),
    /// A pipe's write end.
    PipeWrite(Arc<PipeWriter>),
    /// The device right: lets its holder list and open devices, if the handle carries `rights::DEVICE`.
    DeviceRight,
    /// A device opened for driving it.
    Device(Arc<crate::device::OpenDevice>),
    /// A device interrupt.
    Irq(Arc<crate::device::IrqObject>),
    /// A registered service's end, where its connections arrive (`service`).
    Listener(Arc<ServiceListener>),
}

/// A connection waiting for `ServiceAccept`: the handle the client passed
/// (its object and rights) and the client itself.
pub struct Connection {
    pub handle: Object,
    pub rights: u32,
    pub client: Arc<Process>,
}

pub type ServiceListener = Listener<Connection>;

pub struct Process {
    pub pid: u32,
    /// The process that started it (0: the kernel started it).
    pub parent: u32,
    /// The pid of its ancestor just below init (its own if init or the
    /// kernel started it): `KillPid` reaches only its own session.
    pub session: u32,
    /// When it was created, ns since boot.
    pub start_ns: u64,
    pub name: String,
    /// `None` once the process has ended and its memory is released.
    pub vm: SpinLock<Option<Vm>>,
    pml4: u64,
    pub handles: SpinLock<HandleTable<Object>>,
    /// NUL-separated arguments.
    pub args: Vec<u8>,
    live_threads: AtomicUsize,
    /// Set once the last thread is gone *and* the address space and handles
    /// are released: a waiter that sees the process ended may rely on
    /// everything it held (a device, a pipe end) being free.
    torn_down: AtomicBool,
    threads: SpinLock<Vec<Weak<Thread>>>,
    killed: AtomicBool,
    exit: spin::Once<i32>,
    /// Threads waiting for this process or one of its threads to end.
    waiters: SpinLock<Vec<Arc<Thread>>>,
    /// The CPUs that have this process's page tables loaded.
    cpus: crate::tlb::CpuSet,
    /// CPU time its threads were charged as they left their CPUs.
    cpu_ns: AtomicU64,
}

static NEXT_PID: AtomicU32 = AtomicU32::new(1);
/// The first process (init): its children each start a session.
pub const INIT_PID: u32 = 1;

impl Process {
    /// A process started by `parent` (`None`: by the kernel).
    pub(super) fn new(name: &str, vm: Vm, args: Vec<u8>, parent: Option<&Process>) -> Self {
        let pid = NEXT_PID.fetch_add(1, Ordering::Relaxed);
        let session = match parent {
            Some(p) if p.pid != INIT_PID => p.session,
            _ => pid,
        };
        Self {
            pid,
            parent: parent.map_or(0, |p| p.pid),
            session,
            start_ns: crate::time::now_ns(),
            name: String::from(name),
            pml4: vm.pml4_paddr(),
            vm: SpinLock::new(Some(vm)),
            handles: SpinLock::new(HandleTable::new()),
            args,
            live_threads: AtomicUsize::new(0),
            torn_down: AtomicBool::new(false),
            threads: SpinLock::new(Vec::new()),
            killed: AtomicBool::new(false),
            exit: spin::Once::new(),
            waiters: SpinLock::new(Vec::new()),
            cpus: crate::tlb::CpuSet::new(),
            cpu_ns: AtomicU64::new(0),
        }
    }

    /// CPU time so far: what was charged plus the running stretch of each
    /// thread on a CPU now (a thread alone on its CPU may run for long
    /// without a switch).
    pub fn cpu_time_ns(&self) -> u64 {
        let now = crate::time::now_ns();
        let running: u64 = self
            .threads
            .lock()
            .iter()
            .filter_map(Weak::upgrade)
            .filter_map(|t| Some(t.user.as_ref()?.run_since.load(Ordering::Relaxed)))
            .filter(|&since| since != 0)
            .map(|since| now.saturating_sub(since))
            .sum();
        self.cpu_ns.load(Ordering::Relaxed).saturating_add(running)
    }

    /// Live threads.
    pub fn thread_count(&self) -> usize {
        self.live_threads.load(Ordering::Acquire)
    }

    /// Whether any thread is on a CPU or waiting for one.
    pub fn is_running(&self) -> bool {
        self.threads
            .lock()
            .iter()
            .filter_map(Weak::upgrade)
            .any(|t| matches!(t.state(), sched::State::Running | sched::State::Runnable))
    }

    /// Bytes of memory it holds (0 once its address space is released).
    pub fn resident_bytes(&self) -> u64 {
        self.vm.lock().as_ref().map_or(0, Vm::resident_bytes)
    }

    /// Runs `f` on the address space (`Invalid` once the process has ended).
    /// Translations `f` removed or narrowed are shot down on every CPU that
    /// runs this process before the call returns, and the frames they
    /// mapped are freed only after that, outside the lock.
    pub fn with_vm<R>(
        &self,
        f: impl FnOnce(&mut Vm) -> Result<R, pv_abi::syscall::Error>,
    ) -> Result<R, pv_abi::syscall::Error> {
        let (result, stale) = {
            let mut guard = self.vm.lock();
            let vm = guard.as_mut().ok_or(pv_abi::syscall::Error::Invalid)?;
            let result = f(vm);
            (result, vm.take_stale())
        };
        if let Some(stale) = stale {
            crate::tlb::shootdown(&self.cpus);
            stale.release();
        }
        result
    }

    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Acquire)
    }

    pub fn exit_status(&self) -> Option<i32> {
        self.exit.get().copied()
    }

    /// The exit status once every thread has ended and what the process
    /// held is released.
    pub fn ended_status(&self) -> Option<i32> {
        if self.torn_down.load(Ordering::Acquire) {
            self.exit_status()
        } else {
            None
        }
    }

    /// Starts a thread in this process.
    pub fn start_thread(
        self: &Arc<Self>,
        name: &'static str,
        frame: TrapFrame,
    ) -> Result<Arc<Thread>, pv_abi::syscall::Error> {
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
        // Each thread holds a kernel stack slot and frames: one process may
        // not take them all.
        if self.live_threads.fetch_add(1, Ordering::AcqRel) >= pv_abi::syscall::MAX_THREADS {
            self.live_threads.fetch_sub(1, Ordering::AcqRel);
            return Err(pv_abi::syscall::Error::Limit);
        }
        match sched::spawn_user(name, self.clone() as Arc<dyn UserContext>, frame, fs_base) {
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
    /// process ends (once: waiting again does not add it twice). A waiter
    /// that stops waiting for another reason calls [`Self::forget_waiter`],
    /// so timed-out waits leave nothing behind.
    pub fn add_waiter(&self) {
        self.register_waiter(&sched::current());
    }

    fn register_waiter(&self, t: &Arc<Thread>) {
        let mut w = self.waiters.lock();
        if !w.iter().any(|x| Arc::ptr_eq(x, t)) {
            w.push(t.clone());
        }
    }

    /// For `WaitMany`: registers `waiter` (if any), then says whether the
    /// process has ended (registration first, so an end after it wakes it).
    pub fn poll_end(&self, waiter: Option<&Arc<Thread>>) -> bool {
        if let Some(t) = waiter {
            self.register_waiter(t);
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

/// Back to the kernel's own page tables (idle CPUs, kernel threads).
pub fn activate_kernel_space() {
    crate::arch::x86_64::cr3::load_kernel();
}

/// The calling thread's process, if it is a user thread.
pub fn current() -> Option<Arc<Process>> {
    sched::with_current(owner_of)?
}

/// The process a user thread belongs to.
pub fn owner_of(t: &Thread) -> Option<Arc<Process>> {
    t.user.as_ref()?.owner.clone().into_any().downcast::<Process>().ok()
}

/// Ends the calling user thread with `status`. The process ends with its
/// last thread (with this status unless it was killed first), once that
/// thread is off its CPU: see `Process::thread_ended`.
pub fn exit_thread(status: i32) -> ! {
    sched::with_current(|t| {
        if let Some(u) = &t.user {
            u.status.call_once(|| status);
        }
    });
    sched::exit_current()
}

/// Ends the whole calling process with `status`.
pub fn exit_process(status: i32) -> ! {
    if let Some(p) = current() {
        p.kill(status);
    }
    exit_thread(status)
}

/// Runs on every return to user mode, to `rip`: a killed process's threads
/// end here; a return address outside user space (which IRET or SYSRET
/// would fault on in ring 0) kills the process; otherwise the time slice is
/// armed.
pub fn before_user_return(rip: u64) {
    if sched::with_current(|t| t.user.as_ref().is_some_and(|u| u.owner.must_exit())) == Some(true) {
        exit_thread(status::KILLED);
    }
    if rip >= pv_abi::syscall::layout::LOWER_HALF_END {
        if let Some(p) = current() {
            kprintln!("process {} ({}) killed: return address {rip:#x} is not a user address", p.pid, p.name);
        }
        exit_process(status::killed_by_exception(13));
    }
    sched::arm_for_user_return();
}

/// The scheduler's view of a process: it loads and leaves the address
/// space as threads come and go, and reports threads that ended.
impl UserContext for Process {
    /// Loads this process's page tables on the calling CPU. The CPU joins
    /// the process's set first, so a concurrent shootdown either sees it or
    /// happened before this CR3 load.
    fn enter(&self) {
        self.cpus.join_current();
        // `pml4` is freed only after this process's last thread is off
        // every CPU, and its kernel half is the kernel's own.
        // SAFETY: `pml4` is this process's live PML4.
        unsafe { crate::arch::x86_64::cr3::load(self.pml4) };
    }

    /// Back to the kernel's page tables as the thread leaves the CPU: idle
    /// CPUs and kernel threads never run on a process's tables, so tables
    /// are live only where one of the process's threads runs.
    fn leave(&self, ran_ns: u64) {
        self.cpu_ns.fetch_add(ran_ns, Ordering::Relaxed);
        activate_kernel_space();
        self.cpus.leave_current();
    }

    /// First entry of a user thread. The first one of process 1 (init) is
    /// the system's first user instruction.
    fn thread_starting(&self, rip: u64) {
        static FIRST: AtomicBool = AtomicBool::new(true);
        if self.pid == 1 && FIRST.swap(false, Ordering::AcqRel) {
            crate::trace::mark(pv_abi::boot_trace::USER_ENTRY);
        }
        before_user_return(rip);
    }

    /// A thread has ended and its CPU has left the page tables (the
    /// scheduler calls this from its loop, after switching away from the
    /// dead thread). The last thread to get here tears the process down: no
    /// thread of it can be running anywhere then, so no CPU is on the page
    /// tables being freed. Freeing them any earlier (as the last thread to
    /// *call* exit once did) let other CPUs run on freed, reused tables.
    fn thread_ended(&self, status: i32) {
        if self.live_threads.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.exit.call_once(|| status);
            self.killed.store(true, Ordering::Release);
            debug_assert!(self.cpus.is_empty());
            drop(self.vm.lock().take());
            drop(core::mem::take(&mut *self.handles.lock()));
            self.torn_down.store(true, Ordering::Release);
        }
        self.wake_waiters();
    }

    fn must_exit(&self) -> bool {
        self.is_killed()
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}
