//! The console's foreground: the processes a Ctrl-C ends. A shell sets it to
//! the pipeline it waits for and clears it when the pipeline is done; the
//! console's interrupt handler reports the Ctrl-C and this ends them with
//! status `KILLED`, as `Kill` does. Held weakly: a set that outlives its
//! processes keeps nothing alive.
use super::proc::Process;
use crate::sync::SpinLock;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

static FOREGROUND: SpinLock<Vec<Weak<Process>>> = SpinLock::new(Vec::new());

/// Replaces the foreground; an empty set lets Ctrl-C through as input.
pub fn set_foreground(procs: &[Arc<Process>]) {
    let mut fg = FOREGROUND.lock();
    fg.clear();
    fg.extend(procs.iter().map(Arc::downgrade));
    crate::console::input::arm_interrupt(!fg.is_empty());
}

/// Ctrl-C arrived while a foreground was set (interrupt context: the CPU was
/// idle or in user mode, so no kernel lock is held on it).
pub fn interrupt_foreground() {
    let procs = core::mem::take(&mut *FOREGROUND.lock());
    for p in procs.iter().filter_map(Weak::upgrade) {
        p.kill(pv_abi::syscall::status::KILLED);
    }
}
