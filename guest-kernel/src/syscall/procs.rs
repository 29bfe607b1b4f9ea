//! Processes by pid: listing them (`ps`, `top`) and ending one (`kill`).
//! What a caller sees and may end is decided by its session
//! (`process::table::may_kill`); docs/abi.md, "Processes by pid".
use super::{process, SysResult};
use crate::process::{table, write_user, Process};
use alloc::vec::Vec;
use pv_abi::procinfo::{flags, join_args, ProcState, ProcessInfo, MAX_LIST, RECORD_SIZE};
use pv_abi::syscall::{layout, status, Error};

/// `ProcessList(ptr, cap)`: up to `cap` records at `ptr`; the number of
/// live processes. The whole buffer is checked before anything is gathered.
pub fn process_list(ptr: u64, cap: u64) -> SysResult {
    if cap > MAX_LIST {
        return Err(Error::Invalid);
    }
    let bytes = cap * RECORD_SIZE as u64;
    if ptr >= layout::USER_END || ptr.checked_add(bytes).is_none_or(|e| e > layout::USER_END) {
        return Err(Error::Fault);
    }
    let me = process()?;
    let all = table::live();
    // Records are built with no lock held, then copied out one by one.
    let records: Vec<ProcessInfo> = all.iter().take(cap as usize).map(|p| record(&me, p)).collect();
    for (i, r) in records.iter().enumerate() {
        write_user(ptr + (i * RECORD_SIZE) as u64, &r.to_bytes())?;
    }
    Ok(all.len() as u64)
}

fn record(me: &Process, p: &Process) -> ProcessInfo {
    let killable = table::may_kill(me, p);
    let state = if p.is_killed() {
        ProcState::Exiting
    } else if p.pid == me.pid || p.is_running() {
        // The caller is running this very call, whatever its thread's
        // bookkeeping says between a wake-up and the next switch.
        ProcState::Running
    } else {
        ProcState::Sleeping
    };
    let mut r = ProcessInfo {
        pid: p.pid,
        parent: p.parent,
        state: state as u32,
        threads: p.thread_count() as u32,
        cpu_ns: p.cpu_time_ns(),
        resident_bytes: p.resident_bytes(),
        start_ns: p.start_ns,
        session: p.session,
        ..ProcessInfo::default()
    };
    if killable {
        r.flags |= flags::KILLABLE;
    }
    if p.pid == me.pid {
        r.flags |= flags::SELF;
    }
    // Arguments can carry what a process was told (a path, a key): only its
    // own session sees them; others see the program's name.
    let len = if me.pid == crate::process::INIT_PID || me.session == p.session {
        r.flags |= flags::ARGS_VISIBLE;
        join_args(p.name.as_bytes(), &p.args, &mut r.cmdline)
    } else {
        join_args(p.name.as_bytes(), &[], &mut r.cmdline)
    };
    r.cmdline_len = len as u32;
    r
}

/// `KillPid(pid)`: ends `pid` as `Kill` does, if the caller may.
pub fn kill_pid(pid: u64) -> SysResult {
    let pid = u32::try_from(pid).ok().filter(|&p| p != 0).ok_or(Error::Invalid)?;
    let me = process()?;
    let target = table::find(pid).ok_or(Error::NotFound)?;
    if !table::may_kill(&me, &target) {
        return Err(Error::AccessDenied);
    }
    target.kill(status::KILLED);
    Ok(0)
}
