//! The console for a shell: input as typed (a line editor reads it), and the
//! foreground processes that Ctrl-C ends (docs/abi.md, "The console").
use super::{process, SysResult};
use crate::process::{read_user, write_user, Object};
use alloc::vec::Vec;
use pv_abi::syscall::{layout, rights, Error, MAX_FOREGROUND};

/// Most bytes one raw read returns (the kernel's input buffer is 4 KiB).
const RAW_MAX: usize = 1024;

pub fn console_read_raw(ptr: u64, cap: u64) -> SysResult {
    let want = (cap as usize).min(RAW_MAX);
    ptr.checked_add(want as u64).filter(|e| *e <= layout::USER_END && ptr < layout::USER_END).ok_or(Error::Fault)?;
    if want == 0 {
        return Err(Error::Invalid);
    }
    let p = process()?;
    let mut buf = [0u8; RAW_MAX];
    let n = crate::console::input::read_raw(&mut buf[..want], &|| p.is_killed());
    write_user(ptr, &buf[..n])?;
    Ok(n as u64)
}

pub fn console_foreground(ptr: u64, count: u64) -> SysResult {
    if count > MAX_FOREGROUND {
        return Err(Error::Invalid);
    }
    ptr.checked_add(count * 8).filter(|e| *e <= layout::USER_END && ptr < layout::USER_END).ok_or(Error::Fault)?;
    let mut raw = [0u8; MAX_FOREGROUND as usize * 8];
    let bytes = &mut raw[..count as usize * 8];
    read_user(ptr, bytes)?;
    let me = process()?;
    let mut procs = Vec::with_capacity(count as usize);
    {
        let handles = me.handles.lock();
        for h in bytes.chunks_exact(8) {
            let h = u64::from_le_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]]);
            match handles.get(h, rights::KILL)? {
                Object::Process(p) => procs.push(p),
                _ => return Err(Error::WrongKind),
            }
        }
    }
    crate::process::set_foreground(&procs);
    Ok(0)
}
