//! `/bin/hello-std [mode] [args...]`: plain Rust std, built by upstream
//! rustc for x86_64-unknown-motor, nothing Vireo-specific in it.
//!
//! - `exit N`: `std::process::exit(N)`;
//! - `panic`: panics (std prints the message; the process exits with -1);
//! - `random`: prints `hello-std: random <hex>`, a hash under a fresh
//!   `RandomState` (whose keys come from the runtime's random generator),
//!   and exits 0;
//! - anything else: prints its arguments, then checks threads and `Mutex`,
//!   thread-locals, `Instant`/`SystemTime`/`sleep`, env vars and a `HashMap`,
//!   printing one `hello-std: <what> ok` line each, and exits 0.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    println!("hello-std: hello from Rust std on Vireo");
    println!("hello-std: args {:?}", args);
    match args.get(1).map(String::as_str) {
        Some("exit") => {
            let code = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3);
            println!("hello-std: exiting with {code}");
            std::process::exit(code);
        }
        Some("panic") => panic!("hello-std: deliberate panic ({} args)", args.len()),
        Some("random") => {
            use std::hash::BuildHasher;
            let state = std::collections::hash_map::RandomState::new();
            println!("hello-std: random {:016x}", state.hash_one(0u64));
            return;
        }
        _ => {}
    }
    threads_and_mutex();
    thread_locals();
    time();
    env_and_hashmap();
    println!("hello-std: all ok");
}

fn threads_and_mutex() {
    const THREADS: u64 = 4;
    const ROUNDS: u64 = 1000;
    let counter = Arc::new(Mutex::new(0u64));
    let handles: Vec<_> = (0..THREADS)
        .map(|i| {
            let c = Arc::clone(&counter);
            std::thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || {
                    for _ in 0..ROUNDS {
                        *c.lock().unwrap() += 1;
                        if i == 0 {
                            std::thread::yield_now();
                        }
                    }
                    i * 10
                })
                .unwrap()
        })
        .collect();
    let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let total = *counter.lock().unwrap();
    assert_eq!(total, THREADS * ROUNDS);
    assert_eq!(sum, 60);
    println!(
        "hello-std: threads ok ({THREADS} threads, counter {total}, {} cpus)",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
}

// The initializer is `const` already; clippy 1.96 still flags the macro's
// expansion for this target.
#[allow(clippy::missing_const_for_thread_local)]
fn thread_locals() {
    use std::cell::Cell;
    thread_local!(static VALUE: Cell<u32> = const { Cell::new(1) });
    VALUE.with(|v| v.set(5));
    let other = std::thread::spawn(|| VALUE.with(|v| v.get())).join().unwrap();
    assert_eq!(other, 1);
    assert_eq!(VALUE.with(|v| v.get()), 5);
    println!("hello-std: thread_local ok");
}

fn time() {
    let start = Instant::now();
    std::thread::sleep(Duration::from_millis(20));
    let slept = start.elapsed();
    assert!(slept >= Duration::from_millis(20), "slept only {slept:?}");
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    println!("hello-std: time ok (slept {} ms, unix time {} s)", slept.as_millis(), since_epoch.as_secs());
}

fn env_and_hashmap() {
    assert!(std::env::var("VIREO_TEST").is_err());
    // SAFETY: no other thread reads the environment now.
    unsafe { std::env::set_var("VIREO_TEST", "yes") };
    assert_eq!(std::env::var("VIREO_TEST").as_deref(), Ok("yes"));
    assert_eq!(std::env::vars().count(), 1);
    let mut m = HashMap::new();
    for (i, w) in ["one", "two", "three"].iter().enumerate() {
        m.insert(*w, i);
    }
    assert_eq!(m["three"], 2);
    println!("hello-std: env and HashMap ok");
}
