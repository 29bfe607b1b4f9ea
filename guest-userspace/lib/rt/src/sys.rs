//! Typed wrappers, one per call in `pv_abi::syscall::Sys`.
//!
//! Each returns `Result<_, Error>` decoded from RAX by `Error::from_ret`.
//! Handles are plain `u64`s here (the kernel validates them; a bogus one is
//! `BadHandle`); [`crate::process::Process`] and [`crate::thread`] add ownership.
//! Calls that can invalidate memory this program still uses (unmap, protect,
//! raw thread start, FS base) are `unsafe`.

use crate::raw::*;
use alloc::vec::Vec;
use core::sync::atomic::AtomicU32;
use pv_abi::syscall::{Error, Sys, SysInfo};

pub use pv_abi::syscall::{prot, rights, status};

/// Timeout meaning "wait forever" for `wait` and `futex_wait`.
pub const FOREVER: u64 = u64::MAX;

pub type Result<T> = core::result::Result<T, Error>;

#[inline(always)]
fn ret(rax: u64) -> Result<u64> {
    Error::from_ret(rax)
}

/// Writes `bytes` to the serial console; returns the count written.
pub fn console_write(bytes: &[u8]) -> Result<u64> {
    // SAFETY: the kernel only reads the slice, which is valid for its length.
    ret(unsafe { syscall2(Sys::ConsoleWrite as u64, bytes.as_ptr() as u64, bytes.len() as u64) })
}

/// Reads one console line (blocking) into `buf`, without its terminator.
pub fn console_read(buf: &mut [u8]) -> Result<u64> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into the buffer we own.
    ret(unsafe { syscall2(Sys::ConsoleRead as u64, buf.as_mut_ptr() as u64, buf.len() as u64) })
}

/// Ends the process (all its threads) with `status`.
pub fn exit(status: i32) -> ! {
    // SAFETY: ending the process cannot break an invariant of code that never runs again.
    unsafe { syscall1(Sys::Exit as u64, status as u32 as u64) };
    // The kernel does not return from Exit; if it ever did, dying loudly is
    // better than running on.
    crate::abort()
}

/// Gives up the CPU.
pub fn yield_now() -> Result<u64> {
    // SAFETY: no memory effects.
    ret(unsafe { syscall0(Sys::Yield as u64) })
}

/// Sleeps for at least `ns` nanoseconds.
pub fn sleep(ns: u64) -> Result<u64> {
    // SAFETY: no memory effects.
    ret(unsafe { syscall1(Sys::Sleep as u64, ns) })
}

/// Monotonic nanoseconds since boot: from the clock page when it can
/// (`crate::clock`), otherwise from the kernel.
pub fn clock() -> Result<u64> {
    match crate::clock::page_now_ns() {
        Some(ns) => Ok(ns),
        None => kernel_clock(),
    }
}

/// The kernel's `ClockMonotonic`, always a system call.
pub fn kernel_clock() -> Result<u64> {
    // SAFETY: no memory effects.
    ret(unsafe { syscall0(Sys::ClockMonotonic as u64) })
}

/// [`clock`] for callers that only want a number: the call cannot fail, and
/// 0 (boot time) is a harmless answer if it ever did.
pub fn now_ns() -> u64 {
    clock().unwrap_or(0)
}

/// Maps `len` bytes of zeroed anonymous memory (populated on first touch) at
/// an address of the kernel's choosing near `hint` (0: anywhere).
pub fn map(hint: u64, len: u64, prot: u64) -> Result<u64> {
    // The hint is a hint, not a fixed address.
    // SAFETY: Map only creates a new mapping in a free range: no memory in use changes.
    ret(unsafe { syscall3(Sys::Map as u64, hint, len, prot) })
}

/// Unmaps memory mapped with `map` or `shm_map`.
///
/// # Safety
/// Nothing may use `[addr, addr + len)` afterwards.
pub unsafe fn unmap(addr: u64, len: u64) -> Result<u64> {
    // SAFETY: the caller guarantees the range is no longer used.
    ret(unsafe { syscall2(Sys::Unmap as u64, addr, len) })
}

/// Changes the protection of `[addr, addr + len)` (W+X is refused).
///
/// # Safety
/// Nothing may access the range in a way the new protection forbids.
pub unsafe fn protect(addr: u64, len: u64, prot: u64) -> Result<u64> {
    // SAFETY: the caller guarantees the new protection matches the range's use.
    ret(unsafe { syscall3(Sys::Protect as u64, addr, len, prot) })
}

/// Encodes `args` for `Spawn`: NUL-separated, no trailing NUL.
pub fn encode_args(args: &[&str]) -> Vec<u8> {
    let mut blob = Vec::with_capacity(args.iter().map(|a| a.len() + 1).sum());
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            blob.push(0);
        }
        blob.extend_from_slice(a.as_bytes());
    }
    blob
}

/// Starts the initrd program at `path` with `args`; returns a process handle
/// (all rights). Close it when done (or use [`crate::process::Process`]).
pub fn spawn(path: &str, args: &[&str]) -> Result<u64> {
    spawn_with_handles(path, args, &[])
}

/// Starts `path` and passes it `handles`: in the child they are handles 1,
/// 2, … in this order, with the same rights (e.g. shared memory to talk over).
pub fn spawn_with_handles(path: &str, args: &[&str], handles: &[u64]) -> Result<u64> {
    let blob = encode_args(args);
    spawn_raw(path.as_bytes(), &blob, handles)
}

/// `Spawn` with an already-encoded argument blob.
pub fn spawn_raw(path: &[u8], args_blob: &[u8], handles: &[u64]) -> Result<u64> {
    // An empty slice's pointer is a dangling non-null address; give the
    // kernel a real one with length 0 instead, so no pointer check can trip.
    let args_ptr = if args_blob.is_empty() { path.as_ptr() } else { args_blob.as_ptr() };
    let handles_ptr = if handles.is_empty() { path.as_ptr() } else { handles.as_ptr().cast() };
    // SAFETY: the kernel only reads the three slices, valid for their lengths.
    ret(unsafe {
        syscall6(
            Sys::Spawn as u64,
            path.as_ptr() as u64,
            path.len() as u64,
            args_ptr as u64,
            args_blob.len() as u64,
            handles_ptr as u64,
            handles.len() as u64,
        )
    })
}

/// Waits up to `timeout_ns` ([`FOREVER`]) for a process or thread to end;
/// returns its exit status (see [`status`]).
pub fn wait(handle: u64, timeout_ns: u64) -> Result<i32> {
    // SAFETY: no memory effects on this process.
    let r = ret(unsafe { syscall2(Sys::Wait as u64, handle, timeout_ns) })?;
    // The status is an i32; take the low 32 bits so it decodes the same
    // whether the kernel zero- or sign-extends it.
    Ok(r as u32 as i32)
}

/// Ends the process `handle` names (needs `rights::KILL`).
pub fn kill(handle: u64) -> Result<u64> {
    // SAFETY: another process's end does not touch this process's memory.
    ret(unsafe { syscall1(Sys::Kill as u64, handle) })
}

/// Starts a thread at `entry` with RSP = `stack_top`, RDI = `arg`, FS base =
/// `fs_base`; returns its handle.
///
/// # Safety
/// `entry` must be code that can run on that stack with that argument and
/// must end with `thread_exit`; the stack must stay mapped until it does.
pub unsafe fn thread_spawn_raw(entry: u64, stack_top: u64, arg: u64, fs_base: u64) -> Result<u64> {
    // SAFETY: the caller guarantees entry, stack and argument are consistent.
    ret(unsafe { syscall4(Sys::ThreadSpawn as u64, entry, stack_top, arg, fs_base) })
}

/// Ends the calling thread (the process ends with its last thread).
pub fn thread_exit(status: i32) -> ! {
    // SAFETY: the thread never runs again; its stack is freed by whoever joins it.
    unsafe { syscall1(Sys::ThreadExit as u64, status as u32 as u64) };
    crate::abort()
}

/// Sleeps while `*word == expected`, until woken or `timeout_ns` passes
/// (`TimedOut`); `WouldBlock` if the word already differs.
pub fn futex_wait(word: &AtomicU32, expected: u32, timeout_ns: u64) -> Result<u64> {
    // SAFETY: the kernel only reads the word, which the reference keeps valid.
    ret(unsafe { syscall3(Sys::FutexWait as u64, word.as_ptr() as u64, expected as u64, timeout_ns) })
}

/// Wakes up to `count` waiters on `word`; returns how many woke.
pub fn futex_wake(word: &AtomicU32, count: u64) -> Result<u64> {
    // SAFETY: the kernel does not access the word's memory, only its address.
    ret(unsafe { syscall2(Sys::FutexWake as u64, word.as_ptr() as u64, count) })
}

/// Sets the calling thread's FS base.
///
/// # Safety
/// Code that uses FS-relative (thread-local) accesses must find its TLS there.
pub unsafe fn set_fs_base(addr: u64) -> Result<u64> {
    // SAFETY: the caller guarantees the new TLS pointer is right for this thread.
    ret(unsafe { syscall1(Sys::SetFsBase as u64, addr) })
}

/// Closes a handle.
pub fn close(handle: u64) -> Result<u64> {
    // SAFETY: no memory effects (mappings of a closed shm object stay valid).
    ret(unsafe { syscall1(Sys::Close as u64, handle) })
}

/// Duplicates a handle with at most `rights`.
pub fn duplicate(handle: u64, rights: u32) -> Result<u64> {
    // SAFETY: no memory effects.
    ret(unsafe { syscall2(Sys::Duplicate as u64, handle, rights as u64) })
}

/// Creates a shared-memory object of `len` bytes; returns its handle.
pub fn shm_create(len: u64) -> Result<u64> {
    // SAFETY: no memory effects on this address space.
    ret(unsafe { syscall1(Sys::ShmCreate as u64, len) })
}

/// Maps a shared-memory object; returns its address.
pub fn shm_map(handle: u64, prot: u64) -> Result<u64> {
    // SAFETY: new memory only, as with `map`.
    ret(unsafe { syscall2(Sys::ShmMap as u64, handle, prot) })
}

/// Copies this process's NUL-separated arguments into `buf`; returns their length.
pub fn args_raw(buf: &mut [u8]) -> Result<u64> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into the buffer we own.
    ret(unsafe { syscall2(Sys::Args as u64, buf.as_mut_ptr() as u64, buf.len() as u64) })
}

/// Fills up to `buf.len()` bytes of a [`SysInfo`]; returns the count copied.
pub fn sysinfo_raw(buf: &mut [u8]) -> Result<u64> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into the buffer we own.
    ret(unsafe { syscall2(Sys::SysInfo as u64, buf.as_mut_ptr() as u64, buf.len() as u64) })
}

/// System information: CPUs, this pid, memory, TSC rate, boot time.
pub fn sysinfo() -> Result<SysInfo> {
    let mut info = SysInfo::default();
    let len = core::mem::size_of::<SysInfo>() as u64;
    // The kernel writes at most `len` bytes.
    // SAFETY: `info` is a plain repr(C) struct of integers, valid for any bytes.
    ret(unsafe { syscall2(Sys::SysInfo as u64, &mut info as *mut SysInfo as u64, len) })?;
    Ok(info)
}

/// Writes a boot-trace code (init only: `pv_abi::boot_trace::INIT_READY`).
pub fn boot_mark(code: u8) -> Result<u64> {
    // SAFETY: no memory effects.
    ret(unsafe { syscall1(Sys::BootMark as u64, code as u64) })
}

/// Creates a pipe; returns `(read end, write end)` handles.
pub fn pipe_create() -> Result<(u64, u64)> {
    let mut ends = [0u64; 2];
    // SAFETY: the kernel writes two u64 into the array we own.
    ret(unsafe { syscall1(Sys::PipeCreate as u64, ends.as_mut_ptr() as u64) })?;
    Ok((ends[0], ends[1]))
}

/// Reads from a pipe's read end (blocks for at least one byte); 0 = end of
/// file.
pub fn pipe_read(handle: u64, buf: &mut [u8]) -> Result<u64> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into the buffer we own.
    ret(unsafe { syscall3(Sys::Read as u64, handle, buf.as_mut_ptr() as u64, buf.len() as u64) })
}

/// Writes to a pipe's write end (blocks while it is full); may write fewer
/// bytes than given; `Closed` when no reader is left.
pub fn pipe_write(handle: u64, bytes: &[u8]) -> Result<u64> {
    // SAFETY: the kernel only reads the slice, valid for its length.
    ret(unsafe { syscall3(Sys::Write as u64, handle, bytes.as_ptr() as u64, bytes.len() as u64) })
}

/// The size in bytes of the shared-memory object behind `handle`.
pub fn shm_len(handle: u64) -> Result<u64> {
    // SAFETY: no memory effects.
    ret(unsafe { syscall1(Sys::ShmLen as u64, handle) })
}

/// Registers the service `name` (needs the device right `right`); returns
/// the listener handle for [`service_accept`].
pub fn service_register(right: u64, name: &str) -> Result<u64> {
    // SAFETY: the kernel only reads the name, valid for its length.
    ret(unsafe { syscall3(Sys::ServiceRegister as u64, right, name.as_ptr() as u64, name.len() as u64) })
}

/// Connects to the service `name`, passing it `handle`.
pub fn service_connect(name: &str, handle: u64) -> Result<u64> {
    // SAFETY: the kernel only reads the name, valid for its length.
    ret(unsafe { syscall3(Sys::ServiceConnect as u64, name.as_ptr() as u64, name.len() as u64, handle) })
}

/// Takes the next connection to `listener` within `timeout_ns` ([`FOREVER`]):
/// `(the handle the client passed, the client's process handle)`.
pub fn service_accept(listener: u64, timeout_ns: u64) -> Result<(u64, u64)> {
    let mut out = [0u64; 2];
    // SAFETY: the kernel writes two u64 into `out`, which we own.
    ret(unsafe { syscall3(Sys::ServiceAccept as u64, listener, out.as_mut_ptr() as u64, timeout_ns) })?;
    Ok((out[0], out[1]))
}

/// Maps the initrd read-only (needs the device right `right`).
pub fn initrd_map(right: u64) -> Result<&'static [u8]> {
    let mut len = 0u64;
    // SAFETY: the kernel writes one u64 into `len`, which we own.
    let addr = ret(unsafe { syscall2(Sys::InitrdMap as u64, right, &mut len as *mut u64 as u64) })?;
    // Nothing ever unmaps or writes them.
    // SAFETY: the kernel mapped `len` readable bytes at `addr` for the rest of this process's life.
    Ok(unsafe { core::slice::from_raw_parts(addr as *const u8, len as usize) })
}

/// Starts a program from the ELF `image` in memory; `path` names it (as for
/// [`spawn`]); `args_blob` as from [`encode_args`]; `handles` as for
/// [`spawn_with_handles`]. Returns a process handle (all rights).
pub fn spawn_image(image: &[u8], path: &str, args_blob: &[u8], handles: &[u64]) -> Result<u64> {
    let spec = pv_abi::syscall::SpawnImage {
        image_ptr: image.as_ptr() as u64,
        image_len: image.len() as u64,
        path_ptr: path.as_ptr() as u64,
        path_len: path.len() as u64,
        args_ptr: args_blob.as_ptr() as u64,
        args_len: args_blob.len() as u64,
        handles_ptr: handles.as_ptr() as u64,
        handles_len: handles.len() as u64,
    };
    // All are valid for their lengths for the duration of the call.
    // SAFETY: the kernel only reads the spec and the ranges it names.
    ret(unsafe { syscall2(Sys::SpawnImage as u64, &spec as *const _ as u64, core::mem::size_of_val(&spec) as u64) })
}
