//! Processes, threads, handles and shared memory.
use super::{process, SysResult};
use crate::process::{read_user, ImageCopy, Object, Process, SharedMemory};
use crate::sched;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use pv_abi::syscall::{layout, prot, rights, Error, SpawnImage, MAX_SPAWN_HANDLES, MAX_SPAWN_IMAGE};

const MAX_PATH: u64 = 256;
const MAX_ARGS: u64 = 64 << 10;

/// What `Spawn` and `SpawnImage` share: the path, the argument blob and the
/// handles to pass, read and checked.
struct Launch {
    path: alloc::string::String,
    args: Vec<u8>,
    given: Vec<(Object, u32)>,
}

fn launch(
    me: &Process,
    path_ptr: u64,
    path_len: u64,
    args_ptr: u64,
    args_len: u64,
    handles_ptr: u64,
    handles_len: u64,
) -> Result<Launch, Error> {
    if path_len == 0 || path_len > MAX_PATH || args_len > MAX_ARGS || handles_len > MAX_SPAWN_HANDLES {
        return Err(Error::Invalid);
    }
    let mut path = vec![0u8; path_len as usize];
    read_user(path_ptr, &mut path)?;
    let path = alloc::string::String::from_utf8(path).map_err(|_| Error::Invalid)?;
    let mut args = vec![0u8; args_len as usize];
    read_user(args_ptr, &mut args)?;
    let mut raw = vec![0u8; handles_len as usize * 8];
    read_user(handles_ptr, &mut raw)?;
    let mut given = Vec::with_capacity(handles_len as usize);
    {
        let table = me.handles.lock();
        for h in raw.chunks_exact(8) {
            let h = pv_abi::le::u64_at(h, 0).ok_or(Error::Invalid)?;
            given.push(table.get_with_rights(h)?);
        }
    }
    Ok(Launch { path, args, given })
}

/// A handle to a new child for its parent (the child dies if there is no room).
fn child_handle(me: &Process, child: Arc<Process>) -> SysResult {
    let h = me.handles.lock().insert(Object::Process(child.clone()), rights::WAIT | rights::KILL | rights::DUPLICATE);
    h.inspect_err(|_| child.kill(pv_abi::syscall::status::KILLED))
}

pub fn spawn(
    path_ptr: u64,
    path_len: u64,
    args_ptr: u64,
    args_len: u64,
    handles_ptr: u64,
    handles_len: u64,
) -> SysResult {
    let me = process()?;
    let l = launch(&me, path_ptr, path_len, args_ptr, args_len, handles_ptr, handles_len)?;
    let child = crate::process::spawn(&l.path, l.args, l.given)?;
    child_handle(&me, child)
}

/// `SpawnImage`: as `Spawn`, from an ELF image in the caller's memory, which
/// is copied into the kernel first (the caller may change its memory
/// meanwhile; the loader only ever sees the copy).
pub fn spawn_image(spec_ptr: u64, spec_len: u64) -> SysResult {
    const SPEC: usize = core::mem::size_of::<SpawnImage>();
    if spec_len != SPEC as u64 {
        return Err(Error::Invalid);
    }
    let mut raw = [0u8; SPEC];
    read_user(spec_ptr, &mut raw)?;
    let field = |i: usize| pv_abi::le::u64_at(&raw, i * 8).ok_or(Error::Invalid);
    let s = SpawnImage {
        image_ptr: field(0)?,
        image_len: field(1)?,
        path_ptr: field(2)?,
        path_len: field(3)?,
        args_ptr: field(4)?,
        args_len: field(5)?,
        handles_ptr: field(6)?,
        handles_len: field(7)?,
    };
    if s.image_len > MAX_SPAWN_IMAGE {
        return Err(Error::Invalid);
    }
    let me = process()?;
    let l = launch(&me, s.path_ptr, s.path_len, s.args_ptr, s.args_len, s.handles_ptr, s.handles_len)?;
    let image = ImageCopy::from_user(s.image_ptr, s.image_len)?;
    let child = crate::process::spawn_image(&image, &l.path, l.args, l.given)?;
    drop(image);
    child_handle(&me, child)
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
