//! The path slots (47-55, 59-60): mkdir, unlink, rename, rmdir, rmdir_all,
//! set_perm, stat, canonicalize, copy, getcwd, chdir.
use super::channel::{self, lock};
use super::dir::OpenDir;
use super::file::{open_path, stat_handle};
use super::pure::{self, attr_of_stat, mode_of_perm};
use super::transfer::{read_at, write_at};
use super::{cwd, neg, path_arg, set_cwd};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use moto_rt::error::{
    ErrorCode, E_INVALID_ARGUMENT, E_INVALID_FILENAME, E_NOT_A_DIRECTORY, E_NOT_FOUND, E_OK, E_STORAGE_FULL,
};
use moto_rt::fs::{FileAttr, MAX_PATH_LEN};
use vireo_io_channel::{kind, open, Op};

/// What `copy` moves per batch: four 64 KiB requests.
const COPY_BUF: usize = 4 * channel::CHUNK;

fn code(r: Result<(), ErrorCode>) -> ErrorCode {
    r.err().unwrap_or(E_OK)
}

fn path_op(op: Op, args: [u64; 5], path: &str) -> Result<(), ErrorCode> {
    channel::call(op, args, path.as_bytes()).map(drop)
}

/// A `Stat` by path (symlinks followed): (size, kind, mode, modified, accessed).
fn stat_path(path: &str) -> Result<[u64; 5], ErrorCode> {
    channel::call(Op::Stat, [0; 5], path.as_bytes()).map(|r| r.args)
}

pub extern "C" fn mkdir(path: *const u8, len: usize) -> ErrorCode {
    code(path_arg(path, len).and_then(|p| path_op(Op::Mkdir, [0o755, 0, 0, 0, 0], &p)))
}

pub extern "C" fn unlink(path: *const u8, len: usize) -> ErrorCode {
    code(path_arg(path, len).and_then(|p| path_op(Op::Unlink, [0; 5], &p)))
}

pub extern "C" fn rmdir(path: *const u8, len: usize) -> ErrorCode {
    code(path_arg(path, len).and_then(|p| path_op(Op::Rmdir, [0; 5], &p)))
}

/// `Rename` with both paths in the data; `no_replace` fails with
/// `E_ALREADY_IN_USE` if `new` exists.
fn rename_paths(old: &str, new: &str, no_replace: bool) -> Result<(), ErrorCode> {
    let mut data = Vec::with_capacity(old.len() + new.len());
    data.extend_from_slice(old.as_bytes());
    data.extend_from_slice(new.as_bytes());
    channel::call(Op::Rename, [old.len() as u64, no_replace as u64, 0, 0, 0], &data).map(drop)
}

pub extern "C" fn rename(old: *const u8, old_len: usize, new: *const u8, new_len: usize) -> ErrorCode {
    code(path_arg(old, old_len).and_then(|o| rename_paths(&o, &path_arg(new, new_len)?, false)))
}

/// The kind of the entry `path` names without following a symlink there:
/// looked up in its parent's listing (the protocol's `Stat` follows links).
fn entry_kind(path: &str) -> Result<u8, ErrorCode> {
    if path == "/" {
        return Ok(kind::DIRECTORY);
    }
    let name = &path[path.rfind('/').map_or(0, |i| i + 1)..];
    let parent = OpenDir::open(pure::parent(path))?;
    loop {
        let mut found = None;
        if !parent.next(|e| {
            if e.name == name.as_bytes() {
                found = Some(e.kind);
            }
            Ok(())
        })? {
            return Err(E_NOT_FOUND);
        }
        if let Some(k) = found {
            return Ok(k);
        }
    }
}

/// Removes the directory `root` and everything below it, depth first,
/// without following symlinks (a link is unlinked, never entered).
fn remove_tree(root: String) -> Result<(), ErrorCode> {
    match entry_kind(&root)? {
        kind::DIRECTORY => {}
        kind::SYMLINK => return path_op(Op::Unlink, [0; 5], &root),
        _ => return Err(E_NOT_A_DIRECTORY),
    }
    // (directory, listed already): a listed one is empty by the time it is
    // popped again.
    let mut stack = vec![(root, false)];
    while let Some((dir, listed)) = stack.pop() {
        if listed {
            path_op(Op::Rmdir, [0; 5], &dir)?;
            continue;
        }
        let names = OpenDir::open(&dir)?.names()?;
        stack.push((dir.clone(), true));
        for (name, k) in names {
            let path = pure::join(&dir, &name);
            if path.len() > MAX_PATH_LEN {
                return Err(E_INVALID_FILENAME);
            }
            if k == kind::DIRECTORY {
                stack.push((path, false));
            } else {
                path_op(Op::Unlink, [0; 5], &path)?;
            }
        }
    }
    Ok(())
}

pub extern "C" fn rmdir_all(path: *const u8, len: usize) -> ErrorCode {
    code(path_arg(path, len).and_then(remove_tree))
}

pub extern "C" fn set_perm(path: *const u8, len: usize, perm: u64) -> ErrorCode {
    code(path_arg(path, len).and_then(|p| {
        let is_dir = stat_path(&p)?[1] == kind::DIRECTORY as u64;
        path_op(Op::SetMode, [0, mode_of_perm(perm, is_dir), 0, 0, 0], &p)
    }))
}

pub extern "C" fn stat(path: *const u8, len: usize, attr: *mut FileAttr) -> ErrorCode {
    if attr.is_null() {
        return E_INVALID_ARGUMENT;
    }
    match path_arg(path, len).and_then(|p| stat_path(&p)) {
        Ok(args) => {
            // SAFETY: moto-rt passes a FileAttr to fill.
            unsafe { attr.write(attr_of_stat(&args)) };
            E_OK
        }
        Err(e) => e,
    }
}

/// Writes `s` into moto-rt's MAX_PATH_LEN buffer and its length.
fn put_path(s: &str, buf: *mut u8, len: *mut usize) -> ErrorCode {
    if buf.is_null() || len.is_null() || s.len() > MAX_PATH_LEN {
        return E_INVALID_ARGUMENT;
    }
    // SAFETY: moto-rt passes a MAX_PATH_LEN buffer and a length to fill.
    unsafe {
        core::ptr::copy_nonoverlapping(s.as_ptr(), buf, s.len());
        len.write(s.len());
    }
    E_OK
}

/// The absolute, normalised path, which must exist.
pub extern "C" fn canonicalize(path: *const u8, len: usize, out: *mut u8, out_len: *mut usize) -> ErrorCode {
    match path_arg(path, len).and_then(|p| stat_path(&p).map(|_| p)) {
        Ok(p) => put_path(&p, out, out_len),
        Err(e) => e,
    }
}

/// Copies the file `from` to `to` (created or truncated) with its mode;
/// returns the bytes copied.
fn copy_paths(from: &str, to: &str) -> Result<u64, ErrorCode> {
    if from == to {
        return Err(E_INVALID_ARGUMENT);
    }
    let src = Handle(open_path(from, open::READ)?.0);
    let st = stat_handle(src.0)?;
    if st[1] != kind::FILE as u64 {
        return Err(E_INVALID_ARGUMENT);
    }
    let dst = Handle(open_path(to, open::WRITE | open::CREATE | open::TRUNCATE)?.0);
    let mut buf = vec![0u8; COPY_BUF];
    let mut total = 0u64;
    loop {
        let mut g = lock()?;
        let n = read_at(&mut g, src.0, total, &mut buf)?;
        if n == 0 {
            break;
        }
        let (w, _) = write_at(&mut g, dst.0, total, false, &buf[..n])?;
        total += w as u64;
        if w < n {
            return Err(E_STORAGE_FULL);
        }
    }
    channel::call(Op::SetMode, [dst.0, st[2] & 0o7777, 0, 0, 0], &[])?;
    Ok(total)
}

/// A server handle closed when dropped.
struct Handle(u64);

impl Drop for Handle {
    fn drop(&mut self) {
        let _ = channel::call(Op::Close, [self.0, 0, 0, 0, 0], &[]);
    }
}

pub extern "C" fn copy(from: *const u8, from_len: usize, to: *const u8, to_len: usize) -> i64 {
    match path_arg(from, from_len).and_then(|f| copy_paths(&f, &path_arg(to, to_len)?)) {
        Ok(n) => n as i64,
        Err(e) => neg(e),
    }
}

pub extern "C" fn getcwd(buf: *mut u8, len: *mut usize) -> ErrorCode {
    put_path(&cwd(), buf, len)
}

pub extern "C" fn chdir(path: *const u8, len: usize) -> ErrorCode {
    code(path_arg(path, len).and_then(|p| {
        if stat_path(&p)?[1] != kind::DIRECTORY as u64 {
            return Err(E_NOT_A_DIRECTORY);
        }
        set_cwd(p);
        Ok(())
    }))
}
