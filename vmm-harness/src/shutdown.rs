//! Ending the process from whichever thread decides: flush the guest's
//! output, say why on stderr, emit the timeline, `exit(code)`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::timeline::{self, Kind, Timeline};

/// How the run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Process exit status.
    pub code: i32,
    /// Short cause for the timeline ("exit port", "ACPI S5", ...).
    pub reason: &'static str,
    /// A line for stderr (printed as `vmm-harness: <message>`), if any.
    pub message: Option<String>,
}

impl Outcome {
    pub fn quiet(code: i32, reason: &'static str) -> Self {
        Outcome { code, reason, message: None }
    }

    pub fn failure(code: i32, reason: &'static str, message: String) -> Self {
        Outcome { code, reason, message: Some(message) }
    }
}

pub struct Finisher {
    timeline: Arc<Timeline>,
    trace: bool,
    trace_json: Option<PathBuf>,
    once: Mutex<()>,
}

impl Finisher {
    pub fn new(timeline: Arc<Timeline>, trace: bool, trace_json: Option<PathBuf>) -> Self {
        Finisher { timeline, trace, trace_json, once: Mutex::new(()) }
    }

    /// Terminate the process with `outcome`. A second caller blocks until the
    /// first one has exited the process.
    pub fn finish(&self, outcome: Outcome) -> ! {
        let _only_one = self.once.lock().unwrap_or_else(|e| e.into_inner());
        let _ = std::io::stdout().lock().flush();
        let mut err = std::io::stderr().lock();
        if let Some(m) = &outcome.message {
            let _ = writeln!(err, "vmm-harness: {m}");
        }
        self.timeline.record(Kind::Exit { code: outcome.code, reason: outcome.reason });
        let events = self.timeline.events();
        if self.trace {
            let _ = err.write_all(timeline::format_text(&events, self.timeline.dropped()).as_bytes());
            let _ = err.write_all(crate::exits::format_text(&self.timeline.exits.snapshots()).as_bytes());
            if let Some((user, system)) = cpu_time_us() {
                // What the vCPU threads cost the host (the process's other
                // threads only wait): the overcommit benchmark's second figure.
                let _ =
                    writeln!(err, "vmm-harness: cpu time {} us (user {user} us, system {system} us)", user + system);
            }
        }
        if let Some(path) = &self.trace_json {
            let exits = crate::exits::format_json(&self.timeline.exits.snapshots());
            let json = timeline::format_json(&events, outcome.code, Some(&exits));
            if let Err(e) = std::fs::write(path, json) {
                let _ = writeln!(err, "vmm-harness: warning: cannot write {}: {e}", path.display());
            }
        }
        let _ = err.flush();
        std::process::exit(outcome.code)
    }
}

/// (user, system) CPU time of the whole process so far, in microseconds.
fn cpu_time_us() -> Option<(u64, u64)> {
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: getrusage writes a `struct rusage` to the pointer it is given.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, ru.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: getrusage returned 0, so it filled the struct.
    let ru = unsafe { ru.assume_init() };
    let us = |t: libc::timeval| {
        u64::try_from(t.tv_sec).ok()?.checked_mul(1_000_000)?.checked_add(u64::try_from(t.tv_usec).ok()?)
    };
    Some((us(ru.ru_utime)?, us(ru.ru_stime)?))
}
