//! Vireo's info block, written by the kernel into the vtable page after
//! the moto-rt slots (layout: `pv_abi::motor::info`).
use moto_rt::RT_VDSO_VTABLE_VADDR;
use pv_abi::motor::info;

// The kernel places the page by pv-abi's constants; std reads moto-rt's.
const _: () = assert!(RT_VDSO_VTABLE_VADDR == pv_abi::motor::RT_VDSO_VTABLE_VADDR);
const _: () = assert!(moto_rt::RT_VDSO_START == pv_abi::motor::RT_VDSO_START);

const OFFSET: usize = info::OFFSET as usize;
const MAGIC_AT: usize = info::MAGIC_AT as usize;
const MAGIC: u64 = info::MAGIC;
const WALL_AT_ZERO_AT: usize = info::WALL_AT_ZERO_AT as usize;
const PATH_LEN_AT: usize = info::PATH_LEN_AT as usize;
const PATH_AT: usize = info::PATH_AT as usize;
const PATH_MAX: usize = info::PATH_MAX;
const SEED_AT: usize = info::SEED_AT as usize;
const SEED_LEN: usize = info::SEED_LEN;
const STACK_GUARD_AT: usize = info::STACK_GUARD_AT as usize;

fn word(at: usize) -> u64 {
    // SAFETY: the kernel maps the vtable page (4 KiB, RW) before the program
    // runs; OFFSET + PATH_AT + PATH_MAX < 4096 and `at` is 8-aligned.
    unsafe { ((RT_VDSO_VTABLE_VADDR as usize + OFFSET + at) as *const u64).read_volatile() }
}

fn present() -> bool {
    word(MAGIC_AT) == MAGIC
}

/// Unix time in ns at ClockMonotonic 0 (0 if the kernel gave none).
pub fn wall_at_zero() -> u64 {
    if present() {
        word(WALL_AT_ZERO_AT)
    } else {
        0
    }
}

/// The program's path as it was spawned (e.g. `/bin/hello-std`).
pub fn program_path() -> &'static [u8] {
    if !present() {
        return b"";
    }
    let len = (word(PATH_LEN_AT) as usize).min(PATH_MAX);
    // SAFETY: as in `word`; the kernel wrote `len` bytes at PATH_AT and the
    // page is never unmapped or rewritten while the process runs.
    unsafe { core::slice::from_raw_parts((RT_VDSO_VTABLE_VADDR as usize + OFFSET + PATH_AT) as *const u8, len) }
}

/// Reads `N` bytes at `at` in the block and zeroes them there, so nothing
/// read from the page later (a memory disclosure bug, a debugger) reveals
/// them; `None` without the block.
fn take<const N: usize>(at: usize) -> Option<[u8; N]> {
    if !present() {
        return None;
    }
    let p = (RT_VDSO_VTABLE_VADDR as usize + OFFSET + at) as *mut [u8; N];
    // SAFETY: as in `word`: the page is mapped RW for the process's whole
    // life, the callers' fields fit in it, and only this runtime writes it.
    unsafe {
        let v = p.read_volatile();
        p.write_volatile([0; N]);
        Some(v)
    }
}

/// This process's random seed from the kernel (take it once).
pub fn take_seed() -> Option<[u8; SEED_LEN]> {
    take(SEED_AT)
}

/// The main thread's stack-guard value from the kernel (take it once).
pub fn take_main_stack_guard() -> Option<u64> {
    take(STACK_GUARD_AT).map(u64::from_le_bytes)
}
