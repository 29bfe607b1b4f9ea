//! The connection to the I/O server: one channel region per process, made
//! at the first fs call and shared by all threads behind one lock (one
//! thread's batch at a time).
//!
//! A process started without an I/O server (`init=` a program, or a
//! kernel without `ServiceConnect`) gets `E_NOT_CONNECTED` from every fs
//! call. A server that breaks the protocol ends the connection for the rest
//! of the process: that call gets `E_INTERNAL_ERROR`, later ones
//! `E_NOT_CONNECTED`. Waiting for a completion has no deadline: a slow
//! request (a 64 MiB `sync_all`) is not a dead server, the guest's clock is
//! no measure of the host's progress (under QEMU `-icount sleep=off` it jumps
//! while the guest idles, and a 30 s patience expired during a flush), and a
//! server that dies takes the system down with it (init supervises it).
use super::pure::status_code;
use core::sync::atomic::AtomicU32;
use moto_rt::error::{ErrorCode, E_INTERNAL_ERROR, E_NOT_CONNECTED};
use vireo_io_channel::{Client, Msg, Op, Region, REGION_SIZE, SLOT_COUNT, SLOT_SIZE};
use vireo_rt::sync::{Mutex, MutexGuard};
use vireo_rt::sys::{self, prot};
use vireo_rt::Error;

/// The largest data range of one request: 16 slots, 64 KiB.
pub const CHUNK: usize = 16 * SLOT_SIZE;
/// Requests in flight in one batch (4 × 16 slots = all 64).
pub const MAX_BATCH: usize = SLOT_COUNT * SLOT_SIZE / CHUNK;

/// The channel's wait/wake on Vireo's futexes.
struct Futex;

impl vireo_io_channel::Waker for Futex {
    fn wait(&self, word: &AtomicU32, expected: u32, timeout_ns: u64) {
        // WouldBlock and TimedOut both just mean "look at the queue again".
        let _ = sys::futex_wait(word, expected, timeout_ns);
    }

    fn wake(&self, word: &AtomicU32) {
        let _ = sys::futex_wake(word, 1);
    }
}

pub struct Conn {
    client: Client,
    next_id: u64,
}

enum Link {
    Untried,
    /// No I/O server, or the connection broke.
    Down,
    Up(Conn),
}

static LINK: Mutex<Link> = Mutex::new(Link::Untried);

/// The connection, locked, or `E_NOT_CONNECTED`.
pub struct Guard(MutexGuard<'static, Link>);

impl Guard {
    /// The live connection (`E_NOT_CONNECTED` once it has failed).
    fn conn(&mut self) -> Result<&mut Conn, ErrorCode> {
        match &mut *self.0 {
            Link::Up(c) => Ok(c),
            _ => Err(E_NOT_CONNECTED),
        }
    }

    /// Ends the connection after a timeout or a protocol breach.
    fn fail(&mut self, code: ErrorCode) -> ErrorCode {
        *self.0 = Link::Down;
        code
    }
}

fn connect() -> Option<Conn> {
    let shm = sys::shm_create(REGION_SIZE as u64).ok()?;
    let Ok(addr) = sys::shm_map(shm, prot::READ | prot::WRITE) else {
        let _ = sys::close(shm);
        return None;
    };
    // It is unmapped only below, before any Region built on it is used; the
    // server reaches it only through its own mapping.
    // SAFETY: the kernel mapped the whole REGION_SIZE object, page-aligned and writable.
    let Ok(region) = (unsafe { Region::from_raw(addr as *mut u8, REGION_SIZE) }) else { return None };
    let client = Client::create(region);
    match sys::service_connect(pv_abi::syscall::IO_SERVICE, shm) {
        // The shm handle stays open: the kernel may have passed this very
        // handle on, and a number closed here could be reused by then.
        Ok(_) => Some(Conn { client, next_id: 1 }),
        Err(e) => {
            if !matches!(e, Error::NotFound | Error::NoSys) {
                vireo_rt::println!("motor-rt: cannot connect to the I/O server: {}", e.name());
            }
            // SAFETY: the mapping is ours; `client` (no Drop) is never used
            // again, and nothing else refers to the region.
            let _ = unsafe { sys::unmap(addr, REGION_SIZE as u64) };
            let _ = sys::close(shm);
            None
        }
    }
}

/// Locks the connection, making it at the first call.
pub fn lock() -> Result<Guard, ErrorCode> {
    let mut link = LINK.lock();
    if matches!(*link, Link::Untried) {
        *link = connect().map_or(Link::Down, Link::Up);
    }
    match *link {
        Link::Up(_) => Ok(Guard(link)),
        _ => Err(E_NOT_CONNECTED),
    }
}

/// Whether a server is connected (connecting if not tried yet).
pub fn connected() -> bool {
    lock().is_ok()
}

/// A request in flight: its id and its data run.
pub struct Pending {
    id: u64,
    first: u16,
    slots: usize,
}

impl Pending {
    /// The request's data range in the region, for reading the reply's data.
    pub fn first_slot(&self) -> usize {
        self.first as usize
    }
}

fn slots_for(bytes: usize) -> usize {
    bytes.div_ceil(SLOT_SIZE)
}

impl Guard {
    /// Queues `msg` with a data range of `room` bytes (at least
    /// `data.len()`) holding `data`; the caller notifies and reaps.
    pub fn push(&mut self, mut msg: Msg, data: &[u8], room: usize) -> Result<Pending, ErrorCode> {
        let c = self.conn()?;
        let room = room.max(data.len());
        let n = slots_for(room);
        let first = if n == 0 {
            vireo_io_channel::NO_SLOT
        } else {
            c.client.slots.take_run(n).map_err(|_| E_INTERNAL_ERROR)?
        };
        if n > 0 {
            if c.client.region.write_slot(first as usize, 0, data).is_err() {
                let _ = c.client.slots.give_run(first, n);
                return Err(E_INTERNAL_ERROR);
            }
            (msg.slot, msg.offset, msg.len) = (first, 0, room as u32);
        }
        msg.id = c.next_id;
        c.next_id += 1;
        if c.client.submit.push(&msg).is_err() {
            if n > 0 {
                let _ = c.client.slots.give_run(first, n);
            }
            return Err(self.fail(E_INTERNAL_ERROR));
        }
        Ok(Pending { id: msg.id, first, slots: n })
    }

    /// Wakes the server for the requests pushed since the last call.
    pub fn notify(&mut self) {
        if let Ok(c) = self.conn() {
            c.client.submit.notify(&Futex);
        }
    }

    /// Waits for `p`'s completion (the next one: completions come in
    /// request order). The data run stays taken until [`Guard::release`].
    pub fn reap(&mut self, p: &Pending) -> Result<Msg, ErrorCode> {
        loop {
            let c = self.conn()?;
            match c.client.complete.pop() {
                Ok(Some(reply)) if reply.id == p.id => return Ok(reply),
                Ok(Some(_)) | Err(_) => return Err(self.fail(E_INTERNAL_ERROR)),
                Ok(None) => {}
            }
            if c.client.complete.wait(&Futex, sys::FOREVER).is_err() {
                return Err(self.fail(E_INTERNAL_ERROR));
            }
        }
    }

    /// Gives `p`'s data run back.
    pub fn release(&mut self, p: Pending) {
        if p.slots > 0 {
            if let Link::Up(c) = &mut *self.0 {
                let _ = c.client.slots.give_run(p.first, p.slots);
            }
        }
    }

    /// Copies `buf.len()` bytes of `p`'s data range out.
    pub fn read_data(&mut self, p: &Pending, buf: &mut [u8]) -> Result<(), ErrorCode> {
        if buf.is_empty() {
            return Ok(());
        }
        self.conn()?.client.region.read_slot(p.first_slot(), 0, buf).map_err(|_| E_INTERNAL_ERROR)
    }

    /// One request, waited for: its completion, or the status as an error.
    /// `out` receives the reply's data (at most `out.len()` bytes, from the
    /// request's range); returns the reply and how many bytes were copied.
    pub fn call(&mut self, msg: Msg, data: &[u8], out: &mut [u8]) -> Result<(Msg, usize), ErrorCode> {
        let p = self.push(msg, data, out.len())?;
        self.notify();
        let r = self.reap(&p).and_then(|reply| {
            reply.result().map_err(status_code)?;
            let n = (reply.len as usize).min(out.len());
            self.read_data(&p, &mut out[..n])?;
            Ok((reply, n))
        });
        self.release(p);
        r
    }
}

/// One request with no reply data: the reply, or the status as an error.
pub fn call(op: Op, args: [u64; 5], data: &[u8]) -> Result<Msg, ErrorCode> {
    let mut msg = Msg::new(0, op);
    msg.args = args;
    lock()?.call(msg, data, &mut []).map(|(m, _)| m)
}
