//! TCP: listeners with a backlog, connections, and the requests that
//! dispatch on the socket's kind (bind, recv, send, options, addresses).
//!
//! smoltcp has no accept queue: a listening socket becomes the connection.
//! A listener therefore keeps `backlog` sockets listening on its port and
//! replaces each one as it is accepted (or as it falls back to Closed after
//! a reset handshake).
use super::{endpoint_words, ip_of, ok, port_of, ConnNet, Parked, Sock, Step, MAX_IO, NO_ADDRESS_NS};
use crate::net::stack::{tune_tcp, NetStack};
use alloc::vec::Vec;
use core::net::Ipv4Addr;
use core::task::Waker;
use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp::{self, State};
use smoltcp::time::Duration;
use smoltcp::wire::{IpAddress, IpListenEndpoint};
use vireo_io_channel::{net, sockopt, Msg, Region, Status};

/// Receive and transmit buffer of a TCP socket while memory allows:
/// 64 KiB each way (a window that keeps a LAN path busy).
pub const TCP_BUF: usize = 64 * 1024;
/// Each way once [`BUDGET`] is used up (a connection still works, slower).
pub const TCP_BUF_SMALL: usize = 8 * 1024;
/// Socket buffer memory the server hands out at full size: 32 MiB, 256
/// TCP sockets at 128 KiB.
pub const BUDGET: usize = 32 * 1024 * 1024;
/// Listening sockets per listener when the program does not say (std's
/// `TcpListener::bind` never calls `listen`). smoltcp answers a SYN that no
/// listening socket takes with a reset, so this is the burst of connection
/// attempts a server survives: 128 like Linux's std (SOMAXCONN), which 200
/// clients connecting at once to httpd needed (16 reset a third of them).
pub const DEFAULT_BACKLOG: usize = 128;
pub const MAX_BACKLOG: usize = 128;
/// How long a closed connection may take to deliver what it holds.
const CLOSE_TIMEOUT_S: u64 = 60;

pub struct Tcp {
    pub h: SocketHandle,
    /// Buffer bytes (both ways), returned to the budget at removal.
    bytes: usize,
    /// The ephemeral port a connect took (released at close).
    port: Option<u16>,
    rd_shut: bool,
    wr_shut: bool,
    linger: u64,
    /// Files the socket for a readiness update (`ready.rs`; set with its id).
    pub waker: Waker,
}

impl Tcp {
    fn new(h: SocketHandle, bytes: usize, port: Option<u16>) -> Self {
        Self { h, bytes, port, rd_shut: false, wr_shut: false, linger: u64::MAX, waker: Waker::noop().clone() }
    }
}

pub struct Listener {
    pub(super) port: u16,
    pub(super) addr: Option<Ipv4Addr>,
    pub(super) backlog: usize,
    /// Listening (or just connected, not yet accepted) sockets.
    pub(super) pending: Vec<(SocketHandle, usize)>,
    /// Files the listener for a refill (`backlog.rs`; set with its id).
    pub(super) waker: Waker,
    /// A pending socket may be connected: an accept looks. Set by the
    /// refill (which runs whenever a pending socket changes state), so a
    /// parked accept is not a scan of every pending socket at each poll.
    pub(super) ready: bool,
}

/// A connected-or-closing state: data may have been exchanged.
pub(super) fn synchronized(s: State) -> bool {
    !matches!(s, State::Closed | State::Listen | State::SynSent | State::SynReceived)
}

impl NetStack {
    /// A new TCP socket, tuned, with buffers from the budget.
    fn new_tcp(&mut self) -> (tcp::Socket<'static>, usize) {
        let each = if self.layer.buffer_bytes + 2 * TCP_BUF <= BUDGET { TCP_BUF } else { TCP_BUF_SMALL };
        self.layer.buffer_bytes += 2 * each;
        let (rx, tx) = (self.layer.bufs.take(each), self.layer.bufs.take(each));
        let mut s = tcp::Socket::new(tcp::SocketBuffer::new(rx), tcp::SocketBuffer::new(tx));
        tune_tcp(&mut s);
        (s, 2 * each)
    }

    fn remove_tcp(&mut self, h: SocketHandle, bytes: usize) {
        if let smoltcp::socket::Socket::Tcp(s) = self.sockets.remove(h) {
            self.layer.bufs.give_socket(s);
        }
        self.layer.buffer_bytes = self.layer.buffer_bytes.saturating_sub(bytes);
    }

    fn conn(&mut self, conn: u64) -> Result<&mut ConnNet, Status> {
        self.layer.conns.get_mut(&conn).ok_or(Status::BadHandle)
    }

    /// A listening socket on the listener's endpoint.
    pub(super) fn listening(&mut self, port: u16, addr: Option<Ipv4Addr>) -> Result<(SocketHandle, usize), Status> {
        let (mut s, bytes) = self.new_tcp();
        super::backlog::half_open_timeout(&mut s);
        let ep = IpListenEndpoint { addr: addr.map(IpAddress::Ipv4), port };
        if s.listen(ep).is_err() {
            self.layer.buffer_bytes = self.layer.buffer_bytes.saturating_sub(bytes);
            return Err(Status::InvalidArgument);
        }
        Ok((self.sockets.add(s), bytes))
    }

    pub(super) fn bind(&mut self, conn: u64, req: &Msg) -> Result<Step, Status> {
        let ip = ip_of(req.args[1])?;
        let port = port_of(req.args[2])?;
        let addr = if ip.is_unspecified() {
            None
        } else if Some(ip) == self.address() {
            Some(ip)
        } else {
            return Err(Status::AddrNotAvailable);
        };
        let (id, port) = match req.args[0] {
            net::TCP => {
                if !self.conn(conn)?.has_room() {
                    return Err(Status::TooManyOpen);
                }
                let port = self.layer.port_take(net::TCP, port)?;
                let backlog = match req.args[3] {
                    0 => DEFAULT_BACKLOG,
                    n => (n as usize).min(MAX_BACKLOG),
                };
                let mut l = Listener {
                    port,
                    addr,
                    backlog: 0,
                    pending: Vec::new(),
                    waker: Waker::noop().clone(),
                    ready: false,
                };
                if let Err(e) = self.grow(&mut l, backlog) {
                    self.listener_drop(l);
                    return Err(e);
                }
                (self.conn(conn)?.insert(Sock::Listener(l))?, port)
            }
            net::UDP => self.udp_bind(conn, addr, port)?,
            _ => return Err(Status::InvalidArgument),
        };
        let mut r = ok(req);
        r.args[..3].copy_from_slice(&[id, u64::from(addr.map_or(0, u32::from)), u64::from(port)]);
        Ok(Step::Done(r))
    }

    /// Sets the backlog to `to` and opens its first Listen sockets (the
    /// refill keeps them coming, `backlog.rs`).
    fn grow(&mut self, l: &mut Listener, to: usize) -> Result<(), Status> {
        l.backlog = to;
        while l.pending.len() < super::backlog::listen_ready(to) {
            let s = self.listening(l.port, l.addr)?;
            l.pending.push(s);
        }
        Ok(())
    }

    pub(super) fn listen(&mut self, conn: u64, req: &Msg) -> Result<Step, Status> {
        let to = (req.args[1] as usize).clamp(1, MAX_BACKLOG);
        let Sock::Listener(mut l) = self.conn(conn)?.remove(req.args[0])? else {
            return Err(Status::InvalidArgument);
        };
        // Shrinking drops idle listening sockets only.
        while l.pending.len() > super::backlog::listen_ready(to) {
            match l.pending.iter().position(|&(h, _)| self.sockets.get::<tcp::Socket>(h).state() == State::Listen) {
                Some(i) => {
                    let (h, b) = l.pending.swap_remove(i);
                    self.remove_tcp(h, b);
                }
                None => break,
            }
        }
        let r = self.grow(&mut l, to);
        let slot = self.conn(conn)?.socks.get_mut(req.args[0] as usize - 1);
        if let Some(slot) = slot {
            *slot = Some(Sock::Listener(l));
        }
        r.map(|()| Step::Done(ok(req)))
    }

    pub(super) fn accept(&mut self, conn: u64, req: &Msg) -> Result<Step, Status> {
        let c = self.layer.conns.get_mut(&conn).ok_or(Status::BadHandle)?;
        let Sock::Listener(l) = c.get(req.args[0])? else { return Err(Status::InvalidArgument) };
        if !l.ready {
            return Ok(Step::Wait);
        }
        let sockets = &self.sockets;
        let Some(i) = l.pending.iter().position(|&(h, _)| synchronized(sockets.get::<tcp::Socket>(h).state())) else {
            l.ready = false;
            return Ok(Step::Wait);
        };
        let (h, bytes) = l.pending.swap_remove(i);
        self.sockets.get_mut::<tcp::Socket>(h).set_timeout(None);
        let peer = self.sockets.get::<tcp::Socket>(h).remote_endpoint();
        let id = self.conn(conn)?.insert(Sock::Tcp(Tcp::new(h, bytes, None)));
        let id = match id {
            Ok(id) => id,
            Err(e) => {
                self.sockets.get_mut::<tcp::Socket>(h).abort();
                self.layer.closing.push((h, bytes));
                // The reset goes out at the next poll (this may run off the net thread).
                self.layer.poll_soon = true;
                return Err(e);
            }
        };
        // The listener is refilled after this request (`ready_after`).
        let mut r = ok(req);
        let (pa, pp) = peer.map(endpoint_words).unwrap_or((0, 0));
        r.args[..3].copy_from_slice(&[id, pa, pp]);
        Ok(Step::Done(r))
    }

    pub(super) fn connect(&mut self, conn: u64, p: &mut Parked, now: u64) -> Result<Step, Status> {
        let req = p.req;
        if let Some(id) = p.sock {
            let Sock::Tcp(t) = self.conn(conn)?.get(id)? else { return Err(Status::BadHandle) };
            let h = t.h;
            let s = self.sockets.get::<tcp::Socket>(h);
            return match s.state() {
                State::SynSent | State::SynReceived => Ok(Step::Wait),
                State::Closed => {
                    p.sock = None;
                    self.close(conn, id)?;
                    Err(Status::ConnectionRefused)
                }
                _ => Ok(Step::Done(connected(&req, id, s))),
            };
        }
        let (ip, port) = (ip_of(req.args[0])?, port_of(req.args[1])?);
        if ip.is_unspecified() || port == 0 {
            return Err(Status::InvalidArgument);
        }
        if self.address().is_none() {
            return if now.saturating_sub(p.since) >= NO_ADDRESS_NS {
                Err(Status::NetworkUnreachable)
            } else {
                Ok(Step::Wait)
            };
        }
        let local = self.layer.port_take(net::TCP, 0)?;
        let (mut s, bytes) = self.new_tcp();
        if s.connect(self.iface.context(), (IpAddress::Ipv4(ip), port), local).is_err() {
            self.layer.port_release(net::TCP, local);
            self.layer.buffer_bytes = self.layer.buffer_bytes.saturating_sub(bytes);
            return Err(Status::NetworkUnreachable);
        }
        let h = self.sockets.add(s);
        let t = Tcp::new(h, bytes, Some(local));
        let id = match self.conn(conn)?.insert(Sock::Tcp(t)) {
            Ok(id) => id,
            Err(e) => {
                self.layer.port_release(net::TCP, local);
                self.remove_tcp(h, bytes);
                return Err(e);
            }
        };
        p.sock = Some(id);
        if req.flags & net::NONBLOCK != 0 {
            let s = self.sockets.get::<tcp::Socket>(h);
            return Ok(Step::Done(connected(&req, id, s)));
        }
        Ok(Step::Wait)
    }

    pub(super) fn recv(
        &mut self,
        conn: u64,
        region: &Region,
        req: &Msg,
        d: (usize, usize, usize),
    ) -> Result<Step, Status> {
        let id = req.args[0];
        let (h, rd_shut, wr_shut) = match self.conn(conn)?.get(id)? {
            Sock::Tcp(t) => (t.h, t.rd_shut, t.wr_shut),
            Sock::Udp(_) => return self.udp_recv(conn, region, req, d),
            Sock::Listener(_) => return Err(Status::NotConnected),
        };
        self.poll_touch(conn, id);
        let mut r = ok(req);
        if rd_shut {
            return Ok(Step::Done(r));
        }
        let mut buf = core::mem::take(&mut self.layer.staging);
        let n = d.2.min(MAX_IO);
        if buf.len() < n {
            buf.resize(n, 0);
        }
        let s = self.sockets.get_mut::<tcp::Socket>(h);
        let step = if matches!(s.state(), State::SynSent | State::SynReceived) {
            Ok(Step::Wait)
        } else if s.can_recv() {
            // Taking from a buffer at least half full opens a window the
            // peer may be waiting for: it should hear at once.
            let window = 2 * s.recv_queue() >= s.recv_capacity();
            let got =
                if req.flags & net::PEEK != 0 { s.peek_slice(&mut buf[..n]) } else { s.recv_slice(&mut buf[..n]) };
            self.layer.poll_soon |= window && req.flags & net::PEEK == 0;
            let got = got.unwrap_or(0);
            match region.write_slot(d.0, d.1, &buf[..got]) {
                Ok(()) => {
                    r.len = got as u32;
                    Ok(Step::Done(r))
                }
                Err(_) => Err(Status::BadData),
            }
        } else if s.may_recv() {
            Ok(Step::Wait)
        } else if s.state() == State::Closed && !wr_shut {
            // Closed without our FIN: a reset (or the retransmissions gave up).
            Err(Status::ConnectionReset)
        } else {
            Ok(Step::Done(r))
        };
        self.layer.staging = buf;
        step
    }

    pub(super) fn send(
        &mut self,
        conn: u64,
        region: &Region,
        req: &Msg,
        d: (usize, usize, usize),
        waited: u64,
    ) -> Result<Step, Status> {
        let id = req.args[0];
        let (h, wr_shut) = match self.conn(conn)?.get(id)? {
            Sock::Tcp(t) => (t.h, t.wr_shut),
            Sock::Udp(_) => return self.udp_send(conn, region, req, d, waited),
            Sock::Listener(_) => return Err(Status::NotConnected),
        };
        self.poll_touch(conn, id);
        let mut buf = core::mem::take(&mut self.layer.staging);
        let s = self.sockets.get_mut::<tcp::Socket>(h);
        let step = if matches!(s.state(), State::SynSent | State::SynReceived) {
            Ok(Step::Wait)
        } else if wr_shut || !s.may_send() {
            Err(Status::NotConnected)
        } else if !s.can_send() {
            Ok(Step::Wait)
        } else {
            let n = d.2.min(MAX_IO).min(s.send_capacity() - s.send_queue());
            if buf.len() < n {
                buf.resize(n, 0);
            }
            match region.read_slot(d.0, d.1, &mut buf[..n]) {
                Ok(()) => {
                    let sent = s.send_slice(&buf[..n]).unwrap_or(0);
                    let mut r = ok(req);
                    r.args[0] = sent as u64;
                    Ok(Step::Done(r))
                }
                Err(_) => Err(Status::BadData),
            }
        };
        self.layer.staging = buf;
        step
    }

    pub(super) fn shutdown(&mut self, conn: u64, req: &Msg) -> Result<Step, Status> {
        let how = req.args[1];
        match self.conn(conn)?.get(req.args[0])? {
            Sock::Tcp(t) => {
                if how & net::SHUT_READ != 0 {
                    t.rd_shut = true;
                }
                if how & net::SHUT_WRITE != 0 && !t.wr_shut {
                    t.wr_shut = true;
                    let h = t.h;
                    self.sockets.get_mut::<tcp::Socket>(h).close();
                }
                Ok(Step::Done(ok(req)))
            }
            Sock::Udp(_) => Ok(Step::Done(ok(req))),
            Sock::Listener(_) => Err(Status::NotConnected),
        }
    }

    pub(super) fn setopt(&mut self, conn: u64, req: &Msg) -> Result<Step, Status> {
        let (opt, v) = (req.args[1], req.args[2]);
        let ttl = || u8::try_from(v).ok().filter(|&t| t > 0).ok_or(Status::InvalidArgument);
        match self.conn(conn)?.get(req.args[0])? {
            Sock::Tcp(t) => {
                let h = t.h;
                match opt {
                    sockopt::LINGER => t.linger = v,
                    sockopt::NODELAY => {
                        let s = self.sockets.get_mut::<tcp::Socket>(h);
                        s.set_nagle_enabled(v == 0);
                        // Data Nagle held back may go now: the request may
                        // have run off the net thread (`sock::quick`).
                        self.layer.poll_soon |= s.send_queue() > 0;
                    }
                    sockopt::TTL => self.sockets.get_mut::<tcp::Socket>(h).set_hop_limit(Some(ttl()?)),
                    _ => return Err(Status::NotSupported),
                }
            }
            Sock::Udp(u) => match opt {
                sockopt::BROADCAST => u.broadcast = v != 0,
                sockopt::TTL => {
                    let h = u.h;
                    self.sockets.get_mut::<smoltcp::socket::udp::Socket>(h).set_hop_limit(Some(ttl()?));
                }
                _ => return Err(Status::NotSupported),
            },
            // A listener's accepted sockets get the server's defaults.
            Sock::Listener(_) => match opt {
                sockopt::TTL | sockopt::NODELAY | sockopt::LINGER => {}
                _ => return Err(Status::NotSupported),
            },
        }
        Ok(Step::Done(ok(req)))
    }

    pub(super) fn getopt(&mut self, conn: u64, req: &Msg) -> Result<Step, Status> {
        let opt = req.args[1];
        let v = match self.conn(conn)?.get(req.args[0])? {
            Sock::Tcp(t) => {
                let (h, linger) = (t.h, t.linger);
                let s = self.sockets.get::<tcp::Socket>(h);
                match opt {
                    sockopt::LINGER => linger,
                    sockopt::NODELAY => u64::from(!s.nagle_enabled()),
                    sockopt::TTL => u64::from(s.hop_limit().unwrap_or(64)),
                    sockopt::ERROR => 0,
                    _ => return Err(Status::NotSupported),
                }
            }
            Sock::Udp(u) => match opt {
                sockopt::BROADCAST => u64::from(u.broadcast),
                sockopt::TTL => {
                    let h = u.h;
                    u64::from(self.sockets.get::<smoltcp::socket::udp::Socket>(h).hop_limit().unwrap_or(64))
                }
                sockopt::ERROR => 0,
                _ => return Err(Status::NotSupported),
            },
            Sock::Listener(_) => match opt {
                sockopt::TTL => 64,
                sockopt::ERROR | sockopt::NODELAY => 0,
                sockopt::LINGER => u64::MAX,
                _ => return Err(Status::NotSupported),
            },
        };
        let mut r = ok(req);
        r.args[0] = v;
        Ok(Step::Done(r))
    }

    pub(super) fn addr(&mut self, conn: u64, req: &Msg) -> Result<Step, Status> {
        let peer = req.args[1] == 1;
        let ep = match self.conn(conn)?.get(req.args[0])? {
            Sock::Tcp(t) => {
                let h = t.h;
                let s = self.sockets.get::<tcp::Socket>(h);
                let e = if peer { s.remote_endpoint() } else { s.local_endpoint() };
                e.map(endpoint_words).ok_or(Status::NotConnected)?
            }
            Sock::Listener(l) if !peer => (u64::from(l.addr.map_or(0, u32::from)), u64::from(l.port)),
            Sock::Listener(_) => return Err(Status::NotConnected),
            Sock::Udp(u) if peer => u.peer.map(endpoint_words).ok_or(Status::NotConnected)?,
            Sock::Udp(u) => (u64::from(u.addr.map_or(0, u32::from)), u64::from(u.port)),
        };
        let mut r = ok(req);
        r.args[..2].copy_from_slice(&[ep.0, ep.1]);
        Ok(Step::Done(r))
    }

    /// The owner closed it: the rest of its data still goes out (FIN after
    /// it), unless linger 0 asked for a reset.
    pub(super) fn tcp_drop(&mut self, t: Tcp) {
        if let Some(p) = t.port {
            self.layer.port_release(net::TCP, p);
        }
        let s = self.sockets.get_mut::<tcp::Socket>(t.h);
        if t.linger == 0 {
            s.abort();
        } else {
            s.set_timeout(Some(Duration::from_secs(CLOSE_TIMEOUT_S)));
            s.close();
        }
        self.layer.closing.push((t.h, t.bytes));
    }

    pub(super) fn listener_drop(&mut self, l: Listener) {
        self.layer.port_release(net::TCP, l.port);
        for (h, bytes) in l.pending {
            let s = self.sockets.get_mut::<tcp::Socket>(h);
            if s.state() == State::Listen {
                self.remove_tcp(h, bytes);
            } else {
                s.abort();
                self.layer.closing.push((h, bytes));
            }
        }
    }

    /// Lets go of closed sockets that are done.
    pub(super) fn reap_closing(&mut self) {
        let mut i = 0;
        while i < self.layer.closing.len() {
            let (h, bytes) = self.layer.closing[i];
            if matches!(self.sockets.get::<tcp::Socket>(h).state(), State::Closed | State::TimeWait) {
                self.layer.closing.swap_remove(i);
                self.remove_tcp(h, bytes);
            } else {
                i += 1;
            }
        }
    }

    /// Poll readiness of a TCP socket or listener.
    pub(super) fn tcp_ready(&self, s: &Sock) -> u64 {
        use vireo_io_channel::poll::*;
        match s {
            Sock::Listener(l) => {
                let any = l.pending.iter().any(|&(h, _)| synchronized(self.sockets.get::<tcp::Socket>(h).state()));
                if any {
                    READABLE
                } else {
                    0
                }
            }
            Sock::Tcp(t) => {
                let s = self.sockets.get::<tcp::Socket>(t.h);
                let st = s.state();
                if matches!(st, State::SynSent | State::SynReceived) {
                    return 0;
                }
                let mut bits = 0;
                if tcp_readable(s, t) {
                    bits |= READABLE;
                }
                if !s.may_recv() {
                    bits |= READ_CLOSED;
                }
                if s.can_send() && !t.wr_shut {
                    bits |= WRITABLE;
                }
                if !s.may_send() || t.wr_shut {
                    bits |= WRITE_CLOSED;
                }
                if st == State::Closed && !t.wr_shut {
                    bits |= ERROR;
                }
                bits
            }
            Sock::Udp(_) => 0,
        }
    }
}

/// Whether a receive on `t` completes now: data, end of stream, a reset,
/// or reads shut down (not while the handshake is in progress).
pub fn tcp_readable(s: &tcp::Socket, t: &Tcp) -> bool {
    !matches!(s.state(), State::SynSent | State::SynReceived) && (s.can_recv() || !s.may_recv() || t.rd_shut)
}

/// The reply to a connect: the socket and its local endpoint.
fn connected(req: &Msg, id: u64, s: &tcp::Socket) -> Msg {
    let mut r = ok(req);
    let (a, p) = s.local_endpoint().map(endpoint_words).unwrap_or((0, 0));
    r.args[..3].copy_from_slice(&[id, a, p]);
    r
}
