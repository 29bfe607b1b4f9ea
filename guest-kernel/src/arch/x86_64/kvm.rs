//! KVM's paravirtual MSRs (Linux `kvm_para.h`): where the host is told the
//! guest-physical addresses of the areas it writes.
use x86_64::registers::model_specific::Msr;

const MSR_KVM_WALL_CLOCK_NEW: u32 = 0x4b56_4d00;
const MSR_KVM_SYSTEM_TIME_NEW: u32 = 0x4b56_4d01;
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
