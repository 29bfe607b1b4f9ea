//! KVM's paravirtual MSRs (Linux `kvm_para.h`): where the host is told the
//! guest-physical addresses of the areas it writes.
use core::ptr::read_volatile;
use core::sync::atomic::{compiler_fence, AtomicBool, Ordering};
use pv_abi::kvm_para::{msr, steal};
use x86_64::registers::model_specific::Msr;

/// Reads a record the host rewrites in place under KVM's version protocol
/// (the version is odd while the host writes, and bumped twice per update):
/// `read` runs between two loads of `*version` until both are the same even
/// value. `None` while the version is 0 (never written) or after `tries`
/// lost races (a broken host, not a busy one).
///
/// # Safety
/// `version` must point to an aligned `u32` that stays mapped; `read` may
/// only load from the record (the host may write it meanwhile).
#[inline(always)]
pub unsafe fn read_versioned<T>(version: *const u32, tries: u32, mut read: impl FnMut() -> T) -> Option<T> {
    for _ in 0..tries {
        // SAFETY: per the caller's contract; volatile because the host writes it behind our back.
        let v1 = unsafe { read_volatile(version) };
        if v1 == 0 {
            return None;
        }
        if v1 & 1 != 0 {
            core::hint::spin_loop();
            continue;
        }
        // x86 does not reorder loads with loads; the fences stop the compiler.
        compiler_fence(Ordering::SeqCst);
        let value = read();
        compiler_fence(Ordering::SeqCst);
        // SAFETY: as above.
        if unsafe { read_volatile(version) } == v1 {
            return Some(value);
        }
    }
    None
}

const MSR_KVM_WALL_CLOCK_NEW: u32 = msr::WALL_CLOCK_NEW;
const MSR_KVM_SYSTEM_TIME_NEW: u32 = msr::SYSTEM_TIME_NEW;
/// Bit 0 of MSR_KVM_SYSTEM_TIME_NEW: the host updates the area.
const SYSTEM_TIME_ENABLE: u64 = 1;

/// Asks the host to keep the calling CPU's `pvclock_vcpu_time_info` at
/// `gpa` up to date; `None` stops it.
///
/// # Safety
/// KVM_FEATURE_CLOCKSOURCE2 must be offered (else the MSR write faults),
/// and `gpa` must be a 32-byte area nothing else uses, for as long as it is
/// registered: the host writes it at any time.
pub unsafe fn set_system_time(gpa: Option<u64>) {
    let v = gpa.map_or(0, |g| g | SYSTEM_TIME_ENABLE);
    // SAFETY: per the caller's contract.
    unsafe { Msr::new(MSR_KVM_SYSTEM_TIME_NEW).write(v) }
}

/// Asks the host to write the wall clock at kvmclock zero to `gpa` (once,
/// during this write).
///
/// # Safety
/// As for [`set_system_time`], for a `pvclock_wall_clock` area.
pub unsafe fn read_wall_clock_into(gpa: u64) {
    // SAFETY: per the caller's contract.
    unsafe { Msr::new(MSR_KVM_WALL_CLOCK_NEW).write(gpa) }
}

/// Asks the host to keep the calling CPU's steal-time record at `gpa` up to
/// date; `None` stops it.
///
/// # Safety
/// KVM_FEATURE_STEAL_TIME must be offered (else the MSR write faults), and
/// `gpa` must be a zeroed, 64-byte aligned area of 64 bytes that nothing else
/// uses for as long as it is registered: the host writes it at any time.
pub unsafe fn set_steal_time(gpa: Option<u64>) {
    let v = gpa.map_or(0, |g| g | steal::ENABLE);
    // SAFETY: per the caller's contract.
    unsafe { Msr::new(msr::STEAL_TIME).write(v) }
}

/// Tells the host whether it may poll when the calling vCPU halts (KVM's
/// own halt polling); a guest that polls before `hlt` says no.
///
/// # Safety
/// KVM_FEATURE_POLL_CONTROL must be offered (else the MSR write faults).
pub unsafe fn set_host_halt_poll(allowed: bool) {
    // SAFETY: per the caller's contract; bit 0 is the only defined bit.
    unsafe { Msr::new(msr::POLL_CONTROL).write(u64::from(allowed)) }
}

/// Bit 0 of MSR_KVM_PV_EOI_EN: the host uses the word.
const PV_EOI_ENABLE: u64 = 1;

/// Points the host at the calling CPU's PV EOI word (`None` stops it): the
/// host sets bit 0 when it injects an interrupt whose EOI it will do itself.
///
/// # Safety
/// KVM_FEATURE_PV_EOI must be offered, and `gpa` must be a 4-byte aligned
/// word nothing else uses while it is registered.
pub unsafe fn set_pv_eoi(gpa: Option<u64>) {
    let v = gpa.map_or(0, |g| g | PV_EOI_ENABLE);
    // SAFETY: per the caller's contract.
    unsafe { Msr::new(msr::PV_EOI_EN).write(v) }
}

/// `vmmcall` (AMD) rather than `vmcall` (Intel): with KVM's fix-hypercall
/// quirk off, the other vendor's instruction is a #UD.
static VMMCALL: AtomicBool = AtomicBool::new(false);

/// Chooses the hypercall instruction; on the boot CPU, before any hypercall.
pub fn init_hypercalls(amd: bool) {
    VMMCALL.store(amd, Ordering::Relaxed);
}

/// A KVM hypercall (`nr` in RAX, arguments in RBX, RCX, RDX, RSI; the result
/// in RAX, negative for an error such as -KVM_ENOSYS).
///
/// # Safety
/// The host must offer the feature behind `nr` (an unknown number is only an
/// error, but on some hosts, kvm-pvm among them, any hypercall hangs the vCPU).
pub unsafe fn hypercall(nr: u64, a0: u64, a1: u64, a2: u64, a3: u64) -> i64 {
    let ret: u64;
    // RBX is reserved by LLVM, so it is swapped in and out around the call.
    if VMMCALL.load(Ordering::Relaxed) {
        // SAFETY: per the caller's contract; the host reads registers only.
        unsafe {
            core::arch::asm!("xchg {a0}, rbx", "vmmcall", "xchg {a0}, rbx", a0 = inout(reg) a0 => _,
                inout("rax") nr => ret, in("rcx") a1, in("rdx") a2, in("rsi") a3, options(nostack))
        }
    } else {
        // SAFETY: as above.
        unsafe {
            core::arch::asm!("xchg {a0}, rbx", "vmcall", "xchg {a0}, rbx", a0 = inout(reg) a0 => _,
                inout("rax") nr => ret, in("rcx") a1, in("rdx") a2, in("rsi") a3, options(nostack))
        }
    }
    ret as i64
}
