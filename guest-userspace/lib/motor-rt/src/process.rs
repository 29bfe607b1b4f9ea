//! Slots 6, 15-18, 23 and 89: handles, arguments, environment, exit,
//! current_exe. (Child processes, slots 19-22: `child.rs`.)
//!
//! Arguments come from Vireo's `Args` call, with the program path (from the
//! kernel's info block) prepended as argv[0]. The environment lives only in
//! this runtime (Vireo's kernel has none): it starts as the spawn block's
//! (`spawn_block.rs`), or empty for a process the kernel started.
use crate::{info, mem};
use alloc::vec::Vec;
use moto_rt::error::{ErrorCode, E_BAD_HANDLE, E_INVALID_ARGUMENT, E_OK};
use vireo_rt::sync::Mutex;

pub extern "C" fn release_handle(handle: u64) -> ErrorCode {
    match vireo_rt::sys::close(handle) {
        Ok(_) => E_OK,
        Err(_) => E_BAD_HANDLE,
    }
}

pub extern "C" fn args() -> u64 {
    let args = vireo_rt::args();
    let items: Vec<&[u8]> = core::iter::once(info::program_path()).chain(args.iter().map(str::as_bytes)).collect();
    mem::encode(&items)
}

pub extern "C" fn exit(code: i32) -> ! {
    vireo_rt::sys::exit(code)
}

pub extern "C" fn current_exe(buf: *mut u8, len: *mut usize) -> ErrorCode {
    let path = info::program_path();
    if buf.is_null() || len.is_null() || path.len() > moto_rt::fs::MAX_PATH_LEN {
        return E_INVALID_ARGUMENT;
    }
    // SAFETY: moto-rt passes a MAX_PATH_LEN buffer and a length to fill.
    unsafe {
        core::ptr::copy_nonoverlapping(path.as_ptr(), buf, path.len());
        len.write(path.len());
    }
    E_OK
}

struct Var {
    key: Vec<u8>,
    val: Vec<u8>,
}

static ENV: Mutex<Vec<Var>> = Mutex::new(Vec::new());

/// Sets the whole environment (at start, from the spawn block).
pub fn set_env(vars: Vec<(Vec<u8>, Vec<u8>)>) {
    let mut env = ENV.lock();
    env.clear();
    for (key, val) in vars {
        env.retain(|v| v.key != key);
        env.push(Var { key, val });
    }
}

/// The value of `key`, if set.
pub fn env_var(key: &[u8]) -> Option<Vec<u8>> {
    ENV.lock().iter().find(|v| v.key == key).map(|v| v.val.clone())
}

/// # Safety (of the callers' pointers)
/// moto-rt passes valid `(ptr, len)` byte slices.
unsafe fn slice<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 {
        &[]
    } else {
        // SAFETY: moto-rt passes a valid `(ptr, len)` byte slice that
        // outlives the call (the function's contract above).
        unsafe { core::slice::from_raw_parts(ptr, len) }
    }
}

/// Keys first, then values (moto-rt's `env()` decoding).
pub extern "C" fn get_full_env() -> u64 {
    let env = ENV.lock();
    if env.is_empty() {
        return 0;
    }
    let keys = env.iter().map(|v| v.key.as_slice());
    let items: Vec<&[u8]> = keys.chain(env.iter().map(|v| v.val.as_slice())).collect();
    mem::encode(&items)
}

/// `u64::MAX`: not set; 0: set and empty; else a runtime-owned u32 length
/// followed by the bytes.
pub extern "C" fn getenv(key: *const u8, key_len: usize) -> u64 {
    // SAFETY: see `slice`.
    let key = unsafe { slice(key, key_len) };
    let env = ENV.lock();
    let Some(var) = env.iter().find(|v| v.key == key) else { return u64::MAX };
    if var.val.is_empty() {
        return 0;
    }
    let buf = mem::owned(4 + var.val.len());
    if buf.is_null() {
        return u64::MAX;
    }
    // SAFETY: `buf` holds 4 + len bytes and is 16-aligned.
    unsafe {
        (buf as *mut u32).write(var.val.len() as u32);
        core::ptr::copy_nonoverlapping(var.val.as_ptr(), buf.add(4), var.val.len());
    }
    buf as u64
}

/// `val_len == usize::MAX` unsets.
pub extern "C" fn setenv(key: *const u8, key_len: usize, val: usize, val_len: usize) {
    // SAFETY: see `slice`.
    let key = unsafe { slice(key, key_len) };
    let mut env = ENV.lock();
    env.retain(|v| v.key != key);
    if val_len != usize::MAX {
        // SAFETY: see `slice`.
        let val = unsafe { slice(val as *const u8, val_len) };
        env.push(Var { key: key.to_vec(), val: val.to_vec() });
    }
}
