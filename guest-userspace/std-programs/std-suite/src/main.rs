//! `/bin/std-suite [args...]`: a test suite of plain Rust std (nothing
//! Vireo-specific), built by upstream rustc for x86_64-unknown-motor.
//!
//! Prints `std-suite: <check> ok` per check and `std-suite: all ok` at the
//! end (exit 0); on the first failing check prints
//! `std-suite: <check> FAILED: <detail>` and exits 1.
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Barrier, Condvar, Mutex, RwLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

type Check = Result<String, String>;

/// Fails the current check with a message unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}

/// A named check.
type Named = (&'static str, fn() -> Check);

fn main() {
    let checks: [Named; 13] = [
        ("args", args),
        ("env", env),
        ("scope", scope),
        ("mutex", mutex),
        ("condvar", condvar_queue),
        ("rwlock", rwlock),
        ("barrier", barrier),
        ("mpsc", mpsc_producers),
        ("thread-names", thread_names),
        ("sleep", sleep),
        ("instant", instant_monotonic),
        ("systemtime", system_time),
        ("fs-basics", fs_basics),
    ];
    let start = Instant::now();
    for (name, check) in checks {
        match check() {
            Ok(detail) if detail.is_empty() => println!("std-suite: {name} ok"),
            Ok(detail) => println!("std-suite: {name} ok ({detail})"),
            Err(e) => {
                println!("std-suite: {name} FAILED: {e}");
                std::process::exit(1);
            }
        }
    }
    println!("std-suite: all ok ({} ms)", start.elapsed().as_millis());
}

fn cpus() -> usize {
    thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

fn args() -> Check {
    let args: Vec<String> = std::env::args().collect();
    ensure!(!args.is_empty(), "no argv[0]");
    ensure!(args[0].ends_with("std-suite"), "argv[0] is {:?}", args[0]);
    ensure!(std::env::args_os().count() == args.len(), "args_os and args differ");
    Ok(format!("{args:?}"))
}

fn env() -> Check {
    const KEY: &str = "STD_SUITE_VAR";
    ensure!(std::env::var(KEY).is_err(), "{KEY} set before set_var");
    // SAFETY: no other thread runs yet.
    unsafe { std::env::set_var(KEY, "value with spaces = and ünïcode") };
    let v = std::env::var(KEY);
    ensure!(v.as_deref() == Ok("value with spaces = and ünïcode"), "var after set_var: {v:?}");
    ensure!(std::env::vars().any(|(k, _)| k == KEY), "{KEY} missing from vars()");
    // SAFETY: as above.
    unsafe { std::env::set_var(KEY, "second") };
    ensure!(std::env::var(KEY).as_deref() == Ok("second"), "overwrite lost");
    // SAFETY: as above.
    unsafe { std::env::remove_var(KEY) };
    ensure!(std::env::var(KEY).is_err(), "{KEY} still set after remove_var");
    Ok(String::new())
}

/// 16 scoped threads borrowing the stack of this one.
fn scope() -> Check {
    let data: Vec<u64> = (1..=16_000).collect();
    let total = AtomicU64::new(0);
    let sums: Vec<u64> = thread::scope(|s| {
        let handles: Vec<_> = data
            .chunks(1000)
            .map(|chunk| {
                let total = &total;
                s.spawn(move || {
                    let sum: u64 = chunk.iter().sum();
                    total.fetch_add(sum, Ordering::Relaxed);
                    sum
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let expect = 16_000 * 16_001 / 2;
    ensure!(sums.len() == 16, "{} threads", sums.len());
    ensure!(sums.iter().sum::<u64>() == expect, "joined sums {}", sums.iter().sum::<u64>());
    ensure!(total.load(Ordering::Relaxed) == expect, "atomic total {}", total.load(Ordering::Relaxed));
    Ok("16 threads".into())
}

/// 16 threads x 10,000 increments under one Mutex.
fn mutex() -> Check {
    const THREADS: u64 = 16;
    const ROUNDS: u64 = 10_000;
    let counter = Mutex::new(0u64);
    thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for _ in 0..ROUNDS {
                    *counter.lock().unwrap() += 1;
                }
            });
        }
    });
    let n = counter.into_inner().unwrap();
    ensure!(n == THREADS * ROUNDS, "counter {n}, expected {}", THREADS * ROUNDS);
    Ok(format!("counter {n}"))
}

/// A bounded queue (Mutex + two Condvars): 4 producers, 4 consumers,
/// 100,000 items, every item received exactly once.
fn condvar_queue() -> Check {
    const ITEMS: u64 = 100_000;
    const SIDES: u64 = 4;
    const CAP: usize = 64;
    struct Queue {
        q: Mutex<(VecDeque<u64>, u64)>, // items, producers finished
        not_empty: Condvar,
        not_full: Condvar,
    }
    let queue = Queue { q: Mutex::new((VecDeque::new(), 0)), not_empty: Condvar::new(), not_full: Condvar::new() };
    let received = AtomicU64::new(0);
    let sum = AtomicU64::new(0);
    thread::scope(|s| {
        for p in 0..SIDES {
            let queue = &queue;
            s.spawn(move || {
                for i in (p..ITEMS).step_by(SIDES as usize) {
                    let mut g = queue.q.lock().unwrap();
                    while g.0.len() >= CAP {
                        g = queue.not_full.wait(g).unwrap();
                    }
                    g.0.push_back(i);
                    drop(g);
                    queue.not_empty.notify_one();
                }
                queue.q.lock().unwrap().1 += 1;
                queue.not_empty.notify_all();
            });
        }
        for _ in 0..SIDES {
            let (queue, received, sum) = (&queue, &received, &sum);
            s.spawn(move || loop {
                let mut g = queue.q.lock().unwrap();
                let item = loop {
                    if let Some(i) = g.0.pop_front() {
                        break Some(i);
                    }
                    if g.1 == SIDES {
                        break None;
                    }
                    g = queue.not_empty.wait(g).unwrap();
                };
                drop(g);
                let Some(i) = item else { return };
                queue.not_full.notify_one();
                received.fetch_add(1, Ordering::Relaxed);
                sum.fetch_add(i, Ordering::Relaxed);
            });
        }
    });
    let (n, s) = (received.load(Ordering::Relaxed), sum.load(Ordering::Relaxed));
    ensure!(n == ITEMS, "received {n} items, expected {ITEMS}");
    ensure!(s == ITEMS * (ITEMS - 1) / 2, "sum {s}, expected {}", ITEMS * (ITEMS - 1) / 2);
    Ok(format!("{n} items"))
}

/// Writers move units between two fields; readers always see the sum intact.
fn rwlock() -> Check {
    const TOTAL: i64 = 1_000_000;
    const WRITERS: i64 = 4;
    const WRITES: i64 = 5_000;
    const READERS: usize = 8;
    let lock = RwLock::new((TOTAL, 0i64));
    let writers_done = AtomicUsize::new(0);
    let reads = AtomicU64::new(0);
    let bad = Mutex::new(None);
    thread::scope(|s| {
        for _ in 0..WRITERS {
            s.spawn(|| {
                for _ in 0..WRITES {
                    let mut g = lock.write().unwrap();
                    g.0 -= 1;
                    g.1 += 1;
                }
                writers_done.fetch_add(1, Ordering::Release);
            });
        }
        for _ in 0..READERS {
            s.spawn(|| loop {
                let done = writers_done.load(Ordering::Acquire) == WRITERS as usize;
                {
                    let g = lock.read().unwrap();
                    if g.0 + g.1 != TOTAL {
                        *bad.lock().unwrap() = Some(*g);
                        return;
                    }
                }
                reads.fetch_add(1, Ordering::Relaxed);
                if done {
                    return;
                }
            });
        }
    });
    if let Some(b) = *bad.lock().unwrap() {
        return Err(format!("reader saw {b:?}, sum != {TOTAL}"));
    }
    let end = *lock.read().unwrap();
    ensure!(end == (TOTAL - WRITERS * WRITES, WRITERS * WRITES), "final {end:?}");
    Ok(format!("{} writes, {} reads", WRITERS * WRITES, reads.load(Ordering::Relaxed)))
}

/// 16 threads, 200 rounds: in each round everyone adds, waits, and then
/// every thread sees exactly 16 adds for that round.
fn barrier() -> Check {
    const THREADS: usize = 16;
    const ROUNDS: usize = 200;
    let b = Barrier::new(THREADS);
    let counts: Vec<AtomicUsize> = (0..ROUNDS).map(|_| AtomicUsize::new(0)).collect();
    let leaders = AtomicUsize::new(0);
    let bad = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for count in &counts {
                    count.fetch_add(1, Ordering::Relaxed);
                    if b.wait().is_leader() {
                        leaders.fetch_add(1, Ordering::Relaxed);
                    }
                    if count.load(Ordering::Relaxed) != THREADS {
                        bad.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    ensure!(bad.load(Ordering::Relaxed) == 0, "{} waits returned before all arrived", bad.load(Ordering::Relaxed));
    ensure!(
        leaders.load(Ordering::Relaxed) == ROUNDS,
        "{} leaders in {ROUNDS} rounds",
        leaders.load(Ordering::Relaxed)
    );
    Ok(format!("{THREADS} threads, {ROUNDS} rounds"))
}

/// 8 producers on an mpsc channel (and 8 on a bounded sync_channel).
fn mpsc_producers() -> Check {
    const PRODUCERS: u64 = 8;
    const EACH: u64 = 10_000;
    let expect = PRODUCERS * (EACH * (EACH - 1) / 2);
    let (tx, rx) = mpsc::channel::<u64>();
    let (stx, srx) = mpsc::sync_channel::<u64>(16);
    let (sum, n, ssum, sn) = thread::scope(|s| {
        for p in 0..PRODUCERS {
            let tx = tx.clone();
            let stx = stx.clone();
            s.spawn(move || {
                for i in 0..EACH {
                    tx.send(i).unwrap();
                    if p % 2 == 0 {
                        stx.send(i).unwrap();
                    }
                }
            });
        }
        drop((tx, stx));
        let sync = s.spawn(move || srx.iter().fold((0u64, 0u64), |(s, n), i| (s + i, n + 1)));
        let (sum, n) = rx.iter().fold((0u64, 0u64), |(s, n), i| (s + i, n + 1));
        let (ssum, sn) = sync.join().unwrap();
        (sum, n, ssum, sn)
    });
    ensure!(n == PRODUCERS * EACH && sum == expect, "channel: {n} messages, sum {sum} (expected {expect})");
    ensure!(sn == PRODUCERS / 2 * EACH && ssum == expect / 2, "sync_channel: {sn} messages, sum {ssum}");
    Ok(format!("{n} + {sn} messages"))
}

fn thread_names() -> Check {
    let main_name = thread::current().name().map(str::to_owned);
    ensure!(main_name.as_deref() == Some("main"), "main thread's name is {main_name:?}");
    let names: Vec<Option<String>> = (0..4)
        .map(|i| {
            thread::Builder::new()
                .name(format!("std-suite-worker-{i}"))
                .spawn(|| thread::current().name().map(str::to_owned))
                .unwrap()
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    for (i, n) in names.iter().enumerate() {
        ensure!(n.as_deref() == Some(format!("std-suite-worker-{i}").as_str()), "worker {i} is named {n:?}");
    }
    let unnamed = thread::spawn(|| thread::current().name().map(str::to_owned)).join().unwrap();
    ensure!(unnamed.is_none(), "unnamed thread is named {unnamed:?}");
    let scoped = thread::scope(|s| {
        thread::Builder::new()
            .name("scoped".into())
            .spawn_scoped(s, || thread::current().name().map(str::to_owned))
            .unwrap()
            .join()
            .unwrap()
    });
    ensure!(scoped.as_deref() == Some("scoped"), "scoped thread is named {scoped:?}");
    Ok(String::new())
}

/// Each sleep lasts at least what was asked and less than that + 500 ms.
fn sleep() -> Check {
    let mut got = Vec::new();
    for ms in [0u64, 1, 10, 50, 200] {
        let want = Duration::from_millis(ms);
        let t = Instant::now();
        thread::sleep(want);
        let slept = t.elapsed();
        ensure!(slept >= want, "sleep({want:?}) returned after {slept:?}");
        ensure!(slept < want + Duration::from_millis(500), "sleep({want:?}) took {slept:?}");
        got.push(format!("{ms}->{:.1}", slept.as_secs_f64() * 1000.0));
    }
    // Sleeping threads in parallel: all wake, none early.
    let late = thread::scope(|s| {
        let hs: Vec<_> = (0..8u64)
            .map(|i| {
                s.spawn(move || {
                    let want = Duration::from_millis(20 + 10 * i);
                    let t = Instant::now();
                    thread::sleep(want);
                    let slept = t.elapsed();
                    (want, slept)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect::<Vec<_>>()
    });
    for (want, slept) in late {
        ensure!(slept >= want && slept < want + Duration::from_millis(500), "parallel sleep({want:?}) took {slept:?}");
    }
    Ok(format!("ms asked->slept: {}", got.join(" ")))
}

/// Threads on every CPU read Instant::now() under one Mutex and compare it
/// with the largest value seen so far: time never goes backwards.
fn instant_monotonic() -> Check {
    let threads = (cpus() * 2).max(4);
    const READS: usize = 5_000;
    let last = Mutex::new(Instant::now());
    let backwards = Mutex::new(None);
    let max_ns = AtomicU64::new(0);
    let origin = Instant::now();
    let atomic_backwards = AtomicU64::new(0);
    thread::scope(|s| {
        for t in 0..threads {
            let (last, backwards, max_ns, atomic_backwards) = (&last, &backwards, &max_ns, &atomic_backwards);
            s.spawn(move || {
                for i in 0..READS {
                    {
                        let mut g = last.lock().unwrap();
                        let now = Instant::now();
                        if now < *g {
                            *backwards.lock().unwrap() =
                                Some(format!("thread {t} read {:?} before the last value", *g - now));
                        }
                        *g = now;
                    }
                    // Lock-free: a value read after another thread published
                    // a larger max must not be smaller than... the max it read
                    // before reading the clock.
                    let seen = max_ns.load(Ordering::Acquire);
                    let now = origin.elapsed().as_nanos() as u64;
                    if now < seen {
                        atomic_backwards.fetch_add(1, Ordering::Relaxed);
                    }
                    max_ns.fetch_max(now, Ordering::AcqRel);
                    if i % 64 == 0 {
                        thread::yield_now();
                    }
                }
            });
        }
    });
    if let Some(b) = backwards.into_inner().unwrap() {
        return Err(b);
    }
    let n = atomic_backwards.load(Ordering::Relaxed);
    ensure!(n == 0, "{n} reads were below a maximum published earlier");
    Ok(format!("{threads} threads x {READS} reads on {} cpus", cpus()))
}

fn system_time() -> Check {
    // 2025-01-01T00:00:00Z.
    const JAN_2025: u64 = 1_735_689_600;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_err(|e| format!("before 1970: {e:?}"))?;
    ensure!(now.as_secs() > JAN_2025, "SystemTime::now() is {} s, before 2025-01-01", now.as_secs());
    let a = SystemTime::now();
    thread::sleep(Duration::from_millis(10));
    let d = SystemTime::now().duration_since(a).map_err(|e| format!("SystemTime went back: {e:?}"))?;
    ensure!(d >= Duration::from_millis(10), "SystemTime advanced {d:?} over a 10 ms sleep");
    Ok(format!("unix {} s", now.as_secs()))
}

/// What works with or without a file system: the working directory starts
/// at `/`, argument errors come before any I/O, and a missing file (or a
/// missing I/O server, for a program started as init) is a clean error,
/// never a hang.
fn fs_basics() -> Check {
    use std::io::ErrorKind;
    let cwd = std::env::current_dir().map_err(|e| format!("current_dir: {e}"))?;
    ensure!(cwd == std::path::Path::new("/"), "current_dir is {cwd:?}");
    let e = std::fs::metadata("").err().map(|e| e.kind());
    ensure!(e == Some(ErrorKind::InvalidFilename), "metadata(\"\"): {e:?}");
    let e = std::fs::OpenOptions::new()
        .read(true)
        .create(true)
        .truncate(false)
        .open("/std-suite-x")
        .err()
        .map(|e| e.kind());
    ensure!(e == Some(ErrorKind::InvalidInput), "create without write: {e:?}");
    let t = Instant::now();
    let kind = match std::fs::read("/std-suite/no-such-file") {
        Ok(_) => return Err("read a file that does not exist".into()),
        Err(e) => e.kind(),
    };
    ensure!(matches!(kind, ErrorKind::NotConnected | ErrorKind::NotFound), "read of a missing file: {kind:?}");
    ensure!(t.elapsed() < Duration::from_secs(5), "read of a missing file took {:?}", t.elapsed());
    Ok(format!("missing file: {kind:?}"))
}
