//! Free memory, for the spawn/wait-cycle check.
//!
//! TEST-ONLY ESCAPE HATCH: std has no way to ask for the system's free
//! memory, so this asks Vireo's `SysInfo` call through `vireo-sys`.
//! Ordinary std programs never do this; nothing else in this program is
//! Vireo-specific.
use vireo_sys::Error;

/// Free physical memory in bytes, as the kernel counts it.
pub fn free_memory() -> Result<u64, Error> {
    vireo_sys::sys_info().map(|i| i.free_memory)
}
