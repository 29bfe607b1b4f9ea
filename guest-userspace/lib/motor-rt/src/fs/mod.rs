//! Files and directories (fs slots 34-61) on the user-space I/O server.
//!
//! The runtime is the server's client over the I/O channel
//! (`vireo-io-channel`, docs/storage.md): `crate::channel` connects at the first
//! call and runs requests, `transfer.rs` splits large reads and writes,
//! `file.rs` and `dir.rs` are the descriptors' slots, `ops.rs` the path
//! slots, `pure.rs` the translations (host-tested). Paths are resolved
//! against the per-process working directory here ([`cwd`]): the server
//! only sees absolute, normalised paths.
pub use crate::channel;
pub mod dir;
pub mod file;
pub mod ops;
pub mod pure;
mod transfer;

use alloc::string::String;
use moto_rt::error::{ErrorCode, E_INVALID_ARGUMENT};
use vireo_rt::sync::Mutex;

/// The working directory: absolute and normalised; empty means `/`.
static CWD: Mutex<String> = Mutex::new(String::new());

/// The working directory.
pub fn cwd() -> String {
    let c = CWD.lock();
    if c.is_empty() {
        String::from("/")
    } else {
        c.clone()
    }
}

pub fn set_cwd(path: String) {
    *CWD.lock() = path;
}

/// Starts in `$PWD` when the parent set it to an absolute path (moto-rt
/// passes its own working directory, or `Command::current_dir`, that way);
/// otherwise in `/`. Not checked here: that would connect to the server.
pub fn init_cwd(pwd: Option<&[u8]>) {
    if let Some(p) = pwd.filter(|p| p.starts_with(b"/")) {
        if let Ok(p) = pure::resolve("/", p) {
            set_cwd(p);
        }
    }
}

/// A moto-rt path argument, resolved against the working directory.
pub fn path_arg(ptr: *const u8, len: usize) -> Result<String, ErrorCode> {
    if len == 0 {
        return pure::resolve("/", &[]);
    }
    if ptr.is_null() {
        return Err(E_INVALID_ARGUMENT);
    }
    // SAFETY: moto-rt passes a valid (ptr, len) of a str.
    let bytes = unsafe { core::slice::from_raw_parts(ptr, len) };
    pure::resolve(&cwd(), bytes)
}

/// An error as the negative count or fd some slots return.
pub fn neg(e: ErrorCode) -> i64 {
    -(e as i64)
}
