//! The socket layer (docs/network.md, "The server's socket layer"): the
//! socket and poll requests of the I/O channel (`Op::NetBind` and up), run
//! on the net thread against the [`NetStack`].
//!
//! A connection thread hands each such request to the net thread
//! ([`submit`]); there it runs at once, and either completes or, when it
//! cannot yet (accept with nothing pending, read with no data, connect in
//! progress, write with a full send buffer, poll with nothing due), is
//! parked with the connection's reply end and its deadline. After every
//! poll of the stack the thread retries the parked requests ([`Layer`]'s
//! `service`); a timeout ends one with `TimedOut`. Whichever thread
//! completes a request pushes the reply onto that connection's completion
//! ring under [`ConnShared`]'s lock, shared by the connection thread (fs
//! replies) and the net thread. A parked request keeps its data slots
//! (the client does not reuse them until the reply), so the runtime does
//! not park blocking reads: it sleeps on the socket's readiness word
//! (`ready.rs`) and reads when the server marks it readable.
//!
//! Sockets are per connection: a client's socket id indexes its own table,
//! which holds the smoltcp handles; a handle never comes from a client, and
//! a table entry goes when its socket is removed from the set, so a stale
//! or invented id is `BadHandle`, never another socket (smoltcp's `get_mut`
//! panics on a handle it does not have).
mod backlog;
mod bufs;
pub use backlog::REFILL_EVERY;
mod poll;
mod ready;
mod tcp;
mod udp;

use super::stack::NetStack;
use super::NetHandle;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::net::Ipv4Addr;
use core::sync::atomic::{AtomicU64, Ordering};
use smoltcp::iface::SocketHandle;
use smoltcp::wire::{IpAddress, IpEndpoint};
use vireo_io_channel::{net, Error, Msg, Op, Producer, Region, Status};
use vireo_rt::sync::Mutex;

/// Sockets per connection.
pub const MAX_SOCKETS: usize = 1024;
/// Poll registries per connection.
const MAX_REGISTRIES: usize = 64;
/// The most one request moves (its data range may be larger).
const MAX_IO: usize = 64 * 1024;
/// How long a connect or send waits for the interface to get an address
/// (DHCP at boot) before `NetworkUnreachable`.
const NO_ADDRESS_NS: u64 = 10_000_000_000;

/// One client connection's reply end, shared by its connection thread and
/// the net thread.
pub struct ConnShared {
    pub id: u64,
    pub region: Region,
    replies: Mutex<Replies>,
}

struct Replies {
    producer: Producer,
    /// The connection ended: its region is about to be unmapped.
    dead: bool,
}

static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

impl ConnShared {
    pub fn new(region: Region, producer: Producer) -> Arc<Self> {
        let id = NEXT_CONN.fetch_add(1, Ordering::Relaxed);
        Arc::new(Self { id, region, replies: Mutex::new(Replies { producer, dead: false }) })
    }

    /// Pushes `reply` and wakes the client. `Full` only for a client that
    /// has more requests outstanding than the queue holds (its own fault).
    pub fn complete(&self, reply: &Msg) -> Result<(), Error> {
        let mut r = self.replies.lock();
        if r.dead {
            return Ok(());
        }
        r.producer.push(reply)?;
        r.producer.notify(&crate::futex::Futex);
        Ok(())
    }

    /// Room on the completion ring (the connection thread checks before
    /// taking an fs request).
    pub fn free(&self) -> Result<u32, Error> {
        self.replies.lock().producer.free()
    }

    /// No reply may touch the region any more.
    pub fn kill(&self) {
        self.replies.lock().dead = true;
    }
}

/// Whether `op` runs on the connection thread when the stack is free:
/// requests that send nothing (or say so in `Layer::poll_soon`, and then
/// the net thread polls). An accept and a server's `set_nodelay` ran on the
/// net thread, a wake-pipe byte and two context switches each, for every
/// connection. Sends, shutdowns and closes stay with the net thread, whose
/// one poll serves every command queued since the last (a poll per send on
/// the connection threads doubled the cost at 32 connections).
fn quick(op: u16) -> bool {
    [Op::NetRecv, Op::NetAccept, Op::NetSetOpt, Op::NetGetOpt, Op::NetAddr].iter().any(|&o| o as u16 == op)
}

/// Hands a socket request to the net thread (`NetworkUnreachable` at once
/// when there is no network), or runs it here when it is [`quick`] and the
/// stack is free (`NetHandle::run_quick`).
pub fn submit(handle: Option<&NetHandle>, conn: &Arc<ConnShared>, req: Msg) {
    match handle {
        Some(h) => {
            let mut unrun = Unrun { conn: conn.clone(), req, ran: false };
            let mut run = move |stack: &mut NetStack| {
                unrun.ran = true;
                request(stack, &unrun.conn, unrun.req);
                core::mem::take(&mut stack.layer.poll_soon)
            };
            if quick(req.op) {
                h.run_quick(run);
            } else {
                h.submit(Box::new(move |stack| {
                    run(stack);
                }));
            }
        }
        None => {
            let _ = conn.complete(&error(&req, Status::NetworkUnreachable));
        }
    }
}

/// Travels with a submitted request: if the net thread is gone and the
/// command is dropped unrun, the client still gets an answer.
struct Unrun {
    conn: Arc<ConnShared>,
    req: Msg,
    ran: bool,
}

impl Drop for Unrun {
    fn drop(&mut self) {
        if !self.ran {
            let _ = self.conn.complete(&error(&self.req, Status::NetworkUnreachable));
        }
    }
}

/// The net thread's side of [`submit`].
fn request(stack: &mut NetStack, conn: &Arc<ConnShared>, req: Msg) {
    stack.run_request(conn, req, vireo_rt::sys::now_ns());
}

/// At the end of a connection (the net thread has run every request it
/// submitted before): closes its sockets and forgets its parked requests.
pub fn forget(handle: &NetHandle, conn: u64) {
    let _ = handle.call(move |stack| stack.layer_forget(conn));
}

/// A completion with `status` and nothing else.
fn error(req: &Msg, status: Status) -> Msg {
    Msg { status: status as u16, len: 0, args: [0; 5], ..*req }
}

/// What running a request came to.
enum Step {
    Done(Msg),
    Fail(Status),
    /// Cannot complete now: park (or `WouldBlock` for a nonblocking one).
    Wait,
}

/// One socket of a connection.
enum Sock {
    Tcp(tcp::Tcp),
    Listener(tcp::Listener),
    Udp(udp::Udp),
}

#[derive(Default)]
struct ConnNet {
    /// The connection's region (readiness words), known from its first request.
    region: Option<Region>,
    socks: Vec<Option<Sock>>,
    polls: Vec<Option<poll::Registry>>,
}

impl ConnNet {
    fn insert(&mut self, s: Sock) -> Result<u64, Status> {
        let i = match self.socks.iter().position(Option::is_none) {
            Some(i) => i,
            None if self.socks.len() < MAX_SOCKETS => {
                self.socks.try_reserve(1).map_err(|_| Status::TooManyOpen)?;
                self.socks.push(None);
                self.socks.len() - 1
            }
            None => return Err(Status::TooManyOpen),
        };
        self.socks[i] = Some(s);
        Ok(i as u64 + 1)
    }

    /// Whether another socket fits.
    fn has_room(&self) -> bool {
        self.socks.len() < MAX_SOCKETS || self.socks.iter().any(Option::is_none)
    }

    fn get(&mut self, id: u64) -> Result<&mut Sock, Status> {
        let i = id.checked_sub(1).ok_or(Status::BadHandle)? as usize;
        self.socks.get_mut(i).and_then(Option::as_mut).ok_or(Status::BadHandle)
    }

    fn remove(&mut self, id: u64) -> Result<Sock, Status> {
        let i = id.checked_sub(1).ok_or(Status::BadHandle)? as usize;
        self.socks.get_mut(i).and_then(Option::take).ok_or(Status::BadHandle)
    }
}

/// A request that could not complete yet.
struct Parked {
    conn: Arc<ConnShared>,
    req: Msg,
    deadline: u64,
    /// When it was first run (the no-address wait counts from here).
    since: u64,
    /// A connect's socket, once made.
    sock: Option<u64>,
}

/// The socket layer's state, part of the [`NetStack`].
#[derive(Default)]
pub struct Layer {
    conns: BTreeMap<u64, ConnNet>,
    parked: Vec<Parked>,
    /// TCP sockets their owner closed, sending what they hold; removed once
    /// closed (or timed out), with their buffer bytes.
    closing: Vec<(SocketHandle, usize)>,
    /// UDP sockets their owner closed with datagrams still queued: handle,
    /// port, when to give up (`udp.rs`).
    udp_closing: Vec<(SocketHandle, u16, u64)>,
    /// (protocol, port) → sockets using it.
    ports: BTreeMap<(u64, u16), u32>,
    next_port: u16,
    /// Socket buffer bytes allocated (see `tcp::buffer_sizes`).
    buffer_bytes: usize,
    /// Removed TCP sockets' buffers, for the next ones (`bufs.rs`).
    bufs: bufs::Bufs,
    staging: Vec<u8>,
    /// Sockets whose readiness may have changed (`ready.rs`).
    dirty: ready::Dirty,
    /// A request run off the net thread left something to send (a window
    /// update after a receive emptied a full buffer): the net thread polls.
    poll_soon: bool,
}

/// The first port handed out for connect and bind(port 0) (IANA's dynamic range).
const EPHEMERAL: u16 = 49152;

impl Layer {
    fn port_take(&mut self, proto: u64, port: u16) -> Result<u16, Status> {
        let port = if port == 0 { self.port_pick(proto)? } else { port };
        if self.ports.contains_key(&(proto, port)) {
            return Err(Status::AddrInUse);
        }
        self.ports.insert((proto, port), 1);
        Ok(port)
    }

    fn port_pick(&mut self, proto: u64) -> Result<u16, Status> {
        let span = u16::MAX - EPHEMERAL + 1;
        for _ in 0..span {
            let p = EPHEMERAL + self.next_port % span;
            self.next_port = self.next_port.wrapping_add(1);
            if !self.ports.contains_key(&(proto, p)) {
                return Ok(p);
            }
        }
        Err(Status::AddrInUse)
    }

    fn port_release(&mut self, proto: u64, port: u16) {
        if let Some(n) = self.ports.get_mut(&(proto, port)) {
            *n -= 1;
            if *n == 0 {
                self.ports.remove(&(proto, port));
            }
        }
    }
}

fn ip_of(a: u64) -> Result<Ipv4Addr, Status> {
    u32::try_from(a).map(Ipv4Addr::from).map_err(|_| Status::InvalidArgument)
}

fn port_of(p: u64) -> Result<u16, Status> {
    u16::try_from(p).map_err(|_| Status::InvalidArgument)
}

/// An endpoint as (address, port) reply words (IPv4 only is configured).
fn endpoint_words(e: IpEndpoint) -> (u64, u64) {
    let IpAddress::Ipv4(a) = e.addr;
    (u64::from(u32::from(a)), u64::from(e.port))
}

/// The request's timeout argument, if it has one.
fn timeout_of(req: &Msg) -> u64 {
    match Op::try_from(req.op) {
        Ok(Op::NetAccept | Op::NetRecv | Op::NetSend | Op::PollWait) => req.args[1],
        Ok(Op::NetConnect) => req.args[2],
        _ => net::FOREVER,
    }
}

impl NetStack {
    /// Runs `req` for `conn`; parks it if it has to wait.
    fn run_request(&mut self, conn: &Arc<ConnShared>, req: Msg, now: u64) {
        let mut p =
            Parked { conn: conn.clone(), req, deadline: now.saturating_add(timeout_of(&req)), since: now, sock: None };
        match self.step(&mut p, now) {
            Step::Done(reply) => {
                let _ = conn.complete(&reply);
            }
            Step::Fail(s) => {
                let _ = conn.complete(&error(&req, s));
            }
            Step::Wait if req.flags & net::NONBLOCK != 0 => {
                let _ = conn.complete(&error(&req, Status::WouldBlock));
            }
            Step::Wait => self.layer.parked.push(p),
        }
    }

    /// One try at a request.
    fn step(&mut self, p: &mut Parked, now: u64) -> Step {
        let op = match Op::try_from(p.req.op) {
            Ok(op) if op.is_net() => op,
            _ => return Step::Fail(Status::UnknownOp),
        };
        let Ok(data) = p.req.data() else { return Step::Fail(Status::BadData) };
        let conn = p.conn.id;
        self.layer.conns.entry(conn).or_default().region.get_or_insert(p.conn.region);
        let r = match op {
            Op::NetBind => self.bind(conn, &p.req),
            Op::NetListen => self.listen(conn, &p.req),
            Op::NetAccept => self.accept(conn, &p.req),
            Op::NetConnect => self.connect(conn, p, now),
            Op::NetRecv => match data {
                Some(d) => self.recv(conn, &p.conn.region, &p.req, d),
                None => Err(Status::BadData),
            },
            Op::NetSend => match data {
                Some(d) => self.send(conn, &p.conn.region, &p.req, d, now.saturating_sub(p.since)),
                None => Err(Status::BadData),
            },
            Op::NetClose => self.close(conn, p.req.args[0]).map(|()| Step::Done(ok(&p.req))),
            Op::NetShutdown => self.shutdown(conn, &p.req),
            Op::NetSetOpt => self.setopt(conn, &p.req),
            Op::NetGetOpt => self.getopt(conn, &p.req),
            Op::NetAddr => self.addr(conn, &p.req),
            Op::NetUdpConnect => self.udp_connect(conn, &p.req),
            Op::PollNew | Op::PollCtl | Op::PollWake | Op::PollClose => self.poll_ctl(conn, op, &p.req),
            Op::PollWait => match data {
                Some(d) => self.poll_wait(conn, &p.conn.region, &p.req, d),
                None => Err(Status::BadData),
            },
            _ => Err(Status::UnknownOp),
        };
        let step = r.unwrap_or_else(Step::Fail);
        self.ready_after(conn, op, p.req.args[0], &step);
        step
    }

    /// Retries the parked requests after a poll; ends those past their
    /// deadline; lets go of closed sockets. True if a request completed
    /// (the stack then has something to send: poll again).
    pub fn layer_service(&mut self, now: u64) -> bool {
        self.ready_drain();
        let mut done = false;
        let parked = core::mem::take(&mut self.layer.parked);
        for mut p in parked {
            if !self.layer.conns.contains_key(&p.conn.id) {
                continue;
            }
            match self.step(&mut p, now) {
                Step::Done(reply) => {
                    let _ = p.conn.complete(&reply);
                    done = true;
                }
                Step::Fail(s) => {
                    let _ = p.conn.complete(&error(&p.req, s));
                    done = true;
                }
                Step::Wait if now >= p.deadline => {
                    self.expire(&p);
                    // A poll that times out has simply seen no events.
                    let reply =
                        if p.req.op == Op::PollWait as u16 { ok(&p.req) } else { error(&p.req, Status::TimedOut) };
                    let _ = p.conn.complete(&reply);
                    done = true;
                }
                Step::Wait => self.layer.parked.push(p),
            }
        }
        self.reap_closing();
        self.reap_udp_closing(now);
        done
    }

    /// The earliest deadline of a parked request or a closing UDP socket.
    pub fn layer_deadline(&self) -> Option<u64> {
        let parked = self.layer.parked.iter().map(|p| p.deadline);
        parked.chain(self.layer.udp_closing.iter().map(|&(_, _, d)| d)).min()
    }

    /// A connection ended: its sockets are closed, its parked requests dropped.
    pub fn layer_forget(&mut self, conn: u64) {
        self.layer.parked.retain(|p| p.conn.id != conn);
        let Some(c) = self.layer.conns.remove(&conn) else { return };
        for s in c.socks.into_iter().flatten() {
            self.drop_sock(s);
        }
    }

    fn close(&mut self, conn: u64, id: u64) -> Result<(), Status> {
        let c = self.layer.conns.get_mut(&conn).ok_or(Status::BadHandle)?;
        let s = c.remove(id)?;
        for r in c.polls.iter_mut().flatten() {
            r.forget(id);
        }
        self.drop_sock(s);
        Ok(())
    }

    fn drop_sock(&mut self, s: Sock) {
        match s {
            Sock::Tcp(t) => self.tcp_drop(t),
            Sock::Listener(l) => self.listener_drop(l),
            Sock::Udp(u) => self.udp_drop(u),
        }
    }

    /// A connect that timed out takes its socket with it.
    fn expire(&mut self, p: &Parked) {
        if let Some(id) = p.sock {
            let _ = self.close(p.conn.id, id);
        }
    }

    /// The interface's address, if it has one yet.
    fn address(&self) -> Option<Ipv4Addr> {
        self.config().cidr.map(|c| c.address())
    }
}

/// A success reply carrying nothing.
fn ok(req: &Msg) -> Msg {
    Msg { status: Status::Ok as u16, len: 0, args: [0; 5], ..*req }
}
