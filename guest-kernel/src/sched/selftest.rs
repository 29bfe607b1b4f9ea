//! Scheduler, SMP, IPI and timer self-tests.
use crate::percpu;
use crate::selftest_api::SelfTest;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

pub fn all() -> &'static [SelfTest] {
    &[
        SelfTest { name: "smp: every cpu runs a thread", run: every_cpu_runs },
        SelfTest { name: "ipi: ping-pong between all cpu pairs", run: ipi_ping_pong },
        SelfTest { name: "time: monotonic across cpus", run: clock_monotonic_across_cpus },
        SelfTest { name: "timer: sleep deadlines met", run: sleep_deadlines },
        SelfTest { name: "sched: round-robin fairness", run: fairness },
    ]
}

fn cpus() -> usize {
    percpu::online_count()
}

fn every_cpu_runs() -> Result<(), String> {
    static RAN: AtomicU64 = AtomicU64::new(0);
    RAN.store(0, Ordering::SeqCst);
    let threads: Vec<_> = (0..cpus())
        .map(|c| {
            super::spawn(
                "st-percpu",
                c,
                |c| {
                    if percpu::index() == c {
                        RAN.fetch_or(1 << c, Ordering::SeqCst);
                    }
                },
                c,
            )
        })
        .collect::<Result<_, _>>()
        .map_err(|e| format!("spawn: {e}"))?;
    threads.iter().for_each(|t| super::join(t));
    let want = if cpus() == 64 { u64::MAX } else { (1u64 << cpus()) - 1 };
    let got = RAN.load(Ordering::SeqCst);
    (got == want).then_some(()).ok_or_else(|| format!("cpus that ran their thread: {got:#b}, want {want:#b}"))
}

/// Two threads on different CPUs hand a token back and forth; every hand-off
/// is a wake of a parked thread on the other CPU, i.e. an IPI to an idle CPU.
fn ipi_ping_pong() -> Result<(), String> {
    const ROUNDS: u64 = 50;
    let n = cpus();
    if n < 2 {
        return Ok(());
    }
    for a in 0..n {
        for b in 0..n {
            if a < b {
                pair(a, b, ROUNDS)?;
            }
        }
    }
    Ok(())
}

struct PingPong {
    token: AtomicU64,
    peers: crate::sync::SpinLock<[Option<Arc<super::Thread>>; 2]>,
    rounds: u64,
}

static PP: crate::sync::SpinLock<Option<Arc<PingPong>>> = crate::sync::SpinLock::new(None);

fn pair(a: usize, b: usize, rounds: u64) -> Result<(), String> {
    let pp = Arc::new(PingPong { token: AtomicU64::new(0), peers: crate::sync::SpinLock::new([None, None]), rounds });
    *PP.lock() = Some(pp.clone());
    fn side(me: usize) {
        let pp = PP.lock().clone().expect("ping-pong state set before spawn");
        // Wait until both peers are registered.
        while pp.peers.lock().iter().any(|p| p.is_none()) {
            super::yield_now();
        }
        let other = pp.peers.lock()[1 - me].clone().expect("peer registered");
        loop {
            let t = pp.token.load(Ordering::SeqCst);
            if t >= 2 * pp.rounds {
                super::wake(&other);
                return;
            }
            if t % 2 == me as u64 {
                pp.token.store(t + 1, Ordering::SeqCst);
                super::wake(&other);
            } else {
                super::park();
            }
        }
    }
    let ta = super::spawn("st-ping", a, side, 0).map_err(|e| format!("{e}"))?;
    let tb = super::spawn("st-pong", b, side, 1).map_err(|e| format!("{e}"))?;
    *pp.peers.lock() = [Some(ta.clone()), Some(tb.clone())];
    super::join(&ta);
    super::join(&tb);
    let t = pp.token.load(Ordering::SeqCst);
    (t == 2 * rounds).then_some(()).ok_or_else(|| format!("cpus {a}<->{b}: token {t}, want {}", 2 * rounds))
}

fn clock_monotonic_across_cpus() -> Result<(), String> {
    static LAST: AtomicU64 = AtomicU64::new(0);
    static BAD: AtomicU64 = AtomicU64::new(0);
    static WORST: AtomicU64 = AtomicU64::new(0);
    LAST.store(0, Ordering::SeqCst);
    BAD.store(0, Ordering::SeqCst);
    let threads: Vec<_> = (0..cpus())
        .map(|c| {
            super::spawn(
                "st-clock",
                c,
                |_| {
                    for i in 0..2000 {
                        let seen = LAST.load(Ordering::SeqCst);
                        let now = crate::time::now_ns();
                        if now < seen {
                            BAD.fetch_add(1, Ordering::SeqCst);
                            WORST.fetch_max(seen - now, Ordering::SeqCst);
                        }
                        LAST.fetch_max(now, Ordering::SeqCst);
                        if i % 256 == 0 {
                            super::yield_now();
                        }
                    }
                },
                0,
            )
        })
        .collect::<Result<_, _>>()
        .map_err(|e| format!("spawn: {e}"))?;
    threads.iter().for_each(|t| super::join(t));
    match BAD.load(Ordering::SeqCst) {
        0 => Ok(()),
        n => Err(format!("{n} readings went backwards, worst by {} ns", WORST.load(Ordering::SeqCst))),
    }
}

fn sleep_deadlines() -> Result<(), String> {
    // Generous lateness bound: TCG on a shared host is slow and noisy; the
    // point is that sleepers wake (tickless idle re-arms the timer) and never early.
    const LATE_NS: u64 = 200_000_000;
    static FAIL: AtomicUsize = AtomicUsize::new(0);
    FAIL.store(0, Ordering::SeqCst);
    let threads: Vec<_> = (0..cpus())
        .map(|c| {
            super::spawn(
                "st-sleep",
                c,
                |_| {
                    for ms in [1u64, 3, 10] {
                        let t0 = crate::time::now_ns();
                        let deadline = t0 + ms * 1_000_000;
                        super::sleep_until(deadline);
                        let t1 = crate::time::now_ns();
                        if t1 < deadline || t1 - deadline > LATE_NS {
                            FAIL.fetch_add(1, Ordering::SeqCst);
                            kprintln!(
                                "  sleep {ms} ms on cpu {}: woke {} us after deadline",
                                percpu::index(),
                                (t1 as i64 - deadline as i64) / 1000
                            );
                        }
                    }
                },
                0,
            )
        })
        .collect::<Result<_, _>>()
        .map_err(|e| format!("spawn: {e}"))?;
    threads.iter().for_each(|t| super::join(t));
    match FAIL.load(Ordering::SeqCst) {
        0 => Ok(()),
        n => Err(format!("{n} sleeps missed their deadline")),
    }
}

/// N threads on one CPU each count and yield; round robin must keep their
/// counts within one of each other at every point.
fn fairness() -> Result<(), String> {
    const THREADS: usize = 4;
    const ITERS: u64 = 200;
    static COUNTS: [AtomicU64; THREADS] = [const { AtomicU64::new(0) }; THREADS];
    static SPREAD: AtomicU64 = AtomicU64::new(0);
    static STARTED: AtomicUsize = AtomicUsize::new(0);
    COUNTS.iter().for_each(|c| c.store(0, Ordering::SeqCst));
    SPREAD.store(0, Ordering::SeqCst);
    STARTED.store(0, Ordering::SeqCst);
    let cpu = cpus() - 1;
    let threads: Vec<_> = (0..THREADS)
        .map(|i| {
            super::spawn(
                "st-fair",
                cpu,
                |i| {
                    // Start together: the first thread may run before the last is spawned.
                    STARTED.fetch_add(1, Ordering::SeqCst);
                    while STARTED.load(Ordering::SeqCst) < THREADS {
                        super::yield_now();
                    }
                    for _ in 0..ITERS {
                        COUNTS[i].fetch_add(1, Ordering::SeqCst);
                        let (lo, hi) = COUNTS
                            .iter()
                            .map(|c| c.load(Ordering::SeqCst))
                            .fold((u64::MAX, 0), |(lo, hi), v| (lo.min(v), hi.max(v)));
                        SPREAD.fetch_max(hi - lo, Ordering::SeqCst);
                        super::yield_now();
                    }
                },
                i,
            )
        })
        .collect::<Result<_, _>>()
        .map_err(|e| format!("spawn: {e}"))?;
    threads.iter().for_each(|t| super::join(t));
    let spread = SPREAD.load(Ordering::SeqCst);
    (spread <= 1).then_some(()).ok_or_else(|| format!("counts drifted apart by {spread} (round robin keeps it <= 1)"))
}
