//! The local timer, programmed for monotonic deadlines (ns): TSC-deadline
//! mode when the CPU offers it, else the APIC's one-shot countdown at the
//! rate set here. The APIC driver below knows only TSC values and ticks.
use super::{now_ns, ns_to_tsc_deadline, tsc_clock::NS_PER_SEC};
use crate::arch::x86_64::apic;
use core::sync::atomic::{AtomicU64, Ordering};

/// APIC timer ticks per second at divide-by-1, for one-shot mode.
static ONESHOT_HZ: AtomicU64 = AtomicU64::new(0);

/// Sets the one-shot timer's rate (CPUs without TSC-deadline).
pub fn set_oneshot_hz(hz: u64) {
    ONESHOT_HZ.store(hz, Ordering::Relaxed);
}

/// Arms the calling CPU's timer to fire `vector` at `deadline_ns`,
/// replacing any earlier arm.
pub fn arm(vector: u8, deadline_ns: u64) {
    if apic::has_tsc_deadline() {
        apic::arm_tsc_deadline(vector, ns_to_tsc_deadline(deadline_ns));
    } else {
        let delta_ns = deadline_ns.saturating_sub(now_ns()).max(1);
        let hz = ONESHOT_HZ.load(Ordering::Relaxed).max(1);
        let ticks = (u128::from(delta_ns) * u128::from(hz) / u128::from(NS_PER_SEC)).clamp(1, u128::from(u32::MAX));
        apic::arm_oneshot(vector, ticks as u32);
    }
}

/// Measures the APIC timer's rate against the kernel clock (only needed
/// without TSC-deadline and outside a hypervisor with a known bus rate),
/// and uses it for one-shot mode.
pub fn calibrate_oneshot() -> u64 {
    // 100 us: enough for a few-permille estimate, cheap under -icount.
    apic::timer_free_run_start();
    let t0 = now_ns();
    let c0 = apic::timer_current_count();
    while now_ns() - t0 < 100_000 {
        core::hint::spin_loop();
    }
    let c1 = apic::timer_current_count();
    let t1 = now_ns();
    apic::timer_free_run_stop();
    let hz = u64::from(c0 - c1) * NS_PER_SEC / (t1 - t0).max(1);
    set_oneshot_hz(hz);
    hz
}
