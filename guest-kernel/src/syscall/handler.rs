//! What every system-call handler shares: its result type and the calling
//! process. A leaf, so the handlers need nothing from the dispatcher above them.
use pv_abi::syscall::Error;

pub type SysResult = Result<u64, Error>;

/// The calling thread's process (system calls come only from user threads).
pub fn process() -> Result<alloc::sync::Arc<crate::process::Process>, Error> {
    crate::process::current().ok_or(Error::Invalid)
}
