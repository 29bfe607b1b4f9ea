//! Boundary values for arguments: addresses the kernel must refuse, lengths
//! around every limit in docs/abi.md, handle values no table can hold.
use crate::rng::Rng;
use vireo_rt::pv_abi::syscall::layout::USER_END;

pub const PAGE: u64 = 4096;
pub const KERNEL: u64 = 0xffff_8000_0000_0000;

/// A pointer the kernel must refuse as a buffer of any length: kernel half,
/// non-canonical, at or just around USER_END, the top of the address space.
pub fn bad_ptr(r: &mut Rng) -> u64 {
    match r.below(10) {
        0 => KERNEL,
        1 => 0xffff_ffff_8000_0000 + r.below(1 << 20),
        2 => u64::MAX - r.below(64),
        3 => USER_END,
        4 => USER_END + r.below(1 << 30),
        5 => 0x1234_5678_9abc_def0,
        6 => (r.next() | (1 << 63)) & !7,
        7 => r.next() | USER_END,
        8 => 0xffff_ffff_ffff_f000,
        _ => 0x8000_0000_0000_0000,
    }
}

/// A range that crosses USER_END or wraps around: refused whatever `len`'s
/// purpose. Returns (ptr, len).
pub fn crossing_range(r: &mut Rng) -> (u64, u64) {
    match r.below(3) {
        0 => {
            let back = 1 + r.below(64);
            (USER_END - back, back + 1 + r.below(4096))
        }
        1 => (USER_END - PAGE, 2 * PAGE),
        _ => (u64::MAX - r.below(16), 32 + r.below(64)),
    }
}

/// Unmapped user addresses below the program (the first 4 MiB never map).
pub fn low_ptr(r: &mut Rng) -> u64 {
    r.pick(&[0, 1, 8, 0xfff, 0x1000, 0x3f_f000, 0x3f_fff8])
}

/// Lengths around every limit: 0, one byte, a page, 256 (path), 64 KiB
/// (args), 1 MiB (console), huge, sign bit, all ones.
pub fn len(r: &mut Rng) -> u64 {
    match r.below(16) {
        0 => 0,
        1 => 1,
        2 => 7 + r.below(2),
        3 => 16,
        4 => 40,
        5 => 255 + r.below(3),
        6 => PAGE - 1 + r.below(3),
        7 => (64 << 10) + r.below(2),
        8 => (1 << 20) + r.below(2),
        9 => 1 << 32,
        10 => u64::MAX,
        11 => 1 << 63,
        12 => u64::MAX - PAGE + 1 + r.below(PAGE),
        13 => r.next(),
        _ => r.below(1 << 14),
    }
}

/// Timeouts that never block for long.
pub fn short_timeout(r: &mut Rng) -> u64 {
    r.pick(&[0, 1, 1_000, 50_000])
}

/// Handle values no handle table can hold.
pub fn bogus_handle(r: &mut Rng) -> u64 {
    match r.below(7) {
        0 => 0,
        1 => 1025,
        2 => u64::MAX,
        3 => (1 << 32) | (1 + r.below(16)),
        4 => 1 << 63,
        5 => 4096 + r.below(1 << 20),
        _ => r.next() | (1 << 40),
    }
}

/// Protection bits: every valid combination and garbage.
pub fn prot(r: &mut Rng) -> u64 {
    match r.below(10) {
        0..=6 => r.below(8),
        7 => 8 + r.below(8),
        8 => u64::MAX,
        _ => 1 << 32 | 3,
    }
}
