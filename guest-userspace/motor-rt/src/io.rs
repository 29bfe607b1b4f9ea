//! The working directory (slot 59) and utilities (84-89). Descriptors
//! (stdio and pipes) are in `fd.rs`.
use crate::info;
use alloc::vec::Vec;
use moto_rt::error::{E_INTERNAL_ERROR, E_INVALID_ARGUMENT, E_OK, ErrorCode};
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

/// Vireo has no directories: the working directory is `/`.
pub extern "C" fn getcwd(buf: *mut u8, len: *mut usize) -> ErrorCode {
    if buf.is_null() || len.is_null() {
        return E_INVALID_ARGUMENT;
    }
    // SAFETY: moto-rt passes a MAX_PATH_LEN buffer and a length to fill.
    unsafe {
        buf.write(b'/');
        len.write(1);
    }
    E_OK
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

fn has_rdrand() -> bool {
    let r = core::arch::x86_64::__cpuid(1);
    r.ecx & (1 << 30) != 0
}

fn rdrand() -> Option<u64> {
    for _ in 0..10 {
        let (v, ok): (u64, u8);
        // SAFETY: only called when CPUID reports RDRAND.
        unsafe {
            core::arch::asm!("rdrand {v}", "setc {ok}", v = out(reg) v, ok = out(reg_byte) ok, options(nomem, nostack))
        };
        if ok != 0 {
            return Some(v);
        }
    }
    None
}

/// SplitMix64 over TSC samples, the time and a counter: NOT a CSPRNG (it is
/// what is used when the CPU has no RDRAND, e.g. QEMU TCG's default CPU).
fn fallback() -> u64 {
    use core::sync::atomic::{AtomicU64, Ordering};
    static STATE: AtomicU64 = AtomicU64::new(0);
    let seed = vireo_rt::rdtsc() ^ sys::now_ns().rotate_left(32) ^ (info::wall_at_zero());
    let mut z = STATE.fetch_add(0x9e37_79b9_7f4a_7c15 ^ seed, Ordering::Relaxed).wrapping_add(seed);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

pub extern "C" fn fill_random_bytes(buf: *mut u8, len: usize) {
    if len == 0 {
        return;
    }
    // SAFETY: moto-rt passes a valid buffer.
    let buf = unsafe { core::slice::from_raw_parts_mut(buf, len) };
    let hw = has_rdrand();
    for chunk in buf.chunks_mut(8) {
        let v = if hw { rdrand().unwrap_or_else(fallback) } else { fallback() };
        chunk.copy_from_slice(&v.to_le_bytes()[..chunk.len()]);
    }
}
