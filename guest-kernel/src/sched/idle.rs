//! What a CPU does with nothing to run: take a user thread from the
//! busiest other CPU, else halt-poll (on KVM with poll control), else
//! `hlt` until an interrupt or a waker's IPI; and the halt-polling window.
use super::cpu::{of, CpuSched};
use super::timer::program_timer;
use crate::percpu;
use core::sync::atomic::Ordering;

/// Moves one runnable user thread from the busiest other CPU to this one.
fn steal(s: &'static CpuSched) -> bool {
    let me = percpu::index();
    let victim = (0..percpu::online_count())
        .filter(|&i| i != me)
        .filter_map(percpu::get)
        .max_by_key(|c| of(c).queue.lock().len());
    let Some(victim) = victim else { return false };
    let stolen = {
        let mut q = of(victim).queue.lock();
        let pos = q.iter().rposition(|t| t.user.is_some());
        pos.and_then(|p| q.remove(p))
    };
    match stolen {
        Some(t) => {
            t.cpu.store(me, Ordering::Release);
            s.queue.lock().push_back(t);
            true
        }
        None => false,
    }
}

pub(super) fn idle(s: &'static CpuSched) {
    if steal(s) {
        return;
    }
    let sleeper = s.sleepers.lock().first().map(|(d, _)| *d);
    program_timer(s, sleeper);
    s.idle.store(true, Ordering::SeqCst);
    s.wake_hint.store(false, Ordering::SeqCst);
    // Re-check after clearing the hint: a waker that queued before it was
    // cleared is seen here, one after sets it again.
    if s.queue.lock().is_empty() {
        let t0 = crate::time::now_ns();
        let found = crate::pv::halt_poll() && poll(s, t0, sleeper);
        if !found {
            s.halting.store(true, Ordering::SeqCst);
            // Re-check after announcing the halt: a waker that missed the
            // flag queued before we looked, one that saw it sends an IPI.
            if s.queue.lock().is_empty() && !s.wake_hint.load(Ordering::SeqCst) {
                // `sti; hlt` is atomic with respect to interrupts: one
                // arriving between the two still ends the halt.
                x86_64::instructions::interrupts::enable_and_hlt();
                x86_64::instructions::interrupts::disable();
                s.wakeups.fetch_add(1, Ordering::Relaxed);
            }
            s.halting.store(false, Ordering::SeqCst);
        }
        let idle_ns = crate::time::now_ns().saturating_sub(t0);
        s.idle_ns.fetch_add(idle_ns, Ordering::Relaxed);
        if crate::pv::halt_poll() {
            let w = s.poll_window.load(Ordering::Relaxed);
            let next = crate::pv::policy::next_window(w, idle_ns, &crate::pv::poll_params());
            s.poll_window.store(next, Ordering::Relaxed);
        }
    }
    s.idle.store(false, Ordering::SeqCst);
}

/// Halt polling: waits up to the CPU's window (never past the next
/// sleeper's deadline, whose timer is armed) for work, with interrupts on
/// so device and timer interrupts are taken as promptly as in `hlt`; their
/// handlers run just as they would from `hlt` (this is idle, no lock is
/// held) and set the wake hint when they give this CPU work. Returns
/// whether work arrived. Linux's equivalent: cpuidle-haltpoll.
fn poll(s: &CpuSched, t0: u64, sleeper: Option<u64>) -> bool {
    let window = s.poll_window.load(Ordering::Relaxed);
    if window == 0 {
        return false;
    }
    let end = t0.saturating_add(window);
    let due = sleeper.unwrap_or(u64::MAX);
    x86_64::instructions::interrupts::enable();
    let mut now = t0;
    let found = loop {
        if s.wake_hint.load(Ordering::SeqCst) || now >= due {
            break true;
        }
        if now >= end {
            break false;
        }
        core::hint::spin_loop();
        now = crate::time::now_ns();
    };
    x86_64::instructions::interrupts::disable();
    s.poll_ns.fetch_add(now.saturating_sub(t0), Ordering::Relaxed);
    if found {
        s.poll_hits.fetch_add(1, Ordering::Relaxed);
    }
    found
}
