//! Map, Unmap, Protect.
use super::{process, SysResult};

/// The hint is advisory and currently unused: placement is the kernel's.
pub fn map(_hint: u64, len: u64, prot: u64) -> SysResult {
    process()?.with_vm(|vm| vm.map_anywhere(len, prot))
}

pub fn unmap(addr: u64, len: u64) -> SysResult {
    process()?.with_vm(|vm| vm.unmap(addr, len).map(|_| 0))
}

pub fn protect(addr: u64, len: u64, prot: u64) -> SysResult {
    process()?.with_vm(|vm| vm.protect(addr, len, prot).map(|_| 0))
}
