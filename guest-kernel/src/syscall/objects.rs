//! Processes, threads, handles and shared memory.
use super::{process, SysResult};
use crate::process::{read_user, Object, SharedMemory};
use crate::sched;
use alloc::sync::Arc;
use alloc::vec;
use pv_abi::syscall::{layout, prot, rights, Error, MAX_SPAWN_HANDLES};

const MAX_PATH: u64 = 256;
const MAX_ARGS: u64 = 64 << 10;

pub fn spawn(
    path_ptr: u64,
    path_len: u64,
    args_ptr: u64,
    args_len: u64,
    handles_ptr: u64,
    handles_len: u64,
) -> SysResult {
    if path_len == 0 || path_len > MAX_PATH || args_len > MAX_ARGS || handles_len > MAX_SPAWN_HANDLES {
        return Err(Error::Invalid);
    }
    let mut path = vec![0u8; path_len as usize];
    read_user(path_ptr, &mut path)?;
    let path = core::str::from_utf8(&path).map_err(|_| Error::Invalid)?;
    let mut args = vec![0u8; args_len as usize];
    read_user(args_ptr, &mut args)?;
    let me = process()?;
    let mut raw = vec![0u8; handles_len as usize * 8];
    read_user(handles_ptr, &mut raw)?;
    let mut given = alloc::vec::Vec::with_capacity(handles_len as usize);
    {
        let table = me.handles.lock();
        for h in raw.chunks_exact(8) {
            let h = pv_abi::le::u64_at(h, 0).ok_or(Error::Invalid)?;
            given.push(table.get_with_rights(h)?);
        }
    }
    let child = crate::process::spawn(path, args, given)?;
    let h = me.handles.lock().insert(Object::Process(child.clone()), rights::WAIT | rights::KILL | rights::DUPLICATE);
    h.inspect_err(|_| child.kill(pv_abi::syscall::status::KILLED))
}

/// Waits for a process (all its threads) or a thread to end.
pub fn wait(h: u64, timeout_ns: u64) -> SysResult {
    let me = process()?;
    let obj = me.handles.lock().get(h, rights::WAIT)?;
    let deadline = (timeout_ns != u64::MAX).then(|| crate::time::now_ns().saturating_add(timeout_ns));
    let (owner, done): (Arc<crate::process::Process>, alloc::boxed::Box<dyn Fn() -> Option<i32>>) = match obj {
        Object::Process(p) if Arc::ptr_eq(&p, &me) => return Err(Error::Busy),
        Object::Process(p) => (p.clone(), alloc::boxed::Box::new(move || p.ended_status())),
        Object::Thread(t) => {
            let owner = crate::process::owner_of(&t).ok_or(Error::WrongKind)?;
            if Arc::ptr_eq(&t, &sched::current()) {
                return Err(Error::Busy);
            }
            (owner, alloc::boxed::Box::new(move || t.user.as_ref().and_then(|u| u.status.get().copied())))
        }
        _ => return Err(Error::WrongKind),
    };
    let result = loop {
        owner.add_waiter();
        if let Some(status) = done() {
            break Ok(status as u32 as u64);
        }
        if me.is_killed() {
            break Err(Error::Invalid);
        }
        if let Some(d) = deadline {
            if crate::time::now_ns() >= d {
                break Err(Error::TimedOut);
            }
            sched::wake_at(d);
        }
        sched::park();
    };
    // An ended process already emptied its list; any other way out leaves
    // this thread registered, which would pile up over repeated waits.
    owner.forget_waiter(&sched::current());
    result
}

pub fn kill(h: u64) -> SysResult {
    let me = process()?;
    let obj = me.handles.lock().get(h, rights::KILL)?;
    match obj {
        Object::Process(p) => {
            p.kill(pv_abi::syscall::status::KILLED);
            Ok(0)
        }
        _ => Err(Error::WrongKind),
    }
}

pub fn thread_spawn(entry: u64, stack_top: u64, arg: u64, fs_base: u64) -> SysResult {
    if entry >= layout::USER_END || stack_top >= layout::USER_END || fs_base >= layout::USER_END {
        return Err(Error::Invalid);
    }
    let me = process()?;
    let frame = crate::arch::x86_64::user::initial_frame(entry, stack_top, arg);
    let t = me.start_thread_with_tls("user", frame, fs_base)?;
    let h = me.handles.lock().insert(Object::Thread(t), rights::WAIT | rights::DUPLICATE);
    h
}

pub fn close(h: u64) -> SysResult {
    process()?.handles.lock().remove(h).map(|_| 0)
}

pub fn duplicate(h: u64, r: u64) -> SysResult {
    let r = u32::try_from(r).map_err(|_| Error::Invalid)?;
    process()?.handles.lock().duplicate(h, r)
}

pub fn shm_create(len: u64) -> SysResult {
    let shm = Arc::new(SharedMemory::new(len)?);
    process()?.handles.lock().insert(Object::Shm(shm), rights::MAP | rights::WRITE | rights::DUPLICATE)
}

pub fn shm_len(h: u64) -> SysResult {
    let Object::Shm(shm) = process()?.handles.lock().get(h, rights::MAP)? else { return Err(Error::WrongKind) };
    Ok(shm.len())
}

pub fn shm_map(h: u64, p: u64) -> SysResult {
    let me = process()?;
    let need = if p & prot::WRITE != 0 { rights::MAP | rights::WRITE } else { rights::MAP };
    let Object::Shm(shm) = me.handles.lock().get(h, need)? else { return Err(Error::WrongKind) };
    me.with_vm(|vm| vm.map_shared(shm, p))
}
