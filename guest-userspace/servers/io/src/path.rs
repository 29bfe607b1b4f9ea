//! Paths as clients send them: checked, never trusted. The client's runtime
//! resolves its working directory and `.`/`..`, so a path here must already
//! be absolute and normal; anything else is refused rather than repaired.

use vireo_io_channel::Status;

/// Longest path we accept (bytes).
pub const MAX_PATH: usize = 4096;
/// Longest name in a path (ext4's limit).
pub const MAX_NAME: usize = 255;

/// `bytes` as an absolute, normal path: `/` or `/a/b` (no empty, `.` or
/// `..` component, no trailing slash, no NUL).
pub fn check(bytes: &[u8]) -> Result<&str, Status> {
    let path = core::str::from_utf8(bytes).map_err(|_| Status::InvalidName)?;
    if path.len() > MAX_PATH || !path.starts_with('/') || path.contains('\0') {
        return Err(Status::InvalidName);
    }
    if path == "/" {
        return Ok(path);
    }
    for name in path[1..].split('/') {
        if name.is_empty() || name == "." || name == ".." || name.len() > MAX_NAME {
            return Err(Status::InvalidName);
        }
    }
    Ok(path)
}
