//! TSC calibration against the local APIC timer, for VMMs that offer no
//! better reference (QEMU microvm under TCG: no kvmclock, no frequency leaf,
//! no ACPI PM timer). KVM and QEMU both clock the virtual APIC timer with a
//! fixed 1 ns bus cycle; this is a VMM contract, not an architectural one,
//! so it is used only when CPUID says we run under a hypervisor.
use super::error::TimeError;
use super::tsc_clock;
use crate::arch::x86_64::apic;

/// The virtual APIC bus rate of KVM and QEMU (timer ticks per second at divide-by-1).
pub const APIC_BUS_HZ: u64 = 1_000_000_000;
/// Calibration window in APIC ticks (50 us): short, because under
/// `-icount` every nanosecond of it is a guest instruction.
const WINDOW_TICKS: u32 = 50_000;

pub fn calibrate_tsc() -> Result<u64, TimeError> {
    apic::timer_free_run_start();
    let c0 = apic::timer_current_count();
    let t0 = tsc_clock::rdtsc();
    let mut c1 = c0;
    let mut t1 = t0;
    while c0.wrapping_sub(c1) < WINDOW_TICKS {
        c1 = apic::timer_current_count();
        t1 = tsc_clock::rdtsc();
        if c1 == 0 {
            break;
        }
    }
    apic::timer_free_run_stop();
    let ticks = u64::from(c0.wrapping_sub(c1));
    if ticks == 0 {
        return Err(TimeError::NoTscFrequency);
    }
    let hz = (u128::from(t1 - t0) * u128::from(APIC_BUS_HZ) / u128::from(ticks)) as u64;
    tsc_clock::check_hz(hz)
}
