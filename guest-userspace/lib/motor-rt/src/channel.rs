//! The connection to the I/O server: one channel region per process, made
//! at the first call that needs it and shared by all threads, with many
//! requests in flight at once (fs calls, and socket calls that may wait in
//! the server for a long time).
//!
//! A request is submitted under the channel lock, held only for that. Its
//! completion is routed by id: whichever thread finds completions on the
//! ring files each in its owner's mailbox and wakes the owner (a futex on
//! the mailbox's sequence word). One waiting thread at a time, the reaper,
//! sleeps on the ring's own futex word; the others sleep on their
//! mailboxes. When the reaper's own reply has come it hands the role on by
//! waking another waiter. Nobody holds the lock while sleeping.
//!
//! Limits that keep the server's queues from overflowing: at most
//! `QUEUE_LEN` requests outstanding (submitted, completion not yet taken
//! off the ring) and the region's 64 data slots; a thread that holds
//! neither waits for them (a futex on [`Chan::freed`]), a thread that
//! already has requests of its own in flight does not (it would wait for
//! itself) and gets `NoRoom` instead.
//!
//! A process started without an I/O server (`init=` a program, or a
//! kernel without `ServiceConnect`) gets `E_NOT_CONNECTED` from every call.
//! A server that breaks the protocol ends the connection for the rest of
//! the process: that call gets `E_INTERNAL_ERROR`, later ones
//! `E_NOT_CONNECTED`. Waiting for a completion has no deadline here: a slow
//! request (a 64 MiB `sync_all`) is not a dead server, and socket timeouts
//! are the server's to enforce.
use crate::fs::pure::status_code;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use moto_rt::error::{ErrorCode, E_INTERNAL_ERROR, E_NOT_CONNECTED};
use vireo_io_channel::{Client, Msg, Op, Region, Word, QUEUE_LEN, REGION_SIZE, SLOT_COUNT, SLOT_SIZE};
use vireo_rt::sync::Mutex;
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

/// Where a request's completion is left for its owner.
struct Mailbox {
    /// Bumped (under the channel lock) when the reply is filed or the owner
    /// is asked to look again; the owner sleeps on it.
    seq: AtomicU32,
    reply: Mutex<Option<Msg>>,
    /// Its owner sleeps on `seq` (set under the channel lock): the one a
    /// leaving reaper may hand the ring to. A thread in the middle of a batch
    /// owns several mailboxes but sleeps on one.
    sleeping: AtomicBool,
    /// Nobody waits for this reply ([`post`]): whoever drains it drops it.
    detached: bool,
}

struct Conn {
    client: Client,
    next_id: u64,
    /// Requests submitted whose completion is not yet off the ring.
    outstanding: u32,
    /// Mailboxes of requests whose owner has not taken the reply yet.
    waiting: BTreeMap<u64, Arc<Mailbox>>,
    /// A thread sleeps on the completion ring's futex word.
    reaping: bool,
    /// Of `outstanding`, requests nobody waits for ([`post`]).
    detached: u32,
}

enum Link {
    Untried,
    /// No I/O server, or the connection broke.
    Down,
    Up(Conn),
}

struct Chan {
    link: Mutex<Link>,
    /// Bumped whenever slots or queue room are given back; threads waiting
    /// for room sleep on it.
    freed: AtomicU32,
    /// Threads sleeping on `freed` (no wake-up call when there are none).
    room_waiters: AtomicU32,
    /// The region (fixed once connected), for sleeping outside the lock.
    region: Mutex<Option<Region>>,
}

static CHAN: Chan = Chan {
    link: Mutex::new(Link::Untried),
    freed: AtomicU32::new(0),
    room_waiters: AtomicU32::new(0),
    region: Mutex::new(None),
};

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
        Ok(_) => {
            *CHAN.region.lock() = Some(region);
            Some(Conn { client, next_id: 1, outstanding: 0, waiting: BTreeMap::new(), reaping: false, detached: 0 })
        }
        Err(e) => {
            if !matches!(e, Error::NotFound | Error::NoSys) {
                vireo_rt::println!("motor-rt: cannot connect to the I/O server: {}", e.name());
            }
            // `client` (no Drop) is never used again, and nothing else refers to the region.
            // SAFETY: the mapping is ours and unused from here on.
            let _ = unsafe { sys::unmap(addr, REGION_SIZE as u64) };
            let _ = sys::close(shm);
            None
        }
    }
}

/// Runs `f` on the live connection (connecting at the first call).
fn with<R>(f: impl FnOnce(&mut Conn) -> Result<R, ErrorCode>) -> Result<R, ErrorCode> {
    let mut link = CHAN.link.lock();
    if matches!(*link, Link::Untried) {
        *link = connect().map_or(Link::Down, Link::Up);
    }
    match &mut *link {
        Link::Up(c) => {
            let r = f(c);
            if matches!(r, Err(E_INTERNAL_ERROR)) {
                fail(&mut link);
            }
            r
        }
        _ => Err(E_NOT_CONNECTED),
    }
}

/// Ends the connection after a protocol breach: every waiter is woken (and
/// finds the link down).
fn fail(link: &mut Link) {
    if let Link::Up(c) = core::mem::replace(link, Link::Down) {
        for m in c.waiting.values() {
            m.seq.fetch_add(1, Ordering::Release);
            let _ = sys::futex_wake(&m.seq, 1);
        }
    }
    bump_freed();
}

/// Room came back. SeqCst on both sides: either the waiter sees the new
/// `freed` (its futex_wait returns at once) or this sees the waiter.
fn bump_freed() {
    CHAN.freed.fetch_add(1, Ordering::SeqCst);
    if CHAN.room_waiters.load(Ordering::SeqCst) > 0 {
        let _ = sys::futex_wake(&CHAN.freed, u64::MAX);
    }
}

/// Data slots free now (a hint: other threads take and give them).
pub fn free_slots() -> usize {
    with(|c| Ok(SLOT_COUNT - c.client.slots.used() as usize)).unwrap_or(0)
}

/// Socket `id`'s readiness word (`vireo_io_channel::ready`): `Some(true)`
/// when a receive may complete now; otherwise sleeps on the word for at
/// most `timeout_ns` (or until the server marks it readable) and returns
/// `Some(false)`: look again. `None` when the socket has no word.
pub fn readable_or_wait(id: u64, timeout_ns: u64) -> Option<bool> {
    let region = (*CHAN.region.lock())?;
    let word = region.ready_word(id)?;
    match vireo_io_channel::ready::check(word) {
        Ok(()) => Some(true),
        Err(seen) => {
            // WouldBlock (it changed) and TimedOut both mean: look again.
            let _ = sys::futex_wait(word, seen, timeout_ns);
            Some(false)
        }
    }
}

/// Whether a server is connected (connecting if not tried yet).
pub fn connected() -> bool {
    with(|_| Ok(())).is_ok()
}

/// The connection, for a sequence of requests. It holds no lock: each
/// method locks the channel briefly.
pub struct Guard(());

/// Makes sure the connection is up (`E_NOT_CONNECTED` otherwise).
pub fn lock() -> Result<Guard, ErrorCode> {
    with(|_| Ok(()))?;
    Ok(Guard(()))
}

/// A request in flight: its id, mailbox and data run.
pub struct Pending {
    id: u64,
    mailbox: Arc<Mailbox>,
    first: u16,
    slots: usize,
}

impl Pending {
    /// The first slot of the request's data range.
    pub fn first_slot(&self) -> usize {
        self.first as usize
    }
    /// Bytes of the request's data range.
    pub fn room(&self) -> usize {
        self.slots * SLOT_SIZE
    }
}

/// How a push copes with a full channel.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Room {
    /// The caller has nothing in flight: wait for room (slots, queue).
    Wait,
    /// The caller has requests in flight: fail with [`NO_ROOM`] instead.
    NoWait,
    /// Like `Wait`, but a smaller data range (down to one slot) will do
    /// when the full one is not free (socket reads and writes).
    Shrink,
}

/// A push found no room and was told not to wait (an `ErrorCode` outside
/// moto-rt's range: callers turn it into "stop the batch here").
pub const NO_ROOM: ErrorCode = u16::MAX;

fn slots_for(bytes: usize) -> usize {
    bytes.div_ceil(SLOT_SIZE)
}

/// Takes `n` slots (or fewer with `shrink`, at least `min`); `None` if none fit.
/// A shrinking request takes at most a quarter of the free slots: a socket
/// read may wait in the server for a long time holding them, and the next
/// threads' reads must find some too (64 parked reads fit, the ring's limit).
fn take_slots(c: &mut Conn, n: usize, min: usize, shrink: bool) -> Option<(u16, usize)> {
    let mut want = n;
    if shrink {
        let free = SLOT_COUNT - c.client.slots.used() as usize;
        want = want.min((free / 4).max(min));
    }
    loop {
        if let Ok(first) = c.client.slots.take_run(want) {
            return Some((first, want));
        }
        if !shrink || want <= min {
            return None;
        }
        want = (want / 2).max(min);
    }
}

impl Guard {
    /// Queues `msg` with a data range of `room` bytes (at least
    /// `data.len()`) holding `data`; the caller notifies and reaps. With
    /// [`Room::Shrink`] the range may be smaller than `room` (but holds all
    /// of `data`, which must then fit one slot, or be empty): see
    /// [`Pending::room`].
    pub fn push(&mut self, msg: Msg, data: &[u8], room: usize, how: Room) -> Result<Pending, ErrorCode> {
        self.push_as(msg, data, room, how, false)
    }

    fn push_as(
        &mut self,
        mut msg: Msg,
        data: &[u8],
        room: usize,
        how: Room,
        detached: bool,
    ) -> Result<Pending, ErrorCode> {
        let room = room.max(data.len());
        let n = slots_for(room);
        let min = slots_for(data.len()).max(1);
        loop {
            let seen = CHAN.freed.load(Ordering::Acquire);
            let pushed = with(|c| {
                if c.outstanding >= QUEUE_LEN || (detached && c.detached >= MAX_DETACHED) {
                    return Ok(None);
                }
                let (first, got) = if n == 0 {
                    (vireo_io_channel::NO_SLOT, 0)
                } else {
                    match take_slots(c, n, min, how == Room::Shrink) {
                        Some(t) => t,
                        None => return Ok(None),
                    }
                };
                if got > 0 {
                    if c.client.region.write_slot(first as usize, 0, data).is_err() {
                        let _ = c.client.slots.give_run(first, got);
                        return Err(E_INTERNAL_ERROR);
                    }
                    (msg.slot, msg.offset, msg.len) = (first, 0, (got * SLOT_SIZE).min(room) as u32);
                }
                msg.id = c.next_id;
                c.next_id += 1;
                if c.client.submit.push(&msg).is_err() {
                    return Err(E_INTERNAL_ERROR);
                }
                c.outstanding += 1;
                c.detached += u32::from(detached);
                let mailbox = Arc::new(Mailbox {
                    seq: AtomicU32::new(0),
                    reply: Mutex::new(None),
                    sleeping: AtomicBool::new(false),
                    detached,
                });
                c.waiting.insert(msg.id, mailbox.clone());
                Ok(Some(Pending { id: msg.id, mailbox, first, slots: got }))
            })?;
            match pushed {
                Some(p) => return Ok(p),
                None if how == Room::NoWait => return Err(NO_ROOM),
                None => {
                    // Requests already queued must reach the server for room to come back.
                    self.notify();
                    CHAN.room_waiters.fetch_add(1, Ordering::SeqCst);
                    let _ = sys::futex_wait(&CHAN.freed, seen, sys::FOREVER);
                    CHAN.room_waiters.fetch_sub(1, Ordering::SeqCst);
                }
            }
        }
    }

    /// Wakes the server for the requests pushed since the last call.
    pub fn notify(&mut self) {
        let _ = with(|c| {
            c.client.submit.notify(&Futex);
            Ok(())
        });
    }

    /// Waits for `p`'s completion. The data run stays taken until
    /// [`Guard::release`].
    pub fn reap(&mut self, p: &Pending) -> Result<Msg, ErrorCode> {
        loop {
            let seq = p.mailbox.seq.load(Ordering::Acquire);
            if let Some(reply) = p.mailbox.reply.lock().take() {
                return Ok(reply);
            }
            // Drain the ring; become the reaper if nobody is.
            let reaper = with(|c| {
                drain(c)?;
                if p.mailbox.reply.lock().is_some() {
                    return Ok(None);
                }
                if c.reaping {
                    p.mailbox.sleeping.store(true, Ordering::Relaxed);
                    return Ok(Some(false));
                }
                match c.client.complete.arm() {
                    Ok(true) => {
                        c.reaping = true;
                        Ok(Some(true))
                    }
                    // Something arrived meanwhile: go round again.
                    Ok(false) => Ok(None),
                    Err(_) => Err(E_INTERNAL_ERROR),
                }
            })?;
            match reaper {
                None => {}
                Some(true) => {
                    let region = (*CHAN.region.lock()).ok_or(E_NOT_CONNECTED)?;
                    let word = region.word(Word::CqSleep);
                    let _ = sys::futex_wait(word, vireo_io_channel::SLEEPING, sys::FOREVER);
                    with(|c| {
                        c.client.complete.disarm();
                        c.reaping = false;
                        drain(c)?;
                        // Someone else may need to take over the ring now.
                        let next = c.waiting.iter().find(|(&id, m)| {
                            id != p.id && m.sleeping.load(Ordering::Relaxed) && m.reply.lock().is_none()
                        });
                        if let Some(m) = next {
                            m.1.seq.fetch_add(1, Ordering::Release);
                            let _ = sys::futex_wake(&m.1.seq, 1);
                        }
                        Ok(())
                    })?;
                }
                Some(false) => {
                    let _ = sys::futex_wait(&p.mailbox.seq, seq, sys::FOREVER);
                    p.mailbox.sleeping.store(false, Ordering::Relaxed);
                }
            }
        }
    }

    /// Gives `p`'s data run back.
    pub fn release(&mut self, p: Pending) {
        let _ = with(|c| {
            c.waiting.remove(&p.id);
            if p.slots > 0 {
                let _ = c.client.slots.give_run(p.first, p.slots);
            }
            Ok(())
        });
        if p.slots > 0 {
            bump_freed();
        }
    }

    /// Copies `buf.len()` bytes of `p`'s data range out.
    pub fn read_data(&mut self, p: &Pending, buf: &mut [u8]) -> Result<(), ErrorCode> {
        if buf.is_empty() {
            return Ok(());
        }
        if buf.len() > p.room() {
            return Err(E_INTERNAL_ERROR);
        }
        let region = (*CHAN.region.lock()).ok_or(E_NOT_CONNECTED)?;
        region.read_slot(p.first_slot(), 0, buf).map_err(|_| E_INTERNAL_ERROR)
    }

    /// One request, waited for: its completion, or the status as an error.
    /// `out` receives the reply's data (at most `out.len()` bytes, from the
    /// request's range); returns the reply and how many bytes were copied.
    pub fn call(&mut self, msg: Msg, data: &[u8], out: &mut [u8]) -> Result<(Msg, usize), ErrorCode> {
        let p = self.push(msg, data, out.len(), Room::Wait)?;
        self.finish(p, out)
    }

    /// Notifies, waits for `p` and copies its reply data into `out`
    /// (at most its range).
    pub fn finish(&mut self, p: Pending, out: &mut [u8]) -> Result<(Msg, usize), ErrorCode> {
        self.notify();
        let r = self.reap(&p).and_then(|reply| {
            reply.result().map_err(status_code)?;
            let n = (reply.len as usize).min(out.len()).min(p.room());
            self.read_data(&p, &mut out[..n])?;
            Ok((reply, n))
        });
        self.release(p);
        r
    }
}

/// Takes every completion off the ring and files it for its owner.
fn drain(c: &mut Conn) -> Result<(), ErrorCode> {
    let mut freed = false;
    loop {
        match c.client.complete.pop() {
            Ok(Some(reply)) => {
                let Some(m) = c.waiting.get(&reply.id) else { return Err(E_INTERNAL_ERROR) };
                if m.detached {
                    c.waiting.remove(&reply.id);
                    c.outstanding = c.outstanding.saturating_sub(1);
                    c.detached = c.detached.saturating_sub(1);
                    freed = true;
                    continue;
                }
                let mut slot = m.reply.lock();
                if slot.is_some() {
                    return Err(E_INTERNAL_ERROR);
                }
                *slot = Some(reply);
                drop(slot);
                c.outstanding = c.outstanding.saturating_sub(1);
                freed = true;
                m.seq.fetch_add(1, Ordering::Release);
                // An owner not marked sleeping (marked under this lock) read
                // `seq` before this bump and will not sleep on the old value.
                if m.sleeping.load(Ordering::Relaxed) {
                    let _ = sys::futex_wake(&m.seq, 1);
                }
            }
            Ok(None) => break,
            Err(_) => return Err(E_INTERNAL_ERROR),
        }
    }
    if freed {
        bump_freed();
        // The reaper sleeps on the ring's word, not on its mailbox: its
        // reply may just have been filed by this thread. The word goes back
        // to AWAKE first, so a reaper between arming it and sleeping does
        // not sleep (a wake alone would be lost then).
        if c.reaping {
            c.client.complete.disarm();
            let _ = sys::futex_wake(c.client.region.word(Word::CqSleep), 1);
        }
    }
    Ok(())
}

/// One request with no reply data: the reply, or the status as an error.
pub fn call(op: Op, args: [u64; 5], data: &[u8]) -> Result<Msg, ErrorCode> {
    let mut msg = Msg::new(0, op);
    msg.args = args;
    lock()?.call(msg, data, &mut []).map(|(m, _)| m)
}

/// Detached requests in flight at most: the rest of the queue always has
/// owners that reap, and their reaping drains these too, so a thread
/// waiting for room is never left with only replies nobody takes.
const MAX_DETACHED: u32 = QUEUE_LEN / 2;

/// One request whose reply nobody waits for (its status is dropped): a
/// socket's close, which a program cannot act on anyway. The server takes
/// requests in order, so what the program asks next sees it done. Saves
/// the wait for the reply, two context switches, on every connection a
/// server closes. Falls back to [`call`] when detached requests fill their
/// share of the queue.
pub fn post(op: Op, args: [u64; 5]) {
    let mut msg = Msg::new(0, op);
    msg.args = args;
    let Ok(mut g) = lock() else { return };
    match g.push_as(msg, &[], 0, Room::NoWait, true) {
        Ok(_) => g.notify(),
        Err(_) => {
            let _ = g.call(msg, &[], &mut []);
        }
    }
}

/// One request with flags, no reply data.
pub fn call_flags(op: Op, flags: u16, args: [u64; 5], data: &[u8]) -> Result<Msg, ErrorCode> {
    let mut msg = Msg::new(0, op);
    msg.args = args;
    msg.flags = flags;
    lock()?.call(msg, data, &mut []).map(|(m, _)| m)
}
