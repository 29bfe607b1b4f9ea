//! Programs built by upstream rustc for `x86_64-unknown-motor` (Rust std on
//! the moto-rt ABI, docs/runtime.md): their std reaches the OS only through
//! a table of function pointers at a fixed address, which Vireo's runtime
//! (`guest-userspace/motor-rt`, in the initrd at [`RUNTIME_PATH`]) fills.
//!
//! The kernel's part is small: recognise such a program, load the runtime
//! into its address space at [`RT_VDSO_START`] (an ordinary static-PIE load
//! with that base), map the RW vtable page at [`RT_VDSO_VTABLE_VADDR`] and
//! write slot 0 (the runtime's entry, `vdso_entry`) and slot 1 (its image
//! size), plus Vireo's own [`info`] block in the same page. Everything else
//! (the other slots, FS base, stdio) the runtime does in user mode.
//!
//! Recognition rule: the ELF's symbol table has a symbol `motor_start` whose
//! value is `e_entry`. The target's spec links every binary with
//! `-e motor_start`, so this holds for every unstripped motor binary and for
//! nothing else; a stripped one is not recognised (it then faults reading
//! the vtable and is killed, as any program touching unmapped memory).
use super::vm::Vm;
use crate::loader::UserMemory;
use pv_abi::syscall::{prot, Error};
use vireo_parse::le::{u16_at, u32_at, u64_at};

pub use pv_abi::motor::{info, RT_VDSO_START, RT_VDSO_VTABLE_VADDR, RUNTIME_PATH};

/// Whether `image` is an `x86_64-unknown-motor` program (see the module
/// doc). Any malformed part of the image simply answers `false`; the loader
/// does the real validation.
pub fn is_motor_program(image: &[u8]) -> bool {
    find_entry_symbol(image) == Some(true)
}

fn find_entry_symbol(image: &[u8]) -> Option<bool> {
    const SHT_SYMTAB: u32 = 2;
    const SHDR: usize = 64;
    const SYM: usize = 24;
    const NAME: &[u8] = b"motor_start\0";
    let entry = u64_at(image, 0x18)?;
    let shoff = usize::try_from(u64_at(image, 0x28)?).ok()?;
    if usize::from(u16_at(image, 0x3a)?) != SHDR {
        return None;
    }
    let shnum = usize::from(u16_at(image, 0x3c)?);
    let shdr = |i: usize| image.get(shoff.checked_add(i.checked_mul(SHDR)?)?..)?.get(..SHDR);
    for i in 0..shnum {
        let sh = shdr(i)?;
        if u32_at(sh, 4)? != SHT_SYMTAB {
            continue;
        }
        let range = |off: u64, size: u64| -> Option<&[u8]> {
            let off = usize::try_from(off).ok()?;
            image.get(off..off.checked_add(usize::try_from(size).ok()?)?)
        };
        let syms = range(u64_at(sh, 24)?, u64_at(sh, 32)?)?;
        let strtab_sh = shdr(usize::try_from(u32_at(sh, 40)?).ok()?)?;
        let strtab = range(u64_at(strtab_sh, 24)?, u64_at(strtab_sh, 32)?)?;
        let found = syms.chunks_exact(SYM).any(|s| {
            u64_at(s, 8) == Some(entry)
                && u32_at(s, 0)
                    .and_then(|n| strtab.get(usize::try_from(n).ok()?..))
                    .is_some_and(|name| name.starts_with(NAME))
        });
        return Some(found);
    }
    Some(false)
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
    Ok(())
}
