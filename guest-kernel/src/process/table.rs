//! Every live process by pid, for `ProcessList` and `KillPid`. Held
//! weakly: the table keeps no process alive, and an entry goes when the
//! last handle to its process does (pruned as new ones come).
use super::proc::Process;
use crate::sync::SpinLock;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

static TABLE: SpinLock<Vec<Weak<Process>>> = SpinLock::new(Vec::new());

/// Adds a new process (dropping entries whose process is gone).
pub fn register(p: &Arc<Process>) {
    let mut t = TABLE.lock();
    t.retain(|w| w.strong_count() > 0);
    t.push(Arc::downgrade(p));
}

/// The processes that have not been torn down yet, in pid order. The lock
/// is held only to take references: callers look inside outside it.
pub fn live() -> Vec<Arc<Process>> {
    let mut out: Vec<Arc<Process>> =
        TABLE.lock().iter().filter_map(Weak::upgrade).filter(|p| p.ended_status().is_none()).collect();
    out.sort_unstable_by_key(|p| p.pid);
    out
}

/// The live process `pid`.
pub fn find(pid: u32) -> Option<Arc<Process>> {
    let found = TABLE.lock().iter().filter_map(Weak::upgrade).find(|p| p.pid == pid);
    found.filter(|p| p.ended_status().is_none())
}

/// Whether `caller` may end `target`: init may end anyone; any other
/// process only what is in its own session (itself, the session's leader,
/// what they started). So no process but init reaches init or another
/// session, such as the I/O server's.
pub fn may_kill(caller: &Process, target: &Process) -> bool {
    caller.pid == super::proc::INIT_PID || (target.pid != super::proc::INIT_PID && caller.session == target.session)
}
