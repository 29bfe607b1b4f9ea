//! Named services (ServiceRegister, ServiceConnect, ServiceAccept) and
//! InitrdMap: what a user-space I/O server needs to be found by every
//! process and to serve the initrd when there is no disk. Registering and
//! mapping the initrd need the device right (`device::right`).
use super::device::right;
use super::{process, SysResult};
use crate::process::service::{self, CLIENT_RIGHTS, LISTENER_RIGHTS};
use crate::process::{read_user, write_user, Object, Process, ServiceListener};
use crate::sched;
use alloc::sync::Arc;
use pv_abi::syscall::{prot, rights, Error, MAX_SERVICE_NAME};

use pv_abi::PAGE_SIZE as PAGE;

/// Reads and checks a service name from user memory.
fn read_name(ptr: u64, len: u64, buf: &mut [u8; MAX_SERVICE_NAME as usize]) -> Result<&str, Error> {
    if len == 0 || len > MAX_SERVICE_NAME {
        return Err(Error::Invalid);
    }
    let name = &mut buf[..len as usize];
    read_user(ptr, name)?;
    service::check_name(name)
}

pub fn register(right_h: u64, name_ptr: u64, name_len: u64) -> SysResult {
    right(right_h)?;
    let mut buf = [0u8; MAX_SERVICE_NAME as usize];
    let name = read_name(name_ptr, name_len, &mut buf)?;
    let listener = service::register(name)?;
    // On failure the listener drops here, and its name is free again.
    let h = process()?.handles.lock().insert(Object::Listener(listener), LISTENER_RIGHTS);
    h
}

/// Passes `h` (which must carry `DUPLICATE`: the server gets a second
/// handle to the object, with all of this one's rights) to the service.
pub fn connect(name_ptr: u64, name_len: u64, h: u64) -> SysResult {
    let mut buf = [0u8; MAX_SERVICE_NAME as usize];
    let name = read_name(name_ptr, name_len, &mut buf)?;
    let me = process()?;
    let (obj, r) = me.handles.lock().get_with_rights(h)?;
    if r & rights::DUPLICATE == 0 {
        return Err(Error::AccessDenied);
    }
    service::connect(name, obj, r, me)?;
    Ok(0)
}

fn listener(me: &Process, h: u64) -> Result<Arc<ServiceListener>, Error> {
    match me.handles.lock().get(h, rights::WAIT)? {
        Object::Listener(l) => Ok(l),
        _ => Err(Error::WrongKind),
    }
}

pub fn accept(h: u64, out_ptr: u64, timeout_ns: u64) -> SysResult {
    let me = process()?;
    let l = listener(&me, h)?;
    // A bad out pointer fails before a connection is taken.
    write_user(out_ptr, &[0u8; 16])?;
    let conn = if timeout_ns == 0 {
        l.pop_or_register(None).ok_or(Error::TimedOut)?
    } else {
        let deadline = (timeout_ns != u64::MAX).then(|| crate::time::now_ns().saturating_add(timeout_ns));
        let t = sched::current();
        let result = loop {
            if let Some(c) = l.pop_or_register(Some(&t)) {
                break Ok(c);
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
        l.forget(&t);
        result?
    };
    // Deliver both handles, or put the connection back as it was.
    let inserted = {
        let mut table = me.handles.lock();
        match table.insert(conn.handle.clone(), conn.rights) {
            Ok(a) => match table.insert(Object::Process(conn.client.clone()), CLIENT_RIGHTS) {
                Ok(b) => Ok((a, b)),
                Err(e) => {
                    let _ = table.remove(a);
                    Err(e)
                }
            },
            Err(e) => Err(e),
        }
    };
    let (a, b) = match inserted {
        Ok(ab) => ab,
        Err(e) => {
            l.unpop(conn);
            return Err(e);
        }
    };
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&a.to_le_bytes());
    out[8..].copy_from_slice(&b.to_le_bytes());
    if let Err(e) = write_user(out_ptr, &out) {
        // Another thread unmapped the buffer meanwhile.
        let mut table = me.handles.lock();
        let _ = table.remove(a);
        let _ = table.remove(b);
        drop(table);
        l.unpop(conn);
        return Err(e);
    }
    Ok(0)
}

/// Lends the initrd read-only: its pages are the kernel's for good, so the
/// mapping never frees them.
pub fn initrd_map(right_h: u64, len_out: u64) -> SysResult {
    right(right_h)?;
    let rd = crate::initrd::get().ok_or(Error::NotFound)?;
    let (paddr, len) = rd.phys_range();
    write_user(len_out, &len.to_le_bytes())?;
    let first = paddr & !(PAGE - 1);
    let end = paddr.checked_add(len).and_then(|e| e.checked_next_multiple_of(PAGE)).ok_or(Error::Invalid)?;
    if end == first {
        return Err(Error::NotFound);
    }
    let va = process()?.with_vm(|vm| vm.map_borrowed(first, end - first, prot::READ))?;
    Ok(va + (paddr - first))
}
