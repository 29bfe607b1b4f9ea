//! The two console calls std has no words for (docs/abi.md, "The console"):
//! raw input for the line editor, and the foreground processes a Ctrl-C
//! ends. These, and nothing else in the shell, call Vireo directly (through
//! `vireo-sys`); on other systems (the host, for unit tests) raw input is
//! unavailable and the foreground is a no-op.

/// Why raw input is not there: the editor then reads plain lines.
#[derive(Debug)]
pub struct Unsupported;

/// Reads what was typed (at least one byte; blocks).
pub fn read_raw(buf: &mut [u8]) -> Result<usize, Unsupported> {
    vireo_sys::console_read_raw(buf).map_err(|_| Unsupported)
}

/// Makes these processes the ones Ctrl-C ends (empty: none). Failure only
/// loses Ctrl-C for this pipeline, so it is not reported.
pub fn set_foreground(handles: &[u64]) {
    let handles = &handles[..handles.len().min(pv_abi::syscall::MAX_FOREGROUND as usize)];
    let _ = vireo_sys::console_foreground(handles);
}

/// The Vireo process handle of a child (for [`set_foreground`]).
pub fn handle_of(child: &std::process::Child) -> Option<u64> {
    vireo_sys::handle_of(child)
}
