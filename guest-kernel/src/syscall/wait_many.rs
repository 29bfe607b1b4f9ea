//! WaitMany: block until any of up to 64 handles is ready, or a timeout.
//! The calling thread registers itself on each object, then checks each
//! (so an event after its check wakes it: no lost wake-ups), then parks;
//! on return it removes itself again. The cost is proportional to the
//! handles passed, never to the objects nobody waits on.
use super::{process, SysResult};
use crate::process::{read_user, Object};
use crate::sched::{self, Thread};
use alloc::sync::Arc;
use alloc::vec::Vec;
use pv_abi::syscall::{rights, Error};

/// Handles one call waits on at most (one bit each in the result).
pub const MAX_HANDLES: u64 = 64;

fn poll(obj: &Object, waiter: Option<&Arc<Thread>>) -> bool {
    match obj {
        Object::PipeRead(r) => r.poll(waiter),
        Object::PipeWrite(w) => w.poll(waiter),
        Object::Irq(i) => i.poll(waiter),
        Object::Process(p) => p.poll_end(waiter),
        Object::Listener(l) => l.poll(waiter),
        // A thread's end wakes its process's waiters.
        Object::Thread(t) => t.user.as_ref().is_none_or(|u| {
            if let Some(p) = crate::process::owner_of(t) {
                p.poll_end(waiter);
            }
            u.status.get().is_some()
        }),
        _ => false,
    }
}

fn forget(obj: &Object, t: &Arc<Thread>) {
    match obj {
        Object::PipeRead(r) => r.forget(t),
        Object::PipeWrite(w) => w.forget(t),
        Object::Irq(i) => i.forget(t),
        Object::Process(p) => p.forget_waiter(t),
        Object::Listener(l) => l.forget(t),
        Object::Thread(th) => {
            if let Some(p) = crate::process::owner_of(th) {
                p.forget_waiter(t);
            }
        }
        _ => {}
    }
}

/// Objects one call holds on the stack; more go to the heap. Most waits are
/// on one or two handles (a device interrupt, a child, a pipe), and a heap
/// list cost a few hundred instructions on every such wait.
const INLINE: usize = 4;

/// The objects of one call, in handle order.
enum Objs {
    Few([Option<Object>; INLINE], usize),
    Many(Vec<Object>),
}

impl Objs {
    fn with_capacity(n: usize) -> Result<Self, Error> {
        if n <= INLINE {
            return Ok(Self::Few([const { None }; INLINE], 0));
        }
        let mut v = Vec::new();
        v.try_reserve_exact(n).map_err(|_| Error::NoMemory)?;
        Ok(Self::Many(v))
    }

    /// Capacity was reserved for every push.
    fn push(&mut self, o: Object) {
        match self {
            Self::Few(a, n) => {
                if let Some(slot) = a.get_mut(*n) {
                    *slot = Some(o);
                    *n += 1;
                }
            }
            Self::Many(v) => v.push(o),
        }
    }

    fn iter(&self) -> impl Iterator<Item = &Object> {
        let (few, many): (&[Option<Object>], &[Object]) = match self {
            Self::Few(a, n) => (&a[..*n], &[]),
            Self::Many(v) => (&[], v),
        };
        few.iter().flatten().chain(many)
    }
}

pub fn wait_many(handles_ptr: u64, count: u64, timeout_ns: u64) -> SysResult {
    if count == 0 || count > MAX_HANDLES {
        return Err(Error::Invalid);
    }
    let mut raw = [0u8; 8 * MAX_HANDLES as usize];
    let raw = &mut raw[..count as usize * 8];
    read_user(handles_ptr, raw)?;
    let me = process()?;
    let objs = {
        let table = me.handles.lock();
        let mut v = Objs::with_capacity(count as usize)?;
        for c in raw.chunks_exact(8) {
            let h = pv_abi::le::u64_at(c, 0).ok_or(Error::Invalid)?;
            let (obj, r) = table.get_with_rights(h)?;
            let waitable = match obj {
                Object::PipeRead(_) | Object::PipeWrite(_) => true,
                Object::Irq(_) | Object::Process(_) | Object::Thread(_) | Object::Listener(_) => r & rights::WAIT != 0,
                _ => return Err(Error::WrongKind),
            };
            if !waitable {
                return Err(Error::AccessDenied);
            }
            v.push(obj);
        }
        v
    };
    let check = |waiter: Option<&Arc<Thread>>| {
        objs.iter().enumerate().fold(0u64, |m, (i, o)| if poll(o, waiter) { m | 1 << i } else { m })
    };
    if timeout_ns == 0 {
        let ready = check(None);
        return if ready != 0 { Ok(ready) } else { Err(Error::TimedOut) };
    }
    let deadline = (timeout_ns != u64::MAX).then(|| crate::time::now_ns().saturating_add(timeout_ns));
    let t = sched::current();
    let result = loop {
        let ready = check(Some(&t));
        if ready != 0 {
            break Ok(ready);
        }
        if me.is_killed() {
            break Err(Error::Closed);
        }
        if let Some(d) = deadline {
            if crate::time::now_ns() >= d {
                break Err(Error::TimedOut);
            }
            // One entry per wait: drop the one an earlier pass left (if it
            // has not fired) before arming again.
            sched::cancel_wake_at(d);
            sched::wake_at(d);
        }
        sched::park();
    };
    for o in objs.iter() {
        forget(o, &t);
    }
    if let Some(d) = deadline {
        sched::cancel_wake_at(d);
    }
    result
}
