//! KVM's paravirtual MSRs (Linux `kvm_para.h`): where the host is told the
//! guest-physical addresses of the areas it writes.
use pv_abi::kvm_para::{msr, steal};
use x86_64::registers::model_specific::Msr;

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
