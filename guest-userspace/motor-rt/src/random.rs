//! `fill_random_bytes`: RDRAND when the CPU offers it; otherwise ChaCha20
//! (`rand_chacha`), a CSPRNG, seeded once per process from TSC jitter.
//!
//! The seed: the TSC read around many system calls. On a VM the time a
//! round trip to the kernel takes varies with host scheduling, interrupts,
//! cache and TLB state; the low bits of those deltas are what we can collect
//! without a hardware source or a seed from the host. They are folded, with
//! the wall clock and the monotonic clock, into 32 bytes by ChaCha itself
//! (each sample is mixed into the key of a fresh block).
use crate::info;
use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use vireo_rt::sync::Mutex;
use vireo_rt::sys;

/// TSC samples folded into the seed.
const SEED_SAMPLES: usize = 256;

static RNG: Mutex<Option<ChaCha20Rng>> = Mutex::new(None);

fn has_rdrand() -> bool {
    core::arch::x86_64::__cpuid(1).ecx & (1 << 30) != 0
}

fn rdrand() -> Option<u64> {
    for _ in 0..10 {
        let (v, ok): (u64, u8);
        // SAFETY: only called when CPUID reports RDRAND; no memory is touched.
        unsafe {
            core::arch::asm!("rdrand {v}", "setc {ok}", v = out(reg) v, ok = out(reg_byte) ok, options(nomem, nostack))
        };
        if ok != 0 {
            return Some(v);
        }
    }
    None
}

fn jitter_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&info::wall_at_zero().to_le_bytes());
    seed[8..16].copy_from_slice(&sys::now_ns().to_le_bytes());
    let mut prev = vireo_rt::rdtsc();
    for i in 0..SEED_SAMPLES {
        let _ = core::hint::black_box(sys::clock());
        let now = vireo_rt::rdtsc();
        let delta = now.wrapping_sub(prev);
        prev = now;
        // Fold the sample into the key: each round rekeys from the
        // previous key XOR the sample, so every bit of every delta counts.
        let at = 16 + (i % 2) * 8;
        let mixed = u64::from_le_bytes(seed[at..at + 8].try_into().unwrap_or([0; 8])) ^ delta ^ now.rotate_left(17);
        seed[at..at + 8].copy_from_slice(&mixed.to_le_bytes());
        if i % 16 == 15 {
            ChaCha20Rng::from_seed(seed).fill_bytes(&mut seed);
        }
    }
    seed
}

pub extern "C" fn fill_random_bytes(buf: *mut u8, len: usize) {
    if len == 0 || buf.is_null() {
        return;
    }
    // SAFETY: moto-rt passes a valid, writable buffer of `len` bytes.
    let buf = unsafe { core::slice::from_raw_parts_mut(buf, len) };
    if has_rdrand() {
        let mut ok = true;
        for chunk in buf.chunks_mut(8) {
            match rdrand() {
                Some(v) => chunk.copy_from_slice(&v.to_le_bytes()[..chunk.len()]),
                None => {
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            return;
        }
    }
    let mut rng = RNG.lock();
    rng.get_or_insert_with(|| ChaCha20Rng::from_seed(jitter_seed())).fill_bytes(buf);
}
