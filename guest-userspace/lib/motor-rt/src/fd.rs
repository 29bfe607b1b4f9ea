//! The runtime's file descriptors (fs slots 33-44 and 61 on them).
//!
//! A descriptor is an index into [`FDS`]: 0, 1 and 2 are stdin, stdout and
//! stderr (set up in `vdso_entry` from the spawn block, or the console for
//! a process the kernel started); the pipe ends std holds for a child's
//! piped stdio get 3 and up. Each is the console (`ConsoleRead` /
//! `ConsoleWrite`), null (reads are end of file, writes are swallowed), or a
//! Vireo pipe end (`Read` / `Write` on its handle), or a file or directory
//! open on the I/O server (`fs/`). A file or directory is shared by the
//! descriptors `duplicate` made (one server handle, one offset); the server
//! handle is closed when the last of them is closed.
use crate::fs::dir::OpenDir;
use crate::fs::file::{self, OpenFile};
use crate::net::poll::Registry;
use crate::net::Socket;
use alloc::sync::Arc;
use alloc::vec::Vec;
use moto_rt::error::{
    ErrorCode, E_BAD_HANDLE, E_INTERNAL_ERROR, E_INVALID_ARGUMENT, E_NOT_CONNECTED, E_OK, E_OUT_OF_MEMORY,
};
use moto_rt::RtFd;
use vireo_rt::sync::Mutex;
use vireo_rt::sys;

#[derive(Clone, Debug)]
pub enum Fd {
    Console,
    Null,
    /// A pipe's read end (its Vireo handle).
    PipeRead(u64),
    /// A pipe's write end.
    PipeWrite(u64),
    /// A file on the I/O server.
    File(Arc<OpenFile>),
    /// A directory being listed (`fs_opendir`).
    Dir(Arc<OpenDir>),
    /// A socket on the I/O server (`net/`).
    Socket(Arc<Socket>),
    /// A poll registry on the I/O server (`net/poll.rs`).
    Poll(Arc<Registry>),
}

impl Fd {
    /// The Vireo handle this descriptor owns (a pipe end's).
    pub fn handle(&self) -> Option<u64> {
        match self {
            Fd::PipeRead(h) | Fd::PipeWrite(h) => Some(*h),
            Fd::Console | Fd::Null | Fd::File(_) | Fd::Dir(_) | Fd::Socket(_) | Fd::Poll(_) => None,
        }
    }
}

static FDS: Mutex<Vec<Option<Fd>>> = Mutex::new(Vec::new());

/// The kernel takes at most 1 MiB per ConsoleWrite.
const CONSOLE_CHUNK: usize = 1 << 20;

/// Sets fds 0, 1, 2 (called once, from `vdso_entry`).
pub fn init(stdio: [Fd; 3]) {
    let mut fds = FDS.lock();
    fds.clear();
    fds.extend(stdio.into_iter().map(Some));
}

pub fn get(fd: RtFd) -> Option<Fd> {
    let i = usize::try_from(fd).ok()?;
    FDS.lock().get(i).cloned().flatten()
}

/// A new descriptor (the lowest free one from 3 up), or `None` when out of
/// memory.
pub fn insert(f: Fd) -> Option<RtFd> {
    let mut fds = FDS.lock();
    while fds.len() < 3 {
        fds.push(None);
    }
    let i = match fds.iter().skip(3).position(Option::is_none) {
        Some(i) => i + 3,
        None => {
            fds.try_reserve(1).ok()?;
            fds.push(None);
            fds.len() - 1
        }
    };
    fds[i] = Some(f);
    RtFd::try_from(i).ok()
}

/// Removes a descriptor (without closing its handle).
pub fn take(fd: RtFd) -> Option<Fd> {
    let i = usize::try_from(fd).ok()?;
    FDS.lock().get_mut(i).and_then(Option::take)
}

pub extern "C" fn is_terminal(fd: RtFd) -> i32 {
    matches!(get(fd), Some(Fd::Console)) as i32
}

fn console_write(bytes: &[u8]) -> i64 {
    for chunk in bytes.chunks(CONSOLE_CHUNK) {
        if sys::console_write(chunk).is_err() {
            return -(E_INTERNAL_ERROR as i64);
        }
    }
    bytes.len() as i64
}

pub fn write_bytes(fd: RtFd, bytes: &[u8]) -> i64 {
    match get(fd) {
        Some(Fd::Console) => console_write(bytes),
        Some(Fd::Null) => bytes.len() as i64,
        Some(Fd::PipeWrite(h)) => {
            if bytes.is_empty() {
                return 0;
            }
            match sys::pipe_write(h, bytes) {
                Ok(n) => n as i64,
                // Every reader is gone (EPIPE).
                Err(vireo_rt::Error::Closed) => -(E_NOT_CONNECTED as i64),
                Err(_) => -(E_INTERNAL_ERROR as i64),
            }
        }
        Some(Fd::File(f)) => file::write(&f, bytes),
        Some(Fd::Socket(s)) => match crate::net::send(&s, bytes, None) {
            Ok(n) => n as i64,
            Err(e) => -(e as i64),
        },
        Some(Fd::PipeRead(_)) | Some(Fd::Dir(_)) | Some(Fd::Poll(_)) | None => -(E_BAD_HANDLE as i64),
    }
}

pub extern "C" fn write(fd: RtFd, buf: *const u8, len: usize) -> i64 {
    if len == 0 {
        return if get(fd).is_some() { 0 } else { -(E_BAD_HANDLE as i64) };
    }
    // SAFETY: moto-rt passes a valid slice.
    write_bytes(fd, unsafe { core::slice::from_raw_parts(buf, len) })
}

/// `packed` is `n` pairs of (address, length).
pub extern "C" fn write_vectored(fd: RtFd, packed: *const usize, n: usize) -> i64 {
    // SAFETY: moto-rt passes `n` (addr, len) pairs.
    let pairs = unsafe { core::slice::from_raw_parts(packed, n.saturating_mul(2)) };
    // One write, so the pieces of one line stay together.
    let mut all = Vec::new();
    for p in pairs.chunks_exact(2) {
        if p[1] != 0 {
            // SAFETY: each pair is a valid slice of the caller's.
            all.extend_from_slice(unsafe { core::slice::from_raw_parts(p[0] as *const u8, p[1]) });
        }
    }
    write_bytes(fd, &all)
}

/// The console gives one line (blocking) with its `\n`.
fn console_read(buf: &mut [u8]) -> i64 {
    let len = buf.len();
    let cap = if len > 1 { len - 1 } else { len };
    match sys::console_read(&mut buf[..cap]) {
        Ok(n) => {
            let n = (n as usize).min(cap);
            if n < len && len > 1 {
                buf[n] = b'\n';
                (n + 1) as i64
            } else {
                n as i64
            }
        }
        Err(_) => -(E_INTERNAL_ERROR as i64),
    }
}

pub extern "C" fn read(fd: RtFd, buf: *mut u8, len: usize) -> i64 {
    let Some(f) = get(fd) else { return -(E_BAD_HANDLE as i64) };
    if len == 0 {
        return 0;
    }
    // SAFETY: moto-rt passes a valid buffer.
    let buf = unsafe { core::slice::from_raw_parts_mut(buf, len) };
    match f {
        Fd::Console => console_read(buf),
        Fd::Null => 0,
        Fd::PipeRead(h) => match sys::pipe_read(h, buf) {
            Ok(n) => n as i64,
            Err(_) => -(E_INTERNAL_ERROR as i64),
        },
        Fd::File(f) => file::read(&f, buf),
        Fd::Socket(s) => match crate::net::recv(&s, buf, false) {
            Ok((n, _, _)) => n as i64,
            Err(e) => -(e as i64),
        },
        Fd::PipeWrite(_) | Fd::Dir(_) | Fd::Poll(_) => -(E_BAD_HANDLE as i64),
    }
}

/// `packed` is `n` pairs of (address, length). A file fills the buffers in
/// turn until one comes back short; anything else reads into the first
/// non-empty buffer only (a console or pipe read may block).
pub extern "C" fn read_vectored(fd: RtFd, packed: *const usize, n: usize) -> i64 {
    let Some(f) = get(fd) else { return -(E_BAD_HANDLE as i64) };
    if packed.is_null() {
        return if n == 0 { 0 } else { -(E_INVALID_ARGUMENT as i64) };
    }
    // SAFETY: moto-rt passes `n` (addr, len) pairs.
    let pairs = unsafe { core::slice::from_raw_parts(packed, n.saturating_mul(2)) };
    let mut total = 0i64;
    for p in pairs.chunks_exact(2).filter(|p| p[1] != 0) {
        let got = read(fd, p[0] as *mut u8, p[1]);
        if got < 0 {
            return if total > 0 { total } else { got };
        }
        total += got;
        if !matches!(f, Fd::File(_)) || (got as usize) < p[1] {
            break;
        }
    }
    total
}

pub extern "C" fn flush(fd: RtFd) -> ErrorCode {
    if get(fd).is_some() {
        E_OK
    } else {
        E_BAD_HANDLE
    }
}

pub extern "C" fn close(fd: RtFd) -> ErrorCode {
    match take(fd) {
        Some(f) => {
            if let Some(h) = f.handle() {
                let _ = sys::close(h);
            }
            E_OK
        }
        None => E_BAD_HANDLE,
    }
}

/// A new descriptor for the same console, null or pipe end (a pipe handle
/// is duplicated, so closing one leaves the other open).
pub extern "C" fn duplicate(fd: RtFd) -> i64 {
    let Some(f) = get(fd) else { return -(E_BAD_HANDLE as i64) };
    let copy = match f {
        Fd::Console | Fd::Null | Fd::File(_) | Fd::Dir(_) | Fd::Socket(_) | Fd::Poll(_) => f,
        Fd::PipeRead(h) | Fd::PipeWrite(h) => {
            let Ok(d) = sys::duplicate(h, sys::rights::DUPLICATE) else { return -(E_INTERNAL_ERROR as i64) };
            if matches!(f, Fd::PipeRead(_)) {
                Fd::PipeRead(d)
            } else {
                Fd::PipeWrite(d)
            }
        }
    };
    let handle = copy.handle();
    match insert(copy) {
        Some(n) => n as i64,
        None => {
            if let Some(h) = handle {
                let _ = sys::close(h);
            }
            -(E_OUT_OF_MEMORY as i64)
        }
    }
}
