//! Raw console input, the console calls std has no words for (docs/abi.md,
//! "The console"): the bytes as typed, Ctrl-C among them, and emptying the
//! set of processes a Ctrl-C ends. Through `vireo-sys`; off Vireo (the
//! host, for unit tests) raw input is unavailable.

/// Why raw input is not there.
#[derive(Debug)]
pub struct Unsupported;

/// Reads what was typed (at least one byte; blocks). The call disarms the
/// console's Ctrl-C, and while it waits a Ctrl-C is input: it reaches the
/// editor as the byte 0x03 instead of ending it.
pub fn read_raw(buf: &mut [u8]) -> Result<usize, Unsupported> {
    vireo_sys::console_read_raw(buf).map_err(|_| Unsupported)
}

/// Empties the console's foreground. The shell sets it to the editor just
/// after spawning it; should that come after the editor's first read
/// began, a Ctrl-C typed while the editor draws would end it. Called after
/// each read, so the set never outlives the key that followed it. Failure
/// leaves only that unlikely window open, so it is not reported.
pub fn clear_foreground() {
    let _ = vireo_sys::console_foreground(&[]);
}
