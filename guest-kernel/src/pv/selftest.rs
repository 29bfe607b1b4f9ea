//! Paravirtual self-tests (`selftest=pv` runs only these, `selftest=pv-steal`
//! only steal time). Each passes trivially where its feature is not in use
//! (QEMU TCG), and prints what it measured where it is, for the host tests.
use crate::percpu;
use crate::selftest_api::SelfTest;
use crate::sync::SpinLock;
use crate::tlb::CpuSet;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use x86_64::instructions::interrupts;

pub fn all() -> &'static [SelfTest] {
    &[
        SelfTest { name: "pv-steal: records sane and monotonic", run: steal_sane },
        SelfTest { name: "pv-poll: window adapts", run: halt_poll_adapts },
        SelfTest { name: "pv-lock: contended lock stays exclusive", run: lock_contention },
        SelfTest { name: "pv-tlb: shootdown reaches every cpu", run: shootdown_reaches_every_cpu },
    ]
}

fn steal_sane() -> Result<(), String> {
    if !super::steal_time_in_use() {
        return Ok(());
    }
    // The total is not bounded by the time since the VM started: KVM counts
    // the vCPU thread's run_delay since the thread started, which can be
    // before the VM was created (vmm-harness runs vCPU 0 on its main
    // thread). Only increases are checked against the time they took.
    for cpu in 0..percpu::online_count() {
        let s = super::steal::read(cpu).ok_or_else(|| format!("cpu {cpu}: the host never wrote the record"))?;
        if s.version & 1 != 0 || s.flags != 0 {
            return Err(format!("cpu {cpu}: version {} flags {:#x}", s.version, s.flags));
        }
    }
    let me = percpu::index();
    let before = super::steal::read(me).ok_or("own record vanished")?;
    let t0 = crate::time::now_ns();
    let mut samples = 0u64;
    let mut last = before.steal_ns;
    // `pv_busy_ms=`: a host test makes another process compete that long.
    let end = t0.saturating_add(super::selftest_ms().0 * 1_000_000);
    while crate::time::now_ns() < end {
        // Interrupts stay off: the CPU never halts, so all the time it did
        // not run is steal.
        if let Some(s) = super::steal::read(me) {
            if s.steal_ns < last {
                return Err(format!("steal went backwards: {last} -> {}", s.steal_ns));
            }
            last = s.steal_ns;
            samples += 1;
        }
        core::hint::spin_loop();
    }
    let wall = crate::time::now_ns() - t0;
    let busy_end = super::steal::read(me).ok_or("own record vanished")?;
    let stolen = busy_end.steal_ns.saturating_sub(before.steal_ns);
    if stolen > wall {
        return Err(format!("{stolen} ns stolen in {wall} ns"));
    }
    // `pv_rest_ms=`: halt that long before reading the total, so the host's
    // run_delay for this vCPU stands still around the reading (a halted vCPU
    // is not runnable) and a host test can compare the two; printing, each
    // byte a VM exit, would otherwise keep adding to it.
    let rest_ms = super::selftest_ms().1;
    if rest_ms > 0 {
        kprintln!("pv-steal: cpu {me}: resting {rest_ms} ms");
        crate::sched::sleep_until(crate::time::now_ns() + rest_ms * 1_000_000);
    }
    let after = super::steal::read(me).ok_or("own record vanished")?;
    kprintln!(
        "pv-steal: cpu {me}: {} us of {} us busy ({}%), total {} us, version {} -> {}, {samples} samples",
        stolen / 1000,
        wall / 1000,
        stolen * 100 / wall.max(1),
        after.steal_ns / 1000,
        before.version,
        after.version
    );
    Ok(())
}

fn halt_poll_adapts() -> Result<(), String> {
    if !super::halt_poll() {
        return Ok(());
    }
    let me = percpu::index();
    let stats = || crate::sched::cpu_stats(me).ok_or("own cpu not online");
    let params = super::poll_params();
    let max = params.max_ns;
    // Sleeps of growing length: once a sleep outlasts the cost of going
    // idle (hundreds of us where ring 0 is emulated, as on kvm-pvm), the
    // CPU idles briefly before each wake-up, which polling should catch.
    let mut exercised = 0;
    let mut sleep_us = 0;
    let mut too_long = 0;
    while exercised < 2 && too_long < 2 && sleep_us < 2_000 {
        sleep_us += 50;
        const N: u64 = 20;
        let a = stats()?;
        for _ in 0..N {
            crate::sched::sleep_until(crate::time::now_ns() + sleep_us * 1000);
        }
        let b = stats()?;
        let (hits, halts) = (b.poll_hits - a.poll_hits, b.halts - a.halts);
        let periods = hits + halts;
        if periods == 0 {
            continue;
        }
        let per_period = (b.idle_ns - a.idle_ns) / periods.max(1);
        kprintln!(
            "pv-poll: cpu {me}: {N} sleeps of {sleep_us} us: {periods} idle periods of {} us, {hits} ended \
             polling, {halts} halted; window {} us",
            per_period / 1000,
            b.poll_window_ns / 1000
        );
        // Idle periods well beyond the longest window: longer sleeps only
        // make them longer.
        if periods >= N / 2 && per_period > max * 2 {
            too_long += 1;
        }
        if periods >= N / 2 && per_period <= max * 3 / 4 {
            exercised += 1;
            if hits < periods / 2 {
                return Err(format!("only {hits} of {periods} short idle periods ended by polling"));
            }
        }
    }
    // Long sleeps: polling only burns CPU, so the window shrinks away.
    // Each halves the window; 30 take any window up to 10 ms to 0.
    let before_long = stats()?.poll_window_ns;
    let long_ns = max * 2 + 1_000_000;
    for _ in 0..30 {
        crate::sched::sleep_until(crate::time::now_ns() + long_ns);
    }
    let c = stats()?;
    kprintln!(
        "pv-poll: cpu {me}: after 30 sleeps of {} us window {} us{}",
        long_ns / 1000,
        c.poll_window_ns / 1000,
        if exercised > 0 { "" } else { " (no short idle periods seen: polling not exercised)" }
    );
    // Not necessarily to 0: a wake-up that ends a halt early (a timer armed
    // for an earlier deadline, an IPI, the other vCPU of an overcommitted
    // host) is a short idle period and grows it again, as it would in Linux,
    // but from nothing only to the first window, and no further once long
    // periods follow.
    let shrank = c.poll_window_ns <= params.grow_start_ns || c.poll_window_ns < before_long;
    if !shrank {
        return Err(format!("window did not shrink: {before_long} -> {} ns over long idle periods", c.poll_window_ns));
    }
    Ok(())
}

/// Every CPU takes one lock in turns, half the time with interrupts off
/// (where only a KVM_HC_KICK_CPU kick can end a halt), and now and then
/// holds it long enough for waiters to leave the spin for the slow path.
/// The count is read, held, then written: two holders at once lose updates.
fn lock_contention() -> Result<(), String> {
    const HOLD_EVERY: u64 = 16;
    static LOCK: SpinLock<u64> = SpinLock::new(0);
    static ITERS: AtomicU64 = AtomicU64::new(0);
    ITERS.store(super::selftest_lock_iters(), Ordering::Relaxed);
    *LOCK.lock() = 0;
    let n = percpu::online_count();
    let (halts0, kicks0) = crate::sync::slow_path_counts();
    let t0 = crate::time::now_ns();
    let threads: Vec<_> = (0..n)
        .map(|c| {
            crate::sched::spawn(
                "st-pv-lock",
                c,
                |_| {
                    // Kernel threads start with interrupts off.
                    let was_on = interrupts::are_enabled();
                    interrupts::enable();
                    for i in 0..ITERS.load(Ordering::Relaxed) {
                        let body = || {
                            let mut g = LOCK.lock();
                            let v = *g;
                            if i % HOLD_EVERY == 0 {
                                for _ in 0..3 * crate::sync::SPIN_LIMIT {
                                    core::hint::spin_loop();
                                }
                            }
                            *g = v + 1;
                        };
                        if i % 2 == 1 {
                            interrupts::without_interrupts(body);
                        } else {
                            body();
                        }
                    }
                    if !was_on {
                        interrupts::disable();
                    }
                },
                0,
            )
        })
        .collect::<Result<_, _>>()
        .map_err(|e| format!("spawn: {e}"))?;
    threads.iter().for_each(|t| crate::sched::join(t));
    let us = (crate::time::now_ns() - t0) / 1000;
    let (halts, kicks) = crate::sync::slow_path_counts();
    let got = *LOCK.lock();
    kprintln!(
        "pv-lock: {n} cpus, {got} acquisitions in {us} us, {} halted waits, {} kicks",
        halts - halts0,
        kicks - kicks0
    );
    let want = ITERS.load(Ordering::Relaxed) * n as u64;
    (got == want).then_some(()).ok_or_else(|| format!("count {got}, want {want}: two holders at once"))
}

/// One CPU shoots down an address space that every other CPU has loaded
/// (here, joined while spinning in a kernel thread), many times: each round
/// returns only once every target flushed, or was skipped because the host
/// had it preempted and flushes it on entry (PV TLB flush).
fn shootdown_reaches_every_cpu() -> Result<(), String> {
    const ROUNDS: u64 = 200;
    static SET: CpuSet = CpuSet::new();
    static JOINED: AtomicUsize = AtomicUsize::new(0);
    static STOP: AtomicBool = AtomicBool::new(false);
    let n = percpu::online_count();
    let me = percpu::index();
    if n < 2 {
        return Ok(());
    }
    JOINED.store(0, Ordering::SeqCst);
    STOP.store(false, Ordering::SeqCst);
    let threads: Vec<_> = (0..n)
        .filter(|&c| c != me)
        .map(|c| {
            crate::sched::spawn(
                "st-pv-tlb",
                c,
                |_| {
                    SET.join_current();
                    JOINED.fetch_add(1, Ordering::SeqCst);
                    // Kernel threads run with interrupts off; the flush
                    // IPI must be taken here.
                    let was_on = interrupts::are_enabled();
                    interrupts::enable();
                    while !STOP.load(Ordering::SeqCst) {
                        core::hint::spin_loop();
                    }
                    if !was_on {
                        interrupts::disable();
                    }
                    SET.leave_current();
                },
                0,
            )
        })
        .collect::<Result<_, _>>()
        .map_err(|e| format!("spawn: {e}"))?;
    while JOINED.load(Ordering::SeqCst) < n - 1 {
        crate::sched::yield_now();
    }
    let acks =
        || (0..n).filter(|&c| c != me).filter_map(percpu::get).map(|c| c.tlb_acks.load(Ordering::SeqCst)).sum::<u64>();
    let (acks0, skipped0) = (acks(), crate::tlb::skipped_preempted());
    let t0 = crate::time::now_ns();
    for _ in 0..ROUNDS {
        crate::tlb::shootdown(&SET);
    }
    let ns = crate::time::now_ns() - t0;
    STOP.store(true, Ordering::SeqCst);
    threads.iter().for_each(|t| crate::sched::join(t));
    let (acked, skipped) = (acks() - acks0, crate::tlb::skipped_preempted() - skipped0);
    kprintln!(
        "pv-tlb: {ROUNDS} shootdowns of {} cpus in {} us ({} ns each): {acked} acks, {skipped} skipped as preempted",
        n - 1,
        ns / 1000,
        ns / ROUNDS
    );
    let want = ROUNDS * (n as u64 - 1);
    (acked + skipped >= want).then_some(()).ok_or_else(|| format!("{acked} acks + {skipped} skipped, want {want}"))
}
