//! The fs client's pure parts: path resolution, flag, error, permission
//! and directory-entry translation between moto-rt and the storage protocol.
//!
//! No system calls and no global state, so the host tests
//! (`guest-userspace/host-tools/motor-rt-tests`) compile this file on its
//! own; it needs only `alloc`, `moto_rt` and `vireo_io_channel`.
use alloc::string::String;
use alloc::vec::Vec;
use moto_rt::error::{
    ErrorCode, E_ALREADY_IN_USE, E_BAD_HANDLE, E_FILE_TOO_LARGE, E_INTERNAL_ERROR, E_INVALID_ARGUMENT, E_INVALID_DATA,
    E_INVALID_FILENAME, E_NOT_ALLOWED, E_NOT_A_DIRECTORY, E_NOT_CONNECTED, E_NOT_FOUND, E_NOT_IMPLEMENTED, E_NOT_READY,
    E_OK, E_STORAGE_FULL, E_TIMED_OUT,
};
use moto_rt::fs::{DirEntry, FileAttr, MAX_PATH_LEN, PERM_READ, PERM_WRITE};
use moto_rt::fs::{O_APPEND, O_CREATE, O_CREATE_NEW, O_NONBLOCK, O_READ, O_TRUNCATE, O_WRITE};
use vireo_io_channel::{dirent, kind, open, Status};

/// Resolves `path` against the absolute, normalised `cwd`: the result is
/// absolute, without `.`, `..` or repeated `/` (`..` at `/` stays at `/`).
/// This is lexical: `a/..` is dropped even if `a` is a symlink.
pub fn resolve(cwd: &str, path: &[u8]) -> Result<String, ErrorCode> {
    if path.is_empty() || path.len() > MAX_PATH_LEN || path.contains(&0) {
        return Err(E_INVALID_FILENAME);
    }
    let path = core::str::from_utf8(path).map_err(|_| E_INVALID_FILENAME)?;
    let mut parts: Vec<&str> = Vec::new();
    let base = if path.starts_with('/') { "" } else { cwd };
    for part in base.split('/').chain(path.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            name => parts.push(name),
        }
    }
    let mut out = String::with_capacity(path.len() + cwd.len() + 1);
    for p in &parts {
        out.push('/');
        out.push_str(p);
    }
    if out.is_empty() {
        out.push('/');
    }
    if out.len() > MAX_PATH_LEN {
        return Err(E_INVALID_FILENAME);
    }
    Ok(out)
}

/// The parent directory of an absolute normalised path (`/` for `/`).
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// `dir` + `/` + `name`, for a directory entry's name.
pub fn join(dir: &str, name: &str) -> String {
    let mut out = String::with_capacity(dir.len() + 1 + name.len());
    out.push_str(dir);
    if !dir.ends_with('/') {
        out.push('/');
    }
    out.push_str(name);
    out
}

/// moto-rt's `O_*` options as the protocol's `open` flags, with the checks
/// POSIX std makes (creating or truncating needs write access; truncate and
/// append exclude each other; some access is asked for). `O_CREATE_NEW`
/// wins over `O_CREATE` and `O_TRUNCATE`; `O_NONBLOCK` means nothing for a
/// file and is ignored.
pub fn open_flags(o: u32) -> Result<u64, ErrorCode> {
    const KNOWN: u32 = O_READ | O_WRITE | O_APPEND | O_TRUNCATE | O_CREATE | O_CREATE_NEW | O_NONBLOCK;
    if o & !KNOWN != 0 {
        return Err(E_INVALID_ARGUMENT);
    }
    let (read, write, append) = (o & O_READ != 0, o & O_WRITE != 0, o & O_APPEND != 0);
    let (truncate, create, create_new) = (o & O_TRUNCATE != 0, o & O_CREATE != 0, o & O_CREATE_NEW != 0);
    if !read && !write && !append {
        return Err(E_INVALID_ARGUMENT);
    }
    if (truncate || create || create_new) && !write && !append {
        return Err(E_INVALID_ARGUMENT);
    }
    if truncate && append && !create_new {
        return Err(E_INVALID_ARGUMENT);
    }
    let mut f = 0;
    if read {
        f |= open::READ;
    }
    if write || append {
        f |= open::WRITE;
    }
    if append {
        f |= open::APPEND;
    }
    if create_new {
        f |= open::CREATE | open::EXCLUSIVE;
    } else {
        if create {
            f |= open::CREATE;
        }
        if truncate {
            f |= open::TRUNCATE;
        }
    }
    Ok(f)
}

/// A server status as moto-rt's error code (docs/runtime.md, "Files").
/// moto-rt 0.16 has no code for "is a directory" or "directory not empty":
/// the first is the caller's mistake about the path (`E_INVALID_ARGUMENT`,
/// std: `InvalidInput`), the second an operation the directory's state does
/// not allow (`E_NOT_ALLOWED`, std: `PermissionDenied`).
pub fn status_code(s: Status) -> ErrorCode {
    match s {
        Status::Ok => E_OK,
        Status::NotFound => E_NOT_FOUND,
        Status::AlreadyExists => E_ALREADY_IN_USE,
        Status::PermissionDenied | Status::ReadOnly => E_NOT_ALLOWED,
        Status::NotADirectory => E_NOT_A_DIRECTORY,
        Status::IsADirectory | Status::InvalidArgument => E_INVALID_ARGUMENT,
        Status::DirectoryNotEmpty => E_NOT_ALLOWED,
        Status::NoSpace => E_STORAGE_FULL,
        Status::TooLarge => E_FILE_TOO_LARGE,
        Status::InvalidName => E_INVALID_FILENAME,
        Status::Corrupt => E_INVALID_DATA,
        Status::BadHandle => E_BAD_HANDLE,
        Status::NotSupported => E_NOT_IMPLEMENTED,
        Status::UnknownOp | Status::BadData | Status::Io | Status::TooManyOpen => E_INTERNAL_ERROR,
        Status::WouldBlock => E_NOT_READY,
        Status::TimedOut => E_TIMED_OUT,
        // std 1.96 on this target has no code for ConnectionRefused,
        // ConnectionReset, NetworkUnreachable or AddrNotAvailable
        // (docs/network.md): the nearest kinds.
        Status::ConnectionRefused | Status::NotConnected | Status::ConnectionReset | Status::NetworkUnreachable => {
            E_NOT_CONNECTED
        }
        Status::AddrInUse => E_ALREADY_IN_USE,
        Status::AddrNotAvailable => E_INVALID_ARGUMENT,
    }
}

/// moto-rt's permission bits for mode bits: always readable, writable if
/// any write bit is set.
pub fn perm_of_mode(mode: u64) -> u64 {
    PERM_READ | if mode & 0o222 != 0 { PERM_WRITE } else { 0 }
}

/// Mode bits for moto-rt's permission bits: writable is 0o644 (file) /
/// 0o755 (directory), read-only 0o444 / 0o555.
pub fn mode_of_perm(perm: u64, is_dir: bool) -> u64 {
    match (perm & PERM_WRITE != 0, is_dir) {
        (true, false) => 0o644,
        (true, true) => 0o755,
        (false, false) => 0o444,
        (false, true) => 0o555,
    }
}

/// moto-rt's file type for a protocol kind: file and directory are the
/// same numbers (1, 2); a symlink (3) or anything else (4) keeps its
/// number, which std reports as neither a file nor a directory.
pub fn file_type(k: u64) -> u8 {
    match k {
        1..=4 => k as u8,
        _ => kind::OTHER,
    }
}

/// A `FileAttr` from a `Stat` reply's args (size, kind, mode, modified,
/// accessed; creation time unknown, 0).
pub fn attr_of_stat(args: &[u64; 5]) -> FileAttr {
    FileAttr {
        version: FileAttr::VERSION,
        size: args[0],
        perm: perm_of_mode(args[2]),
        file_type: file_type(args[1]),
        modified: args[3] as u128,
        accessed: args[4] as u128,
        ..FileAttr::default()
    }
}

/// Fills moto-rt's `DirEntry` from a `Readdir` record; a name that is not
/// UTF-8 is `E_INVALID_FILENAME` (std turns the name into a `str` and would
/// panic on it).
pub fn fill_dirent(e: &dirent::Entry, out: &mut DirEntry) -> Result<(), ErrorCode> {
    core::str::from_utf8(e.name).map_err(|_| E_INVALID_FILENAME)?;
    if e.name.len() > out.fname.len() {
        return Err(E_INVALID_FILENAME);
    }
    out.version = DirEntry::VERSION;
    out.attr = FileAttr {
        version: FileAttr::VERSION,
        size: e.size,
        perm: perm_of_mode(e.mode as u64),
        file_type: file_type(e.kind as u64),
        modified: e.modified_ns as u128,
        ..FileAttr::default()
    };
    out.fname[..e.name.len()].copy_from_slice(e.name);
    out.fname_size = e.name.len() as u16;
    Ok(())
}

/// The new offset of a seek, or `E_INVALID_ARGUMENT` when it would be
/// negative or overflow.
pub fn seek_target(base: u64, offset: i64) -> Result<u64, ErrorCode> {
    let target = (base as i128) + offset as i128;
    if target < 0 || target > i64::MAX as i128 {
        return Err(E_INVALID_ARGUMENT);
    }
    Ok(target as u64)
}
