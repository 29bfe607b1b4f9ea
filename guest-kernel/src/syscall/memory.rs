//! Map, Unmap, Protect.
use super::{process, SysResult};
use pv_abi::syscall::Error;

/// The hint is advisory and currently unused: placement is the kernel's.
pub fn map(_hint: u64, len: u64, prot: u64) -> SysResult {
    let p = process()?;
    let mut vm = p.vm.lock();
    vm.as_mut().ok_or(Error::Invalid)?.map_anywhere(len, prot)
}

pub fn unmap(addr: u64, len: u64) -> SysResult {
    let p = process()?;
    let mut vm = p.vm.lock();
    vm.as_mut().ok_or(Error::Invalid)?.unmap(addr, len).map(|_| 0)
}

pub fn protect(addr: u64, len: u64, prot: u64) -> SysResult {
    let p = process()?;
    let mut vm = p.vm.lock();
    vm.as_mut().ok_or(Error::Invalid)?.protect(addr, len, prot).map(|_| 0)
}
