//! The Vireo system calls std has no words for, as typed safe functions
//! (docs/abi.md). Std programs reach the kernel through std for files,
//! processes, time and sockets; these are the rest: memory and CPU
//! statistics (`free`, `top`), the process list and ending a process by pid
//! (`ps`, `kill`), raw console input and the console's foreground (the
//! shell's line editor and Ctrl-C). Only `raw` holds `unsafe`.
//!
//! On any other target (the host, where unit tests run) every call fails
//! with [`Error::NoSys`].
#![cfg_attr(target_os = "motor", feature(motor_ext))]

mod raw;

pub use pv_abi::procinfo::{ProcState, ProcessInfo};
pub use pv_abi::syscall::{CpuStats, Error, SysInfo};

use pv_abi::procinfo::{MAX_LIST, RECORD_SIZE};
use pv_abi::syscall::Sys;

/// Memory, CPUs, this process's pid and the time since boot.
pub fn sys_info() -> Result<SysInfo, Error> {
    let mut info = SysInfo::default();
    let mut bytes = [0u8; core::mem::size_of::<SysInfo>()];
    raw::call2(Sys::SysInfo, raw::out(&mut bytes), bytes.len() as u64)?;
    let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap_or_default());
    let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap_or_default());
    info.cpus = u32_at(0);
    info.pid = u32_at(4);
    info.total_memory = u64_at(8);
    info.free_memory = u64_at(16);
    info.tsc_hz = u64_at(24);
    info.boot_ns = u64_at(32);
    info.wall_ns = u64_at(40);
    info.idle_ns = u64_at(48);
    Ok(info)
}

/// One CPU's time since boot, and how many CPUs are online (`Invalid` for
/// an index that is not).
pub fn cpu_stats(cpu: usize) -> Result<(CpuStats, usize), Error> {
    let mut bytes = [0u8; 56];
    let online = raw::call3(Sys::CpuStats, cpu as u64, raw::out(&mut bytes), bytes.len() as u64)?;
    let f = |i: usize| u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().unwrap_or_default());
    let stats = CpuStats {
        idle_ns: f(0),
        steal_ns: f(1),
        poll_ns: f(2),
        poll_hits: f(3),
        halts: f(4),
        poll_window_ns: f(5),
        switches: f(6),
    };
    Ok((stats, online as usize))
}

/// Every CPU's statistics, in index order.
pub fn all_cpu_stats() -> Result<Vec<CpuStats>, Error> {
    let (first, online) = cpu_stats(0)?;
    let mut all = vec![first];
    for cpu in 1..online {
        all.push(cpu_stats(cpu)?.0);
    }
    Ok(all)
}

/// Every live process, in pid order (what the caller may see of each).
pub fn process_list() -> Result<Vec<ProcessInfo>, Error> {
    let mut cap = raw::call2(Sys::ProcessList, 0, 0)? + 8;
    loop {
        let cap_now = cap.min(MAX_LIST);
        let mut buf = vec![0u8; cap_now as usize * RECORD_SIZE];
        let total = raw::call2(Sys::ProcessList, raw::out(&mut buf), cap_now)?;
        // More processes started meanwhile: ask again with room for them.
        if total > cap_now && cap_now < MAX_LIST {
            cap = total + 8;
            continue;
        }
        let n = total.min(cap_now) as usize;
        return Ok(buf
            .chunks_exact(RECORD_SIZE)
            .take(n)
            .filter_map(|c| c.try_into().ok().map(ProcessInfo::from_bytes))
            .collect());
    }
}

/// Ends process `pid` (status `KILLED`), if this process may: init may end
/// anyone, others only what is in their session (docs/abi.md).
pub fn kill_pid(pid: u32) -> Result<(), Error> {
    raw::call1(Sys::KillPid, u64::from(pid)).map(drop)
}

/// Reads what was typed on the console, as typed (no line discipline, no
/// echo); blocks until at least one byte is there. 0: this process is
/// being killed.
pub fn console_read_raw(buf: &mut [u8]) -> Result<usize, Error> {
    let cap = buf.len().min(1024) as u64;
    raw::call2(Sys::ConsoleReadRaw, raw::out(buf), cap).map(|n| n as usize)
}

/// Makes these processes (handles with `KILL`, at most 16) the ones the
/// next Ctrl-C on the console ends; empty: none.
pub fn console_foreground(handles: &[u64]) -> Result<(), Error> {
    raw::call2(Sys::ConsoleForeground, raw::input(handles), handles.len() as u64).map(drop)
}

/// The Vireo process handle of a child (for [`console_foreground`]).
pub fn handle_of(child: &std::process::Child) -> Option<u64> {
    #[cfg(target_os = "motor")]
    {
        use std::os::motor::process::ChildExt;
        Some(child.sys_handle())
    }
    #[cfg(not(target_os = "motor"))]
    {
        let _ = child;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_vireo_every_call_is_nosys() {
        assert_eq!(sys_info().err(), Some(Error::NoSys));
        assert_eq!(process_list().err(), Some(Error::NoSys));
        assert_eq!(kill_pid(5), Err(Error::NoSys));
        assert_eq!(console_read_raw(&mut [0; 4]), Err(Error::NoSys));
    }
}
