//! `fill_random_bytes`: RDRAND when the CPU offers it; otherwise ChaCha20
//! (`rand_chacha`), a CSPRNG, seeded with the 32 bytes the kernel hands
//! this process in the info block (`info::take_seed`: derived from the
//! kernel's per-boot key, distinct for every process). The runtime gathers
//! no entropy itself, so start-up costs no more without RDRAND.
use crate::info;
use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use vireo_rt::sync::Mutex;
use vireo_rt::sys;

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

/// The kernel's seed; without an info block (a kernel that writes none),
/// the clocks: a weak seed, but not one shared by every process.
fn seed() -> [u8; 32] {
    info::take_seed().unwrap_or_else(|| {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&vireo_rt::rdtsc().to_le_bytes());
        seed[8..16].copy_from_slice(&sys::now_ns().to_le_bytes());
        seed[16..24].copy_from_slice(&info::wall_at_zero().to_le_bytes());
        seed
    })
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
    rng.get_or_insert_with(|| ChaCha20Rng::from_seed(seed())).fill_bytes(buf);
}
