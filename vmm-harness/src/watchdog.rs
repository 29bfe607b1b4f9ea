//! `--timeout` without a helper thread (spawning one costs ~45 us before the
//! first KVM_RUN here): a POSIX timer sends SIGALRM to vCPU 0's thread at the
//! deadline, then every 10 ms, so a signal that lands outside KVM_RUN is not
//! lost. The handler only sets a flag; KVM_RUN returns EINTR and the run loop
//! checks [`expired`] before every KVM_RUN. At the deadline vCPU 0 also
//! signals the other vCPU threads ([`alarm_others`]), so that halted vCPUs
//! leave KVM_RUN too and each can describe its state (postmortem.rs).

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Set by the signal handler; confirmed against [`DEADLINE`] so that a stray
/// SIGALRM cannot end the run early.
static ALARMED: AtomicBool = AtomicBool::new(false);
static DEADLINE: OnceLock<(Instant, u64)> = OnceLock::new();

/// The vCPU threads other than vCPU 0's (which the timer signals itself).
static OTHERS: Mutex<Vec<libc::pthread_t>> = Mutex::new(Vec::new());

/// Re-fire period after the deadline.
const REPEAT: Duration = Duration::from_millis(10);

extern "C" fn on_alarm(_signal: libc::c_int) {
    // Only async-signal-safe work here.
    ALARMED.store(true, Ordering::Relaxed);
}

/// `Some(timeout in seconds)` once the deadline has passed.
pub fn expired() -> Option<u64> {
    if !ALARMED.load(Ordering::Relaxed) {
        return None;
    }
    let &(deadline, secs) = DEADLINE.get()?;
    if Instant::now() >= deadline {
        Some(secs)
    } else {
        ALARMED.store(false, Ordering::Relaxed);
        None
    }
}

/// Called by each vCPU thread but vCPU 0's before its first KVM_RUN.
pub fn register_other_vcpu_thread() {
    // SAFETY: pthread_self has no preconditions.
    let me = unsafe { libc::pthread_self() };
    OTHERS.lock().unwrap_or_else(|e| e.into_inner()).push(me);
}

/// How many threads [`alarm_others`] signals.
pub fn others() -> usize {
    OTHERS.lock().unwrap_or_else(|e| e.into_inner()).len()
}

/// Interrupt every other vCPU thread's KVM_RUN (after the deadline, so each
/// finds [`expired`] set).
pub fn alarm_others() {
    for &t in OTHERS.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        // SAFETY: `t` is a vCPU thread, and vCPU threads run until the process
        // exits; the SIGALRM handler installed by `arm` only sets a flag.
        unsafe { libc::pthread_kill(t, libc::SIGALRM) };
    }
}

fn timespec(d: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: libc::time_t::try_from(d.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: d.subsec_nanos() as libc::c_long, // < 10^9
    }
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Signal the calling thread at `start + secs` and every 10 ms after that.
pub fn arm(start: Instant, secs: u64) -> io::Result<()> {
    let deadline = start + Duration::from_secs(secs);
    let _ = DEADLINE.set((deadline, secs));

    // SAFETY: an all-zero sigaction is valid (empty mask, no flags); the handler
    // is an `extern "C" fn(c_int)` that only touches an atomic. No SA_RESTART, so
    // a blocked KVM_RUN returns EINTR.
    let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
    sa.sa_sigaction = on_alarm as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: sigaction reads the initialised `sa`; the old action is not requested.
    check(unsafe { libc::sigaction(libc::SIGALRM, &sa, std::ptr::null_mut()) })?;

    // SAFETY: an all-zero sigevent is valid; the fields that matter are set below.
    let mut sev: libc::sigevent = unsafe { std::mem::zeroed() };
    sev.sigev_notify = libc::SIGEV_THREAD_ID;
    sev.sigev_signo = libc::SIGALRM;
    // SAFETY: gettid has no preconditions.
    sev.sigev_notify_thread_id = unsafe { libc::gettid() };
    let mut timer: libc::timer_t = std::ptr::null_mut();
    // SAFETY: timer_create reads `sev` and writes the new timer id into `timer`.
    check(unsafe { libc::timer_create(libc::CLOCK_MONOTONIC, &mut sev, &mut timer) })?;

    // A zero it_value would disarm the timer; fire "now" instead.
    let first = deadline.saturating_duration_since(Instant::now()).max(Duration::from_nanos(1));
    let spec = libc::itimerspec { it_interval: timespec(REPEAT), it_value: timespec(first) };
    // SAFETY: `timer` was created above; timer_settime reads `spec` only.
    check(unsafe { libc::timer_settime(timer, 0, &spec, std::ptr::null_mut()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespec_conversion() {
        let t = timespec(Duration::new(3, 5_000_000));
        assert_eq!((t.tv_sec, t.tv_nsec), (3, 5_000_000));
    }
}
