//! `/bin/bench-mark PROGRAM ARGS...` (`make bench-http`, docs/benchmarks.md
//! "HTTP"): runs PROGRAM (the server being measured) as a child with stdin
//! null and stdout inherited, then reads console lines:
//!
//! ```text
//! mark  ->  bench: mark uptime_ns=U idle_ns=I free_kib=F
//! quit  ->  kills the child, prints `bench: quit`, exits 0
//! ```
//!
//! The host writes `mark` before and after each load run; the differences
//! give guest instructions per request, `(dU - dI) / requests`: under QEMU
//! `-icount shift=0` the TSC ticks once per guest instruction while the CPU
//! runs (and follows the host's clock while it is halted, which the kernel
//! counts as idle). The Linux guest's /init prints the same line from
//! /proc/timer_list and /proc/meminfo. Anything else is answered with
//! `bench: error=...`. A thread looks at the child once a second (a cost of
//! one timer wake-up per second in the figures); if it has ended, bench-mark
//! says `bench: error=PROGRAM ended (STATUS)` and exits 1, so the host stops
//! waiting for a server that is gone. End of input waits for the child.
//!
//! Builds for the host too (`cargo run` for x86_64-unknown-linux-gnu in a
//! temporary directory: `bench-mark sleep 100`, then type `mark`, `quit`);
//! only the memory and idle probes differ ([`mem`], shared with fs-bench).

#[path = "../../fs-bench/src/mem.rs"]
mod mem;

use std::io::{BufRead, Write};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn tsc() -> u64 {
    // SAFETY: RDTSC has no preconditions on x86_64.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// The `mark` answer.
fn mark_line() -> String {
    // The TSC first: the probes after it are part of the next interval.
    let uptime = tsc();
    let idle = mem::idle_ns();
    let free = match mem::free_kib() {
        Ok(k) => k.to_string(),
        Err(_) => "unknown".into(),
    };
    format!("bench: mark uptime_ns={uptime} idle_ns={idle} free_kib={free}")
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    // The console is the only channel back to the host; nothing to do if it fails.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Kills the child and exits, holding the lock so that the watcher cannot
/// report the end it caused.
fn quit(child: &Mutex<Child>) -> ! {
    let mut guard = child.lock();
    if let Ok(c) = guard.as_mut() {
        let _ = c.kill();
        let _ = c.wait();
    }
    say("bench: quit");
    std::process::exit(0);
}

/// Ends the process when the child has ended by itself.
fn watch(child: Arc<Mutex<Child>>, program: String) {
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_secs(1));
        let status = match child.lock() {
            Ok(mut c) => c.try_wait(),
            Err(_) => return,
        };
        if let Ok(Some(status)) = status {
            say(&format!("bench: error={program} ended ({status})"));
            std::process::exit(1);
        }
    });
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((program, rest)) = args.split_first() else {
        say("bench: error=usage: bench-mark PROGRAM ARGS...");
        return ExitCode::from(2);
    };
    let child = match Command::new(program).args(rest).stdin(Stdio::null()).spawn() {
        Ok(c) => c,
        Err(e) => {
            say(&format!("bench: error=cannot run {program}: {e}"));
            return ExitCode::from(1);
        }
    };
    say(&format!("bench: started {program}"));
    let child = Arc::new(Mutex::new(child));
    watch(Arc::clone(&child), program.clone());
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        match line.trim() {
            "" => {}
            "mark" => say(&mark_line()),
            "quit" => quit(&child),
            other => say(&format!("bench: error=unknown command '{other}' (mark, quit)")),
        }
    }
    // The watcher ends the process when the child ends.
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
