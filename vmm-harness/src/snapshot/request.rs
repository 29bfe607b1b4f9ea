//! The snapshot request flag, apart so that the device bus (the guest's
//! port-0x80 request) and the signal handler can set it without knowing
//! how snapshots are taken.
use std::sync::atomic::{AtomicBool, Ordering};

static ENABLED: AtomicBool = AtomicBool::new(false);
static REQUESTED: AtomicBool = AtomicBool::new(false);

/// `--snapshot-dir` was given and the VM runs.
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// Asks for a snapshot; ignored without `--snapshot-dir`. Async-signal-safe.
pub fn request() {
    if ENABLED.load(Ordering::Relaxed) {
        REQUESTED.store(true, Ordering::Relaxed);
    }
}

pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}
