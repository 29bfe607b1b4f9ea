//! Utilities (slots 84-89). Descriptors are in `fd.rs`, files and the
//! working directory in `fs/`.
use alloc::vec::Vec;
use moto_rt::error::E_INTERNAL_ERROR;
use moto_rt::RtFd;
use vireo_rt::sys;

/// The kernel takes at most 1 MiB per ConsoleWrite.
const CONSOLE_CHUNK: usize = 1 << 20;

fn console_write(bytes: &[u8]) -> i64 {
    for chunk in bytes.chunks(CONSOLE_CHUNK) {
        if sys::console_write(chunk).is_err() {
            return -(E_INTERNAL_ERROR as i64);
        }
    }
    bytes.len() as i64
}

pub extern "C" fn log_to_kernel(msg: *const u8, len: usize) {
    // SAFETY: moto-rt passes a valid slice.
    let msg = if len == 0 { &[][..] } else { unsafe { core::slice::from_raw_parts(msg, len) } };
    let mut line = Vec::with_capacity(len + 1);
    line.extend_from_slice(msg);
    line.push(b'\n');
    console_write(&line);
}

pub extern "C" fn log_backtrace(_fd: RtFd) {
    console_write(b"(no backtrace: not supported by Vireo's runtime)\n");
}

pub extern "C" fn num_cpus() -> usize {
    sys::sysinfo().map(|i| i.cpus as usize).unwrap_or(1).max(1)
}

pub extern "C" fn internal_helper(_: u64, _: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    0
}
