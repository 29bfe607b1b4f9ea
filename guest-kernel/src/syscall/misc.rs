//! Console, time, arguments, system information, TLS base, boot marks.
use super::{process, SysResult};
use crate::process::{read_user, write_user};
use crate::sched;
use core::sync::atomic::Ordering;
use pv_abi::syscall::{layout, Error, SysInfo};

/// Bytes copied through the kernel per step.
const CHUNK: usize = 256;
/// Longest single console write.
const MAX_WRITE: u64 = 1 << 20;

pub fn console_write(ptr: u64, len: u64) -> SysResult {
    if len > MAX_WRITE {
        return Err(Error::Invalid);
    }
    ptr.checked_add(len).filter(|e| *e <= layout::USER_END && ptr < layout::USER_END).ok_or(Error::Fault)?;
    let mut buf = [0u8; CHUNK];
    let mut done = 0;
    while done < len {
        let n = ((len - done) as usize).min(CHUNK);
        read_user(ptr + done, &mut buf[..n])?;
        crate::console::write_bytes(&buf[..n]);
        done += n as u64;
    }
    Ok(len)
}

pub fn console_read(ptr: u64, cap: u64) -> SysResult {
    let mut line = [0u8; 1024];
    let want = (cap as usize).min(line.len());
    ptr.checked_add(want as u64).filter(|e| *e <= layout::USER_END && ptr < layout::USER_END).ok_or(Error::Fault)?;
    let p = process()?;
    let n = crate::console::input::read_line(&mut line[..want], &|| p.is_killed());
    write_user(ptr, &line[..n])?;
    Ok(n as u64)
}

pub fn sleep(ns: u64) -> SysResult {
    let p = process()?;
    let deadline = crate::time::now_ns().saturating_add(ns);
    while crate::time::now_ns() < deadline && !p.is_killed() {
        sched::wake_at(deadline);
        sched::park();
    }
    Ok(0)
}

pub fn set_fs_base(addr: u64) -> SysResult {
    if addr >= layout::USER_END {
        return Err(Error::Invalid);
    }
    let me = sched::current();
    let u = me.user.as_ref().ok_or(Error::Invalid)?;
    u.fs_base.store(addr, Ordering::Relaxed);
    crate::arch::x86_64::user::set_fs_base(addr);
    Ok(0)
}

pub fn args(ptr: u64, cap: u64) -> SysResult {
    let p = process()?;
    let n = (cap as usize).min(p.args.len());
    write_user(ptr, &p.args[..n])?;
    Ok(p.args.len() as u64)
}

pub fn sysinfo(ptr: u64, len: u64) -> SysResult {
    let p = process()?;
    let mem = crate::mm::stats();
    let info = SysInfo {
        cpus: crate::percpu::online_count() as u32,
        pid: p.pid,
        total_memory: mem.total_bytes,
        free_memory: mem.free_bytes,
        tsc_hz: crate::time::tsc_hz(),
        boot_ns: crate::time::now_ns(),
        wall_ns: crate::time::wall_clock_unix_ns(),
        idle_ns: crate::sched::idle_ns(),
    };
    let mut bytes = [0u8; core::mem::size_of::<SysInfo>()];
    bytes[0..4].copy_from_slice(&info.cpus.to_le_bytes());
    bytes[4..8].copy_from_slice(&info.pid.to_le_bytes());
    bytes[8..16].copy_from_slice(&info.total_memory.to_le_bytes());
    bytes[16..24].copy_from_slice(&info.free_memory.to_le_bytes());
    bytes[24..32].copy_from_slice(&info.tsc_hz.to_le_bytes());
    bytes[32..40].copy_from_slice(&info.boot_ns.to_le_bytes());
    bytes[40..48].copy_from_slice(&info.wall_ns.to_le_bytes());
    bytes[48..56].copy_from_slice(&info.idle_ns.to_le_bytes());
    let n = (len as usize).min(bytes.len());
    write_user(ptr, &bytes[..n])?;
    Ok(bytes.len() as u64)
}

pub fn cpu_stats(cpu: u64, ptr: u64, len: u64) -> SysResult {
    let stats = usize::try_from(cpu).ok().and_then(crate::sched::cpu_stats).ok_or(Error::Invalid)?;
    let bytes = stats.to_bytes();
    let n = (len as usize).min(bytes.len());
    write_user(ptr, &bytes[..n])?;
    Ok(crate::percpu::online_count() as u64)
}

pub fn boot_mark(code: u64) -> SysResult {
    let p = process()?;
    if p.pid != 1 {
        return Err(Error::AccessDenied);
    }
    if code != u64::from(pv_abi::boot_trace::INIT_READY) {
        return Err(Error::Invalid);
    }
    crate::trace::mark(code as u8);
    Ok(0)
}
