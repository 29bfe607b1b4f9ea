//! Per-CPU data, reached through GS base. `gs:0` holds a pointer to the
//! CPU's own `PerCpu`, so `current()` is one load.
use crate::arch::x86_64::gdt::CpuTables;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use x86_64::registers::model_specific::GsBase;
use x86_64::VirtAddr;

pub use pv_abi::MAX_CPUS;

#[repr(C)]
pub struct PerCpu {
    /// Must stay first: `gs:0`.
    self_ptr: *const PerCpu,
    /// Kernel stack top for entries from user mode (`gs:8`).
    pub kernel_rsp: u64,
    /// Scratch for the user RSP on syscall entry (`gs:16`).
    pub user_rsp: u64,
    pub index: usize,
    pub apic_id: u32,
    /// User-mode state (SYSCALL MSRs, SSE/XSAVE) is set up on this CPU.
    pub user_ready: core::sync::atomic::AtomicBool,
    /// TLB-flush IPIs this CPU has served ([`crate::tlb`]).
    pub tlb_acks: core::sync::atomic::AtomicU64,
    pub tables: CpuTables,
}

// SAFETY: a PerCpu is only mutated by its own CPU, except fields that are
// themselves atomic.
unsafe impl Sync for PerCpu {}
// SAFETY: the block holds no thread-bound state; it is 'static and only its
// own CPU mutates it.
unsafe impl Send for PerCpu {}

static CPUS: [AtomicPtr<PerCpu>; MAX_CPUS] = [const { AtomicPtr::new(core::ptr::null_mut()) }; MAX_CPUS];
static ONLINE: AtomicUsize = AtomicUsize::new(0);

impl PerCpu {
    pub const fn new(index: usize, apic_id: u32) -> Self {
        Self {
            self_ptr: core::ptr::null(),
            kernel_rsp: 0,
            user_rsp: 0,
            index,
            apic_id,
            user_ready: core::sync::atomic::AtomicBool::new(false),
            tlb_acks: core::sync::atomic::AtomicU64::new(0),
            tables: CpuTables::new(),
        }
    }
}

/// Makes `cpu` the calling CPU's per-CPU block and publishes it.
pub fn install(cpu: &'static mut PerCpu) {
    cpu.self_ptr = cpu as *const PerCpu;
    GsBase::write(VirtAddr::new(cpu as *const PerCpu as u64));
    CPUS[cpu.index].store(cpu as *mut PerCpu, Ordering::Release);
    ONLINE.fetch_add(1, Ordering::AcqRel);
}

/// The calling CPU's block. Only valid after `install` on this CPU.
pub fn current() -> &'static PerCpu {
    let p: *const PerCpu;
    // SAFETY: gs:0 holds the self pointer written by `install`.
    unsafe { core::arch::asm!("mov {}, gs:[0]", out(reg) p, options(nostack, readonly, preserves_flags)) };
    // SAFETY: PerCpu blocks are never freed.
    unsafe { &*p }
}

/// Sets the stack the CPU switches to on entry from user mode (the running
/// thread's kernel stack): TSS.RSP0 for interrupts, `gs:8` for `syscall`.
pub fn set_kernel_stack(top: u64) {
    let cpu = current() as *const PerCpu as *mut PerCpu;
    // SAFETY: only this CPU writes its own block's entry-stack fields, with
    // interrupts off; the TSS is read by the CPU only on the next entry.
    unsafe {
        (*cpu).kernel_rsp = top;
        (*cpu).tables.tss.privilege_stack_table[0] = x86_64::VirtAddr::new(top);
    }
}

/// The calling CPU's index, or 0 before per-CPU data exists.
pub fn index() -> usize {
    if GsBase::read().as_u64() == 0 {
        0
    } else {
        current().index
    }
}

pub fn get(index: usize) -> Option<&'static PerCpu> {
    let p = CPUS.get(index)?.load(Ordering::Acquire);
    // SAFETY: published blocks are 'static.
    (!p.is_null()).then(|| unsafe { &*p })
}

pub fn online_count() -> usize {
    ONLINE.load(Ordering::Acquire)
}
