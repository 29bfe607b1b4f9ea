//! Directory listing (slots 56-58): a server directory handle, a cursor,
//! and the records of the last `Readdir` reply not handed out yet.
use super::channel::{self, lock};
use super::path_arg;
use super::pure::fill_dirent;
use crate::fd::{self, Fd};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use moto_rt::error::{ErrorCode, E_BAD_HANDLE, E_INVALID_ARGUMENT, E_INVALID_DATA, E_NOT_FOUND, E_OK, E_OUT_OF_MEMORY};
use moto_rt::fs::DirEntry;
use moto_rt::RtFd;
use vireo_io_channel::{dirent, open, Msg, Op, SLOT_SIZE};
use vireo_rt::sync::Mutex;

/// Room for one `Readdir` reply: at least 28 records of the longest name.
const BATCH_BYTES: usize = 2 * SLOT_SIZE;

#[derive(Default)]
struct Listing {
    cursor: u64,
    /// The server said there is nothing after `buf`.
    end: bool,
    buf: Vec<u8>,
    pos: usize,
}

pub struct OpenDir {
    handle: u64,
    listing: Mutex<Listing>,
}

impl Drop for OpenDir {
    fn drop(&mut self) {
        let _ = channel::call(Op::Close, [self.handle, 0, 0, 0, 0], &[]);
    }
}

impl core::fmt::Debug for OpenDir {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OpenDir").field("handle", &self.handle).finish_non_exhaustive()
    }
}

impl OpenDir {
    /// Opens the directory at the absolute path `path`.
    pub fn open(path: &str) -> Result<Self, ErrorCode> {
        let r = channel::call(Op::Open, [open::DIRECTORY, 0, 0, 0, 0], path.as_bytes())?;
        Ok(Self { handle: r.args[0], listing: Mutex::new(Listing::default()) })
    }

    /// Calls `f` with the next entry; `Ok(false)` at the end.
    pub fn next(&self, f: impl FnOnce(&dirent::Entry) -> Result<(), ErrorCode>) -> Result<bool, ErrorCode> {
        let mut guard = self.listing.lock();
        let l = &mut *guard;
        loop {
            if l.pos < l.buf.len() {
                // Past this entry even if it is refused, so the next call moves
                // on; a malformed record drops the rest of its reply.
                let Some((entry, next)) = dirent::get(&l.buf, l.pos) else {
                    l.pos = l.buf.len();
                    return Err(E_INVALID_DATA);
                };
                l.pos = next;
                f(&entry)?;
                return Ok(true);
            }
            if l.end {
                return Ok(false);
            }
            self.fetch(l)?;
        }
    }

    fn fetch(&self, l: &mut Listing) -> Result<(), ErrorCode> {
        let mut msg = Msg::new(0, Op::Readdir);
        msg.args[0] = self.handle;
        msg.args[1] = l.cursor;
        l.buf.resize(BATCH_BYTES, 0);
        let (reply, n) = lock()?.call(msg, &[], &mut l.buf)?;
        l.buf.truncate(n);
        l.pos = 0;
        // A server that neither moves on nor gives entries is at the end.
        l.end = reply.args[1] == 1 || (n == 0 && reply.args[0] == l.cursor);
        l.cursor = reply.args[0];
        Ok(())
    }

    /// Every (name, kind) left, for `rmdir_all`.
    pub fn names(&self) -> Result<Vec<(String, u8)>, ErrorCode> {
        let mut out = Vec::new();
        loop {
            let mut item = None;
            let more = self.next(|e| {
                let name = core::str::from_utf8(e.name).map_err(|_| moto_rt::error::E_INVALID_FILENAME)?;
                item = Some((String::from(name), e.kind));
                Ok(())
            })?;
            match item {
                Some(i) if more => out.push(i),
                _ => return Ok(out),
            }
        }
    }
}

pub extern "C" fn opendir(path: *const u8, len: usize) -> i32 {
    let r = path_arg(path, len).and_then(|p| OpenDir::open(&p)).and_then(|d| {
        // On failure the directory is dropped, which closes the handle.
        fd::insert(Fd::Dir(Arc::new(d))).ok_or(E_OUT_OF_MEMORY)
    });
    r.unwrap_or_else(|e| -(e as i32))
}

/// Never fails for a directory descriptor (std unwraps the result).
pub extern "C" fn closedir(rt_fd: RtFd) -> ErrorCode {
    match fd::get(rt_fd) {
        Some(Fd::Dir(_)) => {
            fd::take(rt_fd);
            E_OK
        }
        _ => E_BAD_HANDLE,
    }
}

/// The next entry, or `E_NOT_FOUND` at the end (moto-rt's convention).
pub extern "C" fn readdir(rt_fd: RtFd, out: *mut DirEntry) -> ErrorCode {
    if out.is_null() {
        return E_INVALID_ARGUMENT;
    }
    let Some(Fd::Dir(d)) = fd::get(rt_fd) else { return E_BAD_HANDLE };
    // SAFETY: moto-rt passes a DirEntry to fill, ours for this call.
    let out = unsafe { &mut *out };
    match d.next(|e| fill_dirent(e, out)) {
        Ok(true) => E_OK,
        Ok(false) => E_NOT_FOUND,
        Err(e) => e,
    }
}
