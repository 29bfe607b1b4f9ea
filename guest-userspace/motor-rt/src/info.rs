//! Vireo's info block, written by the kernel into the vtable page after
//! the moto-rt slots (layout: `pv_abi::motor::info`).
use moto_rt::RT_VDSO_VTABLE_VADDR;
use pv_abi::motor::info;

// The kernel places the page by pv-abi's constants; std reads moto-rt's.
const _: () = assert!(RT_VDSO_VTABLE_VADDR as u64 == pv_abi::motor::RT_VDSO_VTABLE_VADDR);
const _: () = assert!(moto_rt::RT_VDSO_START as u64 == pv_abi::motor::RT_VDSO_START);

const OFFSET: usize = info::OFFSET as usize;
const MAGIC_AT: usize = info::MAGIC_AT as usize;
const MAGIC: u64 = info::MAGIC;
const WALL_AT_ZERO_AT: usize = info::WALL_AT_ZERO_AT as usize;
const PATH_LEN_AT: usize = info::PATH_LEN_AT as usize;
const PATH_AT: usize = info::PATH_AT as usize;
const PATH_MAX: usize = info::PATH_MAX;

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
    if present() { word(WALL_AT_ZERO_AT) } else { 0 }
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
