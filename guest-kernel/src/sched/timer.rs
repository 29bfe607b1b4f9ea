//! Time slices and the local timer: when a user thread's slice ends
//! (later by what the host stole from it), and arming the timer for the
//! earliest of that and the next sleeper's deadline, without reprogramming
//! it on every return to user mode.
use super::cpu::{here, CpuSched};
use crate::arch::x86_64::trap::vector;
use crate::percpu;
use core::sync::atomic::Ordering;

/// How long a user thread runs before others waiting for its CPU get a turn.
pub(super) const TIME_SLICE_NS: u64 = 10_000_000;

/// At the nominal end of a slice: if the host stole some of it, moves the
/// end later by that much (the next return to user mode arms the timer for
/// it) and says so. Without steal time the counter reads 0 and the slice
/// simply ends.
pub(super) fn slice_extended_by_steal(s: &CpuSched) -> bool {
    let now = crate::time::now_ns();
    let steal = crate::pv::steal_ns(percpu::index());
    let start = s.slice_start.load(Ordering::Relaxed);
    let used = crate::pv::policy::charged_ns(start, now, s.slice_steal.load(Ordering::Relaxed), steal);
    match crate::pv::policy::slice_end(now, used, TIME_SLICE_NS) {
        Some(end) => {
            s.slice_end.store(end, Ordering::Relaxed);
            true
        }
        None => false,
    }
}

/// Before a thread returns to user mode: arm the timer for the earliest of
/// the end of its time slice (counted from when it got the CPU, and only if
/// another thread waits for this CPU) and the next sleeper's deadline; a
/// thread alone on its CPU runs untimed.
pub fn arm_for_user_return() {
    let s = here();
    let slice = (!s.queue.lock().is_empty()).then(|| s.slice_end.load(Ordering::Relaxed));
    let sleeper = s.sleepers.lock().first().map(|(d, _)| *d);
    let deadline = match (slice, sleeper) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    program_timer(s, deadline);
}

/// Programs this CPU's timer for `deadline` unless it is already armed for
/// that time or earlier. A later deadline, or none, leaves the armed one in
/// place: its one early interrupt costs less than re-programming the timer
/// (a TSC conversion and an MSR write) on most returns to user mode, which
/// is what a thread waiting with a timeout, request after request, caused.
/// The handlers re-check (sleepers by their deadlines, the slice by its
/// end), and every return to user mode and every idle pass arms again.
pub(super) fn program_timer(s: &CpuSched, deadline: Option<u64>) {
    let Some(d) = deadline else { return };
    if s.armed.load(Ordering::Relaxed) <= d {
        return;
    }
    s.armed.store(d, Ordering::Relaxed);
    crate::time::timer::arm(vector::TIMER, d);
}
