//! Programs built by upstream rustc for `x86_64-unknown-motor` (Rust std on
//! the moto-rt ABI, docs/runtime.md): their std reaches the OS only through
//! a table of function pointers at a fixed address, which Vireo's runtime
//! (`guest-userspace/lib/motor-rt`, in the initrd at [`RUNTIME_PATH`]) fills.
//!
//! The kernel's part is small: recognise such a program, load the runtime
//! into its address space at [`RT_VDSO_START`] (an ordinary static-PIE load
//! with that base), map the RW vtable page at [`RT_VDSO_VTABLE_VADDR`] and
//! write slot 0 (the runtime's entry, `vdso_entry`) and slot 1 (its image
//! size), plus Vireo's own [`info`] block in the same page. Everything else
//! (the other slots, FS base, stdio) the runtime does in user mode.
//!
//! Recognition rule: every program gets the runtime except Vireo's own
//! raw-ABI programs, which carry an ELF note saying so (`vireo_parse::elf::note`; the
//! raw runtime `vireo-rt` emits it). Nothing depends on the symbol table,
//! so a stripped std program is recognised too.
//!
//! Each process also gets its own random seed in the info block, derived
//! from the kernel's per-boot key ([`crate::entropy`]), so no runtime has to
//! gather entropy itself.
use vireo_parse::elf::note as raw_note;

use super::vm::Vm;
use crate::loader::UserMemory;
use pv_abi::syscall::{prot, Error};

pub use pv_abi::motor::{info, RT_VDSO_START, RT_VDSO_VTABLE_VADDR, RUNTIME_PATH};

/// Whether `image` (already accepted by the loader) is a std program for
/// `x86_64-unknown-motor`, i.e. has no raw-ABI note. A malformed PT_NOTE is
/// `ElfBadNote` (or `ElfTruncated`).
pub fn is_motor_program(image: &[u8]) -> Result<bool, Error> {
    raw_note::has_raw_abi_note(image).map(|raw| !raw)
}

/// Loads the runtime into `vm` and prepares the vtable page for the
/// program at `path`. Errors: `NotFound` if the initrd has no runtime, the
/// runtime's own ELF error if it is malformed, `NoMemory`.
pub fn attach(vm: &mut Vm, path: &str) -> Result<(), Error> {
    let initrd = crate::initrd::get().ok_or(Error::NotFound)?;
    let runtime = initrd.find(RUNTIME_PATH).ok_or(Error::NotFound)?;
    let loaded = crate::loader::load(runtime, RT_VDSO_START, vm)?;
    vm.map_fixed(RT_VDSO_VTABLE_VADDR, 4096, prot::READ | prot::WRITE, true)?;
    // Slot 0: vdso_entry; slot 1: vdso_bytes_sz.
    vm.write(RT_VDSO_VTABLE_VADDR, &loaded.entry.to_le_bytes())?;
    vm.write(RT_VDSO_VTABLE_VADDR + 8, &(runtime.len() as u64).to_le_bytes())?;

    let block = RT_VDSO_VTABLE_VADDR + info::OFFSET;
    let wall_at_zero = crate::time::wall_clock_unix_ns().saturating_sub(crate::time::now_ns());
    let path = &path.as_bytes()[..path.len().min(info::PATH_MAX)];
    vm.write(block + info::MAGIC_AT, &info::MAGIC.to_le_bytes())?;
    vm.write(block + info::WALL_AT_ZERO_AT, &wall_at_zero.to_le_bytes())?;
    vm.write(block + info::PATH_LEN_AT, &(path.len() as u64).to_le_bytes())?;
    vm.write(block + info::PATH_AT, path)?;
    // The seed, then the main thread's stack guard (info::STACK_GUARD_AT).
    let mut secrets = [0u8; info::SECRETS_LEN];
    crate::entropy::fill_process_seed(&mut secrets);
    vm.write(block + info::SEED_AT, &secrets)?;
    Ok(())
}
