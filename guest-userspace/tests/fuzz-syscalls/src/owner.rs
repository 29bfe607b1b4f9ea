//! Which of this process's threads owns each handle value, so a thread can
//! close only its own handles and "stale" values that no one holds.
//!
//! Every call that creates or closes a handle runs under [`LOCK`] and records
//! the change before releasing it, so inside the lock `owner(h) == NONE`
//! means the kernel's table has no handle `h`: closing it must give
//! `BadHandle`, and a new handle must never be one we think is held.
use core::sync::atomic::{AtomicU8, Ordering::Relaxed};
use vireo_rt::sync::Mutex;

/// Most handles a process has (docs/abi.md).
pub const MAX_HANDLES: u64 = 1024;
pub const NONE: u8 = 0;
/// Owner id of the main thread's handles (the fuzzing threads themselves).
pub const MAIN: u8 = 255;

static OWNER: [AtomicU8; MAX_HANDLES as usize + 1] = [const { AtomicU8::new(NONE) }; MAX_HANDLES as usize + 1];

pub static LOCK: Mutex<()> = Mutex::new(());

/// Whether `h` is a value a handle can have at all.
pub fn in_range(h: u64) -> bool {
    (1..=MAX_HANDLES).contains(&h)
}

pub fn owner(h: u64) -> u8 {
    if in_range(h) {
        OWNER[h as usize].load(Relaxed)
    } else {
        NONE
    }
}

/// Records `h` as `who`'s; false if the value was already held (the kernel
/// handed out a handle that is still open: a violation).
pub fn claim(h: u64, who: u8) -> bool {
    in_range(h) && OWNER[h as usize].swap(who, Relaxed) == NONE
}

pub fn release(h: u64) {
    if in_range(h) {
        OWNER[h as usize].store(NONE, Relaxed);
    }
}
