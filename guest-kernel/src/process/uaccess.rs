//! Kernel access to user memory. Every access walks the process's page
//! tables and goes through the direct map, so a bad user pointer is an
//! error return (`Fault`), never a kernel page fault.
use super::vm::Vm;
use crate::mm::phys_to_virt;
use pv_abi::syscall::{layout, Error};

use pv_abi::PAGE_SIZE as PAGE;

fn check_range(va: u64, len: usize) -> Result<(), Error> {
    // Even an empty range must start in user space: USER_END itself is
    // non-canonical, and no pointer there is one the kernel accepts.
    if va >= layout::USER_END {
        return Err(Error::Fault);
    }
    let end = va.checked_add(len as u64).ok_or(Error::Fault)?;
    if end > layout::USER_END {
        return Err(Error::Fault);
    }
    Ok(())
}

/// Copies `bytes` to user address `va`. `force` writes even read-only
/// mappings (the loader filling segments).
pub(super) fn copy_into(vm: &mut Vm, va: u64, bytes: &[u8], force: bool) -> Result<(), Error> {
    check_range(va, bytes.len())?;
    let mut done = 0;
    while done < bytes.len() {
        let at = va + done as u64;
        let chunk = ((PAGE - at % PAGE) as usize).min(bytes.len() - done);
        let pa = vm.translate(at, true, force)?;
        // SAFETY: `pa..pa+chunk` lies in one user frame mapped (and so owned)
        // by this process, reachable through the direct map.
        unsafe {
            core::ptr::copy_nonoverlapping(bytes[done..].as_ptr(), phys_to_virt(pa) as *mut u8, chunk);
        }
        done += chunk;
    }
    Ok(())
}

fn copy_out(vm: &mut Vm, va: u64, out: &mut [u8]) -> Result<(), Error> {
    check_range(va, out.len())?;
    let mut done = 0;
    while done < out.len() {
        let at = va + done as u64;
        let chunk = ((PAGE - at % PAGE) as usize).min(out.len() - done);
        let pa = vm.translate(at, false, false)?;
        // SAFETY: as in `copy_into`, reading.
        unsafe {
            core::ptr::copy_nonoverlapping(phys_to_virt(pa) as *const u8, out[done..].as_mut_ptr(), chunk);
        }
        done += chunk;
    }
    Ok(())
}

/// Reads user memory of the calling process into `out`.
pub fn read_user(va: u64, out: &mut [u8]) -> Result<(), Error> {
    let p = super::proc::current().ok_or(Error::Fault)?;
    let mut vm = p.vm.lock();
    copy_out(vm.as_mut().ok_or(Error::Fault)?, va, out)
}

/// Writes `bytes` to user memory of the calling process.
pub fn write_user(va: u64, bytes: &[u8]) -> Result<(), Error> {
    let p = super::proc::current().ok_or(Error::Fault)?;
    let mut vm = p.vm.lock();
    copy_into(vm.as_mut().ok_or(Error::Fault)?, va, bytes, false)
}

/// The physical address of a user u32 (for futexes), which must be aligned.
pub fn user_u32_paddr(va: u64) -> Result<u64, Error> {
    if !va.is_multiple_of(4) {
        return Err(Error::Invalid);
    }
    check_range(va, 4)?;
    let p = super::proc::current().ok_or(Error::Fault)?;
    let mut vm = p.vm.lock();
    vm.as_mut().ok_or(Error::Fault)?.translate(va, false, false)
}

/// The loader fills a new address space through the same page walks.
impl crate::loader::UserMemory for Vm {
    fn map_zeroed(&mut self, va: u64, len: u64, p: u64) -> Result<(), Error> {
        let start = va & !(PAGE - 1);
        let len = (va + len) - start;
        self.map_fixed(start, len, p, true)
    }

    fn write(&mut self, va: u64, bytes: &[u8]) -> Result<(), Error> {
        copy_into(self, va, bytes, true)
    }
}
