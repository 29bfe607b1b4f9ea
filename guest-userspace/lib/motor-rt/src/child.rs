//! Child processes (slots 19-22: proc_spawn, proc_kill, proc_wait,
//! proc_status), for `std::process::Command`.
//!
//! `spawn` resolves the program (a path with a `/` as given, else each
//! directory of `$PATH`, then `/bin`), passes the arguments as Vireo's
//! NUL-separated blob, and the environment and stdio in a spawn block
//! (`spawn_block.rs`) that becomes the child's handle 1; pipe ends the child
//! gets follow as handles 2, 3, 4. std's stdio choices map as:
//!
//! - inherit: the parent's own fd 0/1/2 (console, null, or its pipe end,
//!   passed on);
//! - null: null;
//! - piped: a new Vireo pipe; the child gets one end, the parent keeps the
//!   other as a new fd (3 and up) returned in `SpawnResult`;
//! - an fd (`Stdio::from(ChildStdout)` …): that fd's console/null/pipe end;
//!   std hands the fd over, so it is closed after the spawn.
//!
//! The process handle is Vireo's (`Wait` / `Kill` / `Close` on it).
use crate::fd::{self, Fd};
use crate::spawn_block::{self, Stdio};
use alloc::string::String;
use alloc::vec::Vec;
use moto_rt::error::{
    ErrorCode, E_BAD_HANDLE, E_INTERNAL_ERROR, E_INVALID_ARGUMENT, E_NOT_ALLOWED, E_NOT_FOUND, E_NOT_READY, E_OK,
    E_OUT_OF_MEMORY,
};
use moto_rt::process::{SpawnArgsRt, SpawnResult, STDIO_INHERIT, STDIO_MAKE_PIPE, STDIO_NULL};
use moto_rt::RtFd;
use vireo_rt::sys::{self, FOREVER};
use vireo_rt::Error;

/// Env keys that only talk to the spawner (moto-rt's and Motor's); they
/// are not passed on.
const SPAWNER_KEYS: [&[u8]; 3] = [b"MOTURUS_STDIO_IS_TERMINAL", b"MOTOR_OS_CAPS", b"MOTOR_OS_DETACHED"];

/// moto-rt's vector encoding (u32 count; per item u32 length, bytes padded
/// to 4) at `addr`, 0 meaning empty.
///
/// # Safety
/// `addr` is 0 or a buffer moto-rt encoded.
unsafe fn decode_vec<'a>(addr: u64) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    if addr == 0 {
        return out;
    }
    let mut pos = addr as usize;
    // The encoding: a count, then (length, bytes) items, each padded to 4.
    // SAFETY: the caller guarantees an encoded buffer at `addr`.
    unsafe {
        let n = (pos as *const u32).read();
        pos += 4;
        for _ in 0..n {
            let len = (pos as *const u32).read() as usize;
            pos += 4;
            out.push(core::slice::from_raw_parts(pos as *const u8, len));
            pos += (len + 3) & !3;
        }
    }
    out
}

/// What the child gets for one of its fds 0-2.
enum Give {
    Console,
    Null,
    /// A handle of ours to pass; `owned`: ours to close after the spawn.
    Handle {
        handle: u64,
        owned: bool,
    },
}

/// A parent-side fd made for a piped child stdio.
struct Kept {
    fd: RtFd,
    handle: u64,
}

struct Plan {
    give: [Give; 3],
    kept: [Option<Kept>; 3],
    /// fds std handed over (closed after the spawn, whatever happens).
    handed_over: Vec<RtFd>,
}

impl Plan {
    /// Undoes what a failed spawn set up in this process.
    fn abandon(&mut self) {
        for k in self.kept.iter_mut().filter_map(Option::take) {
            fd::take(k.fd);
            let _ = sys::close(k.handle);
        }
    }

    fn finish(&mut self) {
        for g in &self.give {
            if let Give::Handle { handle, owned: true } = g {
                let _ = sys::close(*handle);
            }
        }
        for f in self.handed_over.drain(..) {
            fd::close(f);
        }
    }
}

fn give_existing(f: Option<Fd>) -> Give {
    match f {
        Some(Fd::Console) => Give::Console,
        Some(Fd::PipeRead(h)) | Some(Fd::PipeWrite(h)) => Give::Handle { handle: h, owned: false },
        // A file or socket on the I/O server cannot go to another process (its handle
        // belongs to this connection): the child gets null.
        Some(Fd::Null) | Some(Fd::File(_)) | Some(Fd::Dir(_)) | Some(Fd::Socket(_)) | Some(Fd::Poll(_)) | None => {
            Give::Null
        }
    }
}

fn plan_one(plan: &mut Plan, i: usize, rt: RtFd) -> Result<(), ErrorCode> {
    plan.give[i] = match rt {
        STDIO_INHERIT => give_existing(fd::get(i as RtFd)),
        STDIO_NULL => Give::Null,
        STDIO_MAKE_PIPE => {
            let (r, w) = sys::pipe_create().map_err(code)?;
            // stdin: the child reads; stdout/stderr: the parent reads.
            let (theirs, ours, ours_fd) = if i == 0 { (r, w, Fd::PipeWrite(w)) } else { (w, r, Fd::PipeRead(r)) };
            let Some(n) = fd::insert(ours_fd) else {
                let _ = sys::close(r);
                let _ = sys::close(w);
                return Err(E_OUT_OF_MEMORY);
            };
            plan.kept[i] = Some(Kept { fd: n, handle: ours });
            Give::Handle { handle: theirs, owned: true }
        }
        f if f >= 0 => {
            plan.handed_over.push(f);
            match fd::get(f) {
                Some(x) => give_existing(Some(x)),
                None => return Err(E_BAD_HANDLE),
            }
        }
        _ => return Err(E_INVALID_ARGUMENT),
    };
    Ok(())
}

fn code(e: Error) -> ErrorCode {
    match e {
        Error::NotFound => E_NOT_FOUND,
        Error::NoMemory | Error::Limit => E_OUT_OF_MEMORY,
        Error::BadHandle | Error::WrongKind => E_BAD_HANDLE,
        Error::AccessDenied => E_NOT_ALLOWED,
        Error::TimedOut => E_NOT_READY,
        Error::Invalid
        | Error::ElfBadMagic
        | Error::ElfUnsupported
        | Error::ElfTruncated
        | Error::ElfOverlap
        | Error::ElfOutOfRange
        | Error::ElfBadRelocation
        | Error::ElfTls
        | Error::ElfWriteExec
        | Error::ElfDynamic
        | Error::ElfBadNote => E_INVALID_ARGUMENT,
        _ => E_INTERNAL_ERROR,
    }
}

/// Candidate paths for `prog`, each resolved against the working
/// directory (one that cannot be is dropped).
fn candidates(prog: &[u8]) -> Vec<String> {
    let cwd = crate::fs::cwd();
    let resolve = |p: &[u8]| crate::fs::pure::resolve(&cwd, p).ok();
    if prog.contains(&b'/') {
        return resolve(prog).into_iter().collect();
    }
    let path = crate::process::env_var(b"PATH").unwrap_or_default();
    let mut out: Vec<String> = Vec::new();
    for dir in path.split(|&b| b == b':').filter(|d| !d.is_empty()).chain(core::iter::once(&b"/bin"[..])) {
        let mut p = dir.to_vec();
        if !p.ends_with(b"/") {
            p.push(b'/');
        }
        p.extend_from_slice(prog);
        match resolve(&p) {
            Some(p) if !out.contains(&p) => out.push(p),
            _ => {}
        }
    }
    out
}

fn spawn_inner(a: &SpawnArgsRt, plan: &mut Plan) -> Result<u64, ErrorCode> {
    if a.prog_name_size == 0 || a.prog_name_addr == 0 {
        return Err(E_INVALID_ARGUMENT);
    }
    // SAFETY: moto-rt passes the program name as a valid (ptr, len).
    let prog = unsafe { core::slice::from_raw_parts(a.prog_name_addr as *const u8, a.prog_name_size as usize) };
    // SAFETY: moto-rt encoded `args` and `env` (or left them 0).
    let (args, env) = unsafe { (decode_vec(a.args), decode_vec(a.env)) };
    let mut blob = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            blob.push(0);
        }
        blob.extend_from_slice(arg);
    }
    // Keys first, then values; drop the keys meant for the spawner.
    let half = env.len() / 2;
    let vars: Vec<(&[u8], &[u8])> =
        (0..half).map(|i| (env[i], env[half + i])).filter(|(k, _)| !SPAWNER_KEYS.contains(k)).collect();

    for (i, rt) in [a.stdin, a.stdout, a.stderr].into_iter().enumerate() {
        plan_one(plan, i, rt)?;
    }
    // The child's handles: 1 = the spawn block, then the pipe ends in order.
    let mut handles: Vec<u64> = Vec::new();
    let mut stdio = [Stdio::Console; 3];
    for (i, g) in plan.give.iter().enumerate() {
        stdio[i] = match g {
            Give::Console => Stdio::Console,
            Give::Null => Stdio::Null,
            Give::Handle { handle, .. } => {
                handles.push(*handle);
                Stdio::Pipe { child_handle: handles.len() as u32 + 1 }
            }
        };
    }
    let bytes = spawn_block::encode(&vars, stdio).ok_or(E_INVALID_ARGUMENT)?;
    let block = spawn_block::to_shm(&bytes).map_err(code)?;
    handles.insert(0, block);

    // Each candidate from the initrd (the kernel's `Spawn`), else from the
    // I/O server's file system.
    let mut result = Err(E_NOT_FOUND);
    for path in candidates(prog) {
        result = sys::spawn_raw(path.as_bytes(), &blob, &handles).map_err(code);
        if result == Err(E_NOT_FOUND) && crate::fs::channel::connected() {
            result = spawn_from_disk(&path, &blob, &handles);
        }
        if result != Err(E_NOT_FOUND) {
            break;
        }
    }
    let _ = sys::close(block);
    result
}

/// Reads the program at `path` through the I/O server and starts it with
/// `SpawnImage`.
fn spawn_from_disk(path: &str, blob: &[u8], handles: &[u64]) -> Result<u64, ErrorCode> {
    let image = crate::fs::file::read_whole(path, pv_abi::syscall::MAX_SPAWN_IMAGE)?;
    sys::spawn_image(&image, path, blob, handles).map_err(code)
}

pub extern "C" fn spawn(args: *const SpawnArgsRt, result: *mut SpawnResult) -> ErrorCode {
    if args.is_null() || result.is_null() {
        return E_INVALID_ARGUMENT;
    }
    // SAFETY: moto-rt passes a valid SpawnArgsRt.
    let a = unsafe { &*args };
    let mut plan =
        Plan { give: [Give::Null, Give::Null, Give::Null], kept: [None, None, None], handed_over: Vec::new() };
    let r = spawn_inner(a, &mut plan);
    if r.is_err() {
        plan.abandon();
    }
    plan.finish();
    match r {
        Ok(handle) => {
            let fd_of = |k: &Option<Kept>| k.as_ref().map_or(-1, |k| k.fd);
            let out = SpawnResult {
                handle,
                stdin: fd_of(&plan.kept[0]),
                stdout: fd_of(&plan.kept[1]),
                stderr: fd_of(&plan.kept[2]),
                _reserved: 0,
            };
            // SAFETY: moto-rt passes a valid SpawnResult to fill.
            unsafe { result.write(out) };
            E_OK
        }
        Err(e) => e,
    }
}

pub extern "C" fn kill(handle: u64) -> ErrorCode {
    match sys::kill(handle) {
        Ok(_) => E_OK,
        Err(e) => code(e),
    }
}

/// Blocks until the child has ended (moto-rt then asks `status`).
pub extern "C" fn wait(handle: u64) -> ErrorCode {
    match sys::wait(handle, FOREVER) {
        Ok(_) => E_OK,
        Err(e) => code(e),
    }
}

/// The exit status (its 32 bits; moto-rt reads them as the i32), or
/// `E_NOT_READY` while the child runs.
pub extern "C" fn status(handle: u64, out: *mut u64) -> ErrorCode {
    if out.is_null() {
        return E_INVALID_ARGUMENT;
    }
    match sys::wait(handle, 0) {
        Ok(s) => {
            // SAFETY: moto-rt passes a u64 to fill.
            unsafe { out.write(s as u32 as u64) };
            E_OK
        }
        Err(e) => code(e),
    }
}
