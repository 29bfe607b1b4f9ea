//! The kernel's per-boot random key, and the per-process seeds derived from
//! it that the std runtime's random generator starts from (docs/runtime.md,
//! "Random numbers").
//!
//! The key (128 bits) is gathered once, on first use (the first std
//! program's spawn), so a boot that runs no std program pays nothing:
//! RDSEED when the CPU has it, else RDRAND, else TSC jitter. Jitter is the
//! weak case (QEMU's default CPU under TCG has neither instruction): the
//! low bits of back-to-back TSC reads, which vary with host scheduling,
//! caches and interrupts, plus the wall clock and the TSC at that moment.
//! Under `-icount` the TSC counts instructions and jitter has no entropy at
//! all; use a CPU with RDRAND (`-cpu max`, KVM `-cpu host`) where it matters.
//!
//! A process's seed is SipHash-2-4 keyed by the boot key over (process
//! counter, lane), one lane per 8 bytes: every seed is distinct, and a
//! process that knows its own seed learns nothing about the key or about
//! another process's seed (SipHash is a PRF).
mod siphash;

use core::sync::atomic::{AtomicU64, Ordering};
use siphash::siphash24;
use spin::Once;

static BOOT_KEY: Once<[u64; 2]> = Once::new();
static NEXT_SEED: AtomicU64 = AtomicU64::new(0);

/// Timing samples folded into a jitter key.
const JITTER_SAMPLES: usize = 64;

/// Fills `out` with fresh bytes for one process (one SipHash lane per 8
/// bytes); never the same twice in a boot.
pub fn fill_process_seed(out: &mut [u8]) {
    let key = BOOT_KEY.call_once(gather);
    let n = NEXT_SEED.fetch_add(1, Ordering::Relaxed);
    for (lane, chunk) in (0u64..).zip(out.chunks_mut(8)) {
        // One message word (counter, lane): 2^56 processes before a repeat.
        let word = siphash24(key[0], key[1], &[n << 8 | lane]).to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
}

/// RDSEED, else RDRAND, else (and when either keeps failing) TSC jitter.
fn gather() -> [u64; 2] {
    let hw = |read: fn() -> Option<u64>| Some([read()?, read()?]);
    let key = if has_rdseed() { hw(rdseed) } else { None };
    let key = key.or_else(|| if has_rdrand() { hw(rdrand) } else { None });
    key.unwrap_or_else(jitter)
}

use crate::arch::x86_64::cpuid::{has_rdrand, has_rdseed};
use crate::arch::x86_64::rng;

/// RDRAND can fail transiently (CF = 0); Intel advises 10 retries.
fn rdrand() -> Option<u64> {
    (0..10).find_map(|_| rng::rdrand())
}

/// RDSEED fails more often than RDRAND under load; retry with a pause.
fn rdseed() -> Option<u64> {
    (0..100).find_map(|_| {
        let v = rng::rdseed();
        if v.is_none() {
            core::hint::spin_loop();
        }
        v
    })
}

/// Folds TSC deltas into a pool (each step is a bijection of the pool word
/// for a given delta, so no sample's variation is lost), then condenses the
/// pool with SipHash under two fixed keys.
fn jitter() -> [u64; 2] {
    let mut pool = [crate::time::rdtsc(), crate::time::wall_clock_unix_ns(), 0, 0];
    let mut prev = crate::time::rdtsc();
    for _ in 0..JITTER_SAMPLES / 4 {
        for word in &mut pool {
            let now = crate::time::rdtsc();
            *word = (*word ^ now.wrapping_sub(prev)).rotate_left(23).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            prev = now;
        }
    }
    pool[3] ^= prev;
    [siphash24(0, 1, &pool), siphash24(2, 3, &pool)]
}
