//! Named services: a system server registers a name and gets a listener;
//! any process connects by name, passing one handle (a channel region's
//! shared memory); the server accepts each connection with that handle and
//! a WAIT-only handle to the client's process (to notice it die).
//!
//! The registry holds each listener weakly: a name is free again as soon as
//! the listener's last handle is gone (its server ended), with no cleanup
//! hook. Listener handles carry no `DUPLICATE` right and `connect` passes
//! only handles that do, so a listener can never end up queued on itself (a
//! cycle that would keep its name taken forever).
use super::proc::{Connection, Object, Process, ServiceListener};
use crate::sync::SpinLock;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use pv_abi::syscall::{rights, Error, MAX_SERVICE_NAME};

/// Names registered at once (live or not yet pruned).
const MAX_SERVICES: usize = 256;
/// Rights of a listener handle: waitable (`ServiceAccept`, `WaitMany`), and
/// nothing more (see the module comment for why not `DUPLICATE`).
pub const LISTENER_RIGHTS: u32 = rights::WAIT;
/// Rights of the client-process handle an accept gives.
pub const CLIENT_RIGHTS: u32 = rights::WAIT;

static SERVICES: SpinLock<Vec<(String, Weak<ServiceListener>)>> = SpinLock::new(Vec::new());

/// Checks a service name: 1..=MAX_SERVICE_NAME bytes of UTF-8.
pub fn check_name(name: &[u8]) -> Result<&str, Error> {
    if name.is_empty() || name.len() as u64 > MAX_SERVICE_NAME {
        return Err(Error::Invalid);
    }
    core::str::from_utf8(name).map_err(|_| Error::Invalid)
}

/// Registers `name`: `Busy` while a live listener holds it.
pub fn register(name: &str) -> Result<Arc<ServiceListener>, Error> {
    let mut owned = String::new();
    owned.try_reserve_exact(name.len()).map_err(|_| Error::NoMemory)?;
    owned.push_str(name);
    let listener = Arc::new(ServiceListener::new());
    let mut all = SERVICES.lock();
    all.retain(|(_, w)| w.strong_count() > 0);
    if all.iter().any(|(n, _)| n == name) {
        return Err(Error::Busy);
    }
    if all.len() >= MAX_SERVICES {
        return Err(Error::Limit);
    }
    all.try_reserve(1).map_err(|_| Error::NoMemory)?;
    all.push((owned, Arc::downgrade(&listener)));
    Ok(listener)
}

/// The live listener of `name`.
fn lookup(name: &str) -> Option<Arc<ServiceListener>> {
    SERVICES.lock().iter().find(|(n, _)| n == name).and_then(|(_, w)| w.upgrade())
}

/// Queues a connection from `client` passing `handle` with `rights` to
/// the service `name`. `NotFound`: no live service; `Limit`: its queue is full.
pub fn connect(name: &str, handle: Object, rights: u32, client: Arc<Process>) -> Result<(), Error> {
    let listener = lookup(name).ok_or(Error::NotFound)?;
    listener.push(Connection { handle, rights, client })
}
