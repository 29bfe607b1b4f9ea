//! Runs QEMU to its end: the console through [`Console`] to stdout as it
//! comes, QEMU's own messages kept for an error, and `--timeout`.
use std::io::{Read, Write};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::console::{Console, Ending};
use crate::error::RunError;
use crate::options::Options;
use crate::qemu::QEMU;

pub struct Outcome {
    pub ending: Ending,
    /// What QEMU printed on stderr and how it ended, for an error line.
    pub qemu_said: String,
}

pub fn run(mut cmd: Command, app: &str, o: &Options) -> Result<Outcome, RunError> {
    let mut child = cmd.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => RunError::QemuMissing,
        _ => RunError::QemuFailed(format!("cannot start {QEMU}: {e}")),
    })?;
    let (Some(mut console_out), Some(mut qemu_err)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(RunError::QemuFailed("no pipes to QEMU".into()));
    };
    let stderr_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = qemu_err.read_to_string(&mut s);
        s
    });
    let child = Arc::new(Mutex::new(child));
    let timed_out = Arc::new(std::sync::atomic::AtomicBool::new(false));
    if let Some(secs) = o.timeout_s {
        let (child, timed_out) = (Arc::clone(&child), Arc::clone(&timed_out));
        std::thread::spawn(move || watchdog(&child, &timed_out, Duration::from_secs(secs)));
    }
    let mut console = Console::new(app, o.verbose);
    let mut stdout = std::io::stdout().lock();
    let mut buf = [0u8; 8192];
    loop {
        match console_out.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                // A closed stdout (`| head`) must not stop the VM early.
                let _ = stdout.write_all(&console.feed(&buf[..n]));
                let _ = stdout.flush();
            }
        }
    }
    let _ = stdout.write_all(&console.finish());
    let _ = stdout.flush();
    let status = child.lock().unwrap_or_else(|e| e.into_inner()).wait();
    let said = stderr_reader.join().unwrap_or_default();
    if timed_out.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(RunError::TimedOut(o.timeout_s.unwrap_or(0)));
    }
    let first = said.lines().map(str::trim).find(|l| !l.is_empty());
    let qemu_said = match (first, status) {
        (Some(line), _) => format!(" (QEMU: {line})"),
        (None, Ok(s)) => format!(" (QEMU {s})"),
        (None, Err(e)) => format!(" (QEMU: {e})"),
    };
    if console.ending == Ending::default() {
        if let Some(line) = first {
            return Err(RunError::QemuFailed(line.to_string()));
        }
    }
    Ok(Outcome { ending: console.ending, qemu_said })
}

fn watchdog(child: &Mutex<std::process::Child>, timed_out: &std::sync::atomic::AtomicBool, limit: Duration) {
    let start = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let mut c = child.lock().unwrap_or_else(|e| e.into_inner());
        if !matches!(c.try_wait(), Ok(None)) {
            return;
        }
        if start.elapsed() >= limit {
            timed_out.store(true, std::sync::atomic::Ordering::SeqCst);
            let _ = c.kill();
            return;
        }
    }
}
