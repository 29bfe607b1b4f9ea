//! Files (slots 34-47, 61 on file descriptors): a server handle with a
//! runtime-side offset, shared by the descriptors `duplicate` made.
use super::channel::{self, lock};
use super::pure::{self, attr_of_stat, mode_of_perm, seek_target};
use super::transfer::{read_at, write_at};
use super::{neg, path_arg};
use crate::fd::{self, Fd};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};
use moto_rt::error::{ErrorCode, E_BAD_HANDLE, E_INVALID_ARGUMENT, E_OK, E_OUT_OF_MEMORY};
use moto_rt::fs::{FileAttr, SEEK_CUR, SEEK_END, SEEK_SET};
use moto_rt::RtFd;
use vireo_io_channel::{kind, Op};

#[derive(Debug)]
pub struct OpenFile {
    pub handle: u64,
    /// Opened with `O_APPEND`: every write goes to the end.
    append: bool,
    offset: AtomicU64,
}

impl Drop for OpenFile {
    /// The last descriptor is gone: the server may forget the handle.
    fn drop(&mut self) {
        let _ = channel::call(Op::Close, [self.handle, 0, 0, 0, 0], &[]);
    }
}

/// Opens `path` on the server with protocol `flags`; returns the reply's
/// (handle, size, kind).
pub fn open_path(path: &str, flags: u64) -> Result<(u64, u64, u64), ErrorCode> {
    let r = channel::call(Op::Open, [flags, 0, 0, 0, 0], path.as_bytes())?;
    Ok((r.args[0], r.args[1], r.args[2]))
}

/// A `Stat` by handle: (size, kind, mode, modified, accessed).
pub fn stat_handle(handle: u64) -> Result<[u64; 5], ErrorCode> {
    channel::call(Op::Stat, [handle, 0, 0, 0, 0], &[]).map(|r| r.args)
}

fn file_of(rt_fd: RtFd) -> Result<Arc<OpenFile>, ErrorCode> {
    match fd::get(rt_fd) {
        Some(Fd::File(f)) => Ok(f),
        _ => Err(E_BAD_HANDLE),
    }
}

fn code(r: Result<(), ErrorCode>) -> ErrorCode {
    r.err().unwrap_or(E_OK)
}

pub extern "C" fn open(path: *const u8, len: usize, opts: u32) -> i32 {
    let r = (|| {
        let flags = pure::open_flags(opts)?;
        let path = path_arg(path, len)?;
        let (handle, _, _) = open_path(&path, flags)?;
        let file = OpenFile { handle, append: flags & vireo_io_channel::open::APPEND != 0, offset: AtomicU64::new(0) };
        // On failure the file is dropped, which closes the handle.
        fd::insert(Fd::File(Arc::new(file))).ok_or(E_OUT_OF_MEMORY)
    })();
    r.unwrap_or_else(|e| -(e as i32))
}

/// A read for `fd::read`: at the descriptor's offset, which moves on.
pub fn read(f: &OpenFile, buf: &mut [u8]) -> i64 {
    let at = f.offset.load(Ordering::Relaxed);
    match lock().and_then(|mut g| read_at(&mut g, f.handle, at, buf)) {
        Ok(n) => {
            f.offset.store(at + n as u64, Ordering::Relaxed);
            n as i64
        }
        Err(e) => neg(e),
    }
}

/// A write for `fd::write_bytes`: at the offset, or the end with append.
pub fn write(f: &OpenFile, data: &[u8]) -> i64 {
    let at = f.offset.load(Ordering::Relaxed);
    match lock().and_then(|mut g| write_at(&mut g, f.handle, at, f.append, data)) {
        Ok((n, end)) => {
            f.offset.store(if f.append { end } else { at + n as u64 }, Ordering::Relaxed);
            n as i64
        }
        Err(e) => neg(e),
    }
}

pub extern "C" fn get_file_attr(rt_fd: RtFd, attr: *mut FileAttr) -> ErrorCode {
    if attr.is_null() {
        return E_INVALID_ARGUMENT;
    }
    match file_of(rt_fd).and_then(|f| stat_handle(f.handle)) {
        Ok(args) => {
            // SAFETY: moto-rt passes a FileAttr to fill.
            unsafe { attr.write(attr_of_stat(&args)) };
            E_OK
        }
        Err(e) => e,
    }
}

fn sync(rt_fd: RtFd, data_only: u64) -> ErrorCode {
    code(file_of(rt_fd).and_then(|f| channel::call(Op::Sync, [f.handle, data_only, 0, 0, 0], &[]).map(drop)))
}

pub extern "C" fn fsync(rt_fd: RtFd) -> ErrorCode {
    sync(rt_fd, 0)
}

pub extern "C" fn datasync(rt_fd: RtFd) -> ErrorCode {
    sync(rt_fd, 1)
}

pub extern "C" fn truncate(rt_fd: RtFd, size: u64) -> ErrorCode {
    code(file_of(rt_fd).and_then(|f| channel::call(Op::Truncate, [f.handle, size, 0, 0, 0], &[]).map(drop)))
}

pub extern "C" fn seek(rt_fd: RtFd, offset: i64, whence: u8) -> i64 {
    let r = file_of(rt_fd).and_then(|f| {
        let base = match whence {
            SEEK_SET => 0,
            SEEK_CUR => f.offset.load(Ordering::Relaxed),
            SEEK_END => stat_handle(f.handle)?[0],
            _ => return Err(E_INVALID_ARGUMENT),
        };
        let to = seek_target(base, offset)?;
        f.offset.store(to, Ordering::Relaxed);
        Ok(to)
    });
    match r {
        Ok(to) => to as i64,
        Err(e) => neg(e),
    }
}

pub extern "C" fn set_file_perm(rt_fd: RtFd, perm: u64) -> ErrorCode {
    code(file_of(rt_fd).and_then(|f| {
        let is_dir = stat_handle(f.handle)?[1] == kind::DIRECTORY as u64;
        channel::call(Op::SetMode, [f.handle, mode_of_perm(perm, is_dir), 0, 0, 0], &[]).map(drop)
    }))
}

/// The whole file at the absolute path `path`, at most `limit` bytes
/// (`E_FILE_TOO_LARGE` beyond), read in 64 KiB requests; for spawning a
/// program from the disk.
pub fn read_whole(path: &str, limit: u64) -> Result<alloc::vec::Vec<u8>, ErrorCode> {
    let (handle, _, k) = open_path(path, vireo_io_channel::open::READ)?;
    // Closes the handle on every return.
    let file = OpenFile { handle, append: false, offset: AtomicU64::new(0) };
    if k != kind::FILE as u64 {
        return Err(moto_rt::error::E_NOT_ALLOWED);
    }
    let size = stat_handle(file.handle)?[0];
    if size > limit {
        return Err(moto_rt::error::E_FILE_TOO_LARGE);
    }
    let mut image = alloc::vec![0u8; size as usize];
    let n = read_at(&mut lock()?, file.handle, 0, &mut image)?;
    image.truncate(n);
    Ok(image)
}
