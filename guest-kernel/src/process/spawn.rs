//! Starting a program as a new process: from the initrd (`Spawn`) or from
//! an image user space handed over (`SpawnImage`), through one loader path.
use super::proc::{Object, Process};
use super::vm::{Vm, STACK_TOP};
use crate::arch::x86_64::user::initial_frame;
use alloc::sync::Arc;
use alloc::vec::Vec;
use pv_abi::syscall::{layout, prot, Error};

/// Loads `path` from the initrd into a new address space and starts its
/// main thread. `args` are NUL-separated; `handles` become the child's
/// handles 1, 2, … before it runs. A bad image is refused with its ELF error
/// before anything runs.
pub fn spawn(path: &str, args: Vec<u8>, handles: Vec<(Object, u32)>) -> Result<Arc<Process>, Error> {
    let initrd = crate::initrd::get().ok_or(Error::NotFound)?;
    let image = initrd.find(path).ok_or(Error::NotFound)?;
    spawn_image(image, path, args, handles)
}

/// Starts the program in `image` (an ELF file's bytes, which must not change
/// while this runs: a kernel copy or the initrd) as [`spawn`] does; `path`
/// names it. Std programs get the runtime from the initrd as usual.
pub fn spawn_image(
    image: &[u8],
    path: &str,
    args: Vec<u8>,
    handles: Vec<(Object, u32)>,
) -> Result<Arc<Process>, Error> {
    let mut vm = Vm::new()?;
    // The clock page (pv_abi::clock): time without a system call.
    vm.map_borrowed_at(pv_abi::clock::PAGE_VADDR, crate::time::clock_page_paddr(), 4096, prot::READ)?;
    let loaded = crate::loader::load(image, layout::PROGRAM_BASE, &mut vm)?;
    if super::motor::is_motor_program(image)? {
        // Rust std for x86_64-unknown-motor: map Vireo's runtime (docs/runtime.md).
        super::motor::attach(&mut vm, path)?;
    }
    vm.map_fixed(STACK_TOP - layout::MAIN_STACK_SIZE, layout::MAIN_STACK_SIZE, prot::READ | prot::WRITE, false)?;
    let name = path.rsplit('/').next().unwrap_or(path);
    let p = Arc::new(Process::new(name, vm, args, super::proc::current().as_deref()));
    super::table::register(&p);
    {
        let mut table = p.handles.lock();
        for (obj, r) in handles {
            table.insert(obj, r)?;
        }
    }
    // RSP = 8 mod 16, as just after a `call`.
    p.start_thread("user-main", initial_frame(loaded.entry, STACK_TOP - 8, 0))?;
    Ok(p)
}
