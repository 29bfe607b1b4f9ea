//! Name resolution (docs/network.md, "Name resolution"): `vireo-dns`'s
//! state machine driven over smoltcp sockets, for any thread of the server
//! ([`NetHandle::resolve`]), with one cache shared by every program.
//!
//! A lookup runs on the calling thread: each step is one
//! [`NetHandle::call`] that sends what the lookup wants sent, and hands it
//! what arrived on its UDP socket (a random source port of its own) and,
//! after a truncated answer, its TCP connection; between steps the caller
//! sleeps a little (1 ms, growing to 8 ms while nothing comes). Lookups of
//! several threads run side by side; the net thread never waits for one.
//!
//! Servers: `dns=ADDR[:PORT][,...]` from the command line if given, else
//! the DHCP lease's, port 53. `net.resolve=NAME` (repeatable) resolves each
//! name once the interface has an address, in order, and prints the answer
//! (the VM test's window on all this before `std::net` exists).
use super::stack::NetStack;
use super::thread::NetHandle;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt::Write;
use core::net::{Ipv4Addr, SocketAddrV4};
use smoltcp::iface::SocketHandle;
use smoltcp::socket::{tcp, udp};
use smoltcp::wire::{IpAddress, IpEndpoint};
use vireo_dns::{parse_host, Cache, Host, Lookup, NameError, ResolveError, Settings, Transmit};
use vireo_io_channel::{resolve as code, Msg, Region, Status};
use vireo_rt::sync::Mutex;
use vireo_rt::thread::JoinHandle;
use vireo_rt::{println, sys};

/// The cache every lookup shares.
static CACHE: Mutex<Cache> = Mutex::new(Cache::new(vireo_dns::cache::DEFAULT_CAPACITY));
/// `dns=` from the command line, ports included (empty: the lease's).
static SERVERS: Mutex<Vec<SocketAddrV4>> = Mutex::new(Vec::new());
/// The `net.resolve=` thread, waited for at shutdown.
static DEBUG: Mutex<Option<JoinHandle>> = Mutex::new(None);

/// The longest wait between two looks at a lookup's sockets.
const MAX_NAP_NS: u64 = 8_000_000;
/// How long `net.resolve=` waits for an address, and for each name.
const ADDRESS_NS: u64 = 30_000_000_000;
const DEBUG_TIMEOUT_NS: u64 = 15_000_000_000;
/// The longest a client may ask a `Resolve` to wait (for an address,
/// mostly: the lookup's own schedule ends within 9 s).
const MAX_TIMEOUT_NS: u64 = 60_000_000_000;
/// Ephemeral ports (RFC 6335).
const PORTS: core::ops::RangeInclusive<u16> = 49152..=65535;
/// UDP receive room: a few EDNS0-sized answers.
const UDP_RX: usize = 4096;
const TCP_RX: usize = 8192;

/// Where a result came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Nothing sent: a literal address, `localhost`, or an invalid name.
    Local,
    Cache,
    Network,
}

/// Keeps the `dns=` servers (called once, before the net thread starts).
pub fn configure(servers: &[SocketAddrV4]) {
    *SERVERS.lock() = servers.to_vec();
}

impl NetHandle {
    /// The IPv4 addresses of `name` (a host name, a dotted quad or
    /// `localhost`), blocking the calling thread until they are known or
    /// `timeout_ns` has passed.
    pub fn resolve(&self, name: &str, timeout_ns: u64) -> Result<Vec<Ipv4Addr>, ResolveError> {
        self.resolve_from(name, timeout_ns).0
    }

    /// [`NetHandle::resolve`], saying where the answer came from.
    pub fn resolve_from(&self, name: &str, timeout_ns: u64) -> (Result<Vec<Ipv4Addr>, ResolveError>, Source) {
        let name = match parse_host(name) {
            Ok(Host::Addr(a)) => return (Ok(vec![a]), Source::Local),
            Ok(Host::Name(n)) => n,
            Err(e) => return (Err(e.into()), Source::Local),
        };
        let start = sys::now_ns();
        if let Some(r) = CACHE.lock().get(&name, start) {
            return (r, Source::Cache);
        }
        let deadline = start.saturating_add(timeout_ns);
        let servers = match self.servers(deadline) {
            Ok(s) => s,
            Err(e) => return (Err(e), Source::Network),
        };
        let lookup = Lookup::new(name.clone(), &servers, random() as u16, Settings::default(), start, timeout_ns);
        let outcome = self.drive(lookup);
        let result = match outcome {
            Some(o) => {
                CACHE.lock().insert(&name, &o, sys::now_ns());
                o.result
            }
            None => Err(ResolveError::NoNetwork),
        };
        (result, Source::Network)
    }

    /// The servers to ask; waits (until `deadline`) for the interface to
    /// have an address.
    fn servers(&self, deadline: u64) -> Result<Vec<SocketAddrV4>, ResolveError> {
        loop {
            let c = self.call(|s| s.config().clone()).ok_or(ResolveError::NoNetwork)?;
            if c.cidr.is_some() {
                let fixed = SERVERS.lock().clone();
                if !fixed.is_empty() {
                    return Ok(fixed);
                }
                if c.dns.is_empty() {
                    return Err(ResolveError::NoServers);
                }
                return Ok(c.dns.iter().map(|&a| SocketAddrV4::new(a, 53)).collect());
            }
            if sys::now_ns() >= deadline {
                return Err(ResolveError::NoNetwork);
            }
            let _ = sys::sleep(10_000_000);
        }
    }

    /// Runs `lookup` to its end; None if the net thread is gone.
    fn drive(&self, lookup: Lookup) -> Option<vireo_dns::Outcome> {
        let mut st = Sockets { lookup, udp: None, tcp: None, tcp_out: Vec::new() };
        let mut nap = 1_000_000;
        loop {
            let (next, moved) = self.call(move |s| {
                let moved = st.step(s, sys::now_ns());
                (st, moved)
            })?;
            st = next;
            if let Some(o) = st.lookup.outcome().cloned() {
                self.call(move |s| st.close(s));
                return Some(o);
            }
            nap = if moved { 1_000_000 } else { (nap * 2).min(MAX_NAP_NS) };
            let now = sys::now_ns();
            let until_timer = st.lookup.timer().map_or(nap, |t| t.saturating_sub(now));
            let _ = sys::sleep(nap.min(until_timer).max(100_000));
        }
    }
}

/// A lookup and the sockets it uses; travels to the net thread and back.
struct Sockets {
    lookup: Lookup,
    udp: Option<SocketHandle>,
    tcp: Option<SocketHandle>,
    /// The TCP query, until the connection is up to take it.
    tcp_out: Vec<u8>,
}

impl Sockets {
    /// One step on the net thread: receive, time out, send. True when
    /// something arrived or went out.
    fn step(&mut self, s: &mut NetStack, now: u64) -> bool {
        let mut moved = self.receive(s, now);
        if self.lookup.timer().is_some_and(|t| now >= t) {
            self.lookup.handle_timeout(now);
        }
        if !self.lookup.wants_tcp() {
            self.drop_tcp(s);
        }
        while let Some(t) = self.lookup.poll_transmit() {
            moved = true;
            if t.tcp {
                self.connect(s, t);
            } else {
                self.send_udp(s, &t);
            }
        }
        if let (Some(h), false) = (self.tcp, self.tcp_out.is_empty()) {
            let sock = s.socket::<tcp::Socket>(h);
            if sock.can_send() {
                if let Ok(n) = sock.send_slice(&self.tcp_out) {
                    self.tcp_out.drain(..n);
                }
            }
        }
        moved
    }

    fn receive(&mut self, s: &mut NetStack, now: u64) -> bool {
        let mut moved = false;
        if let Some(h) = self.udp {
            let sock = s.socket::<udp::Socket>(h);
            while let Ok((data, meta)) = sock.recv() {
                moved = true;
                // IPv4 is the only protocol compiled in.
                let IpAddress::Ipv4(a) = meta.endpoint.addr;
                self.lookup.handle_udp(now, SocketAddrV4::new(a, meta.endpoint.port), data);
            }
        }
        if let Some(h) = self.tcp {
            let sock = s.socket::<tcp::Socket>(h);
            let mut buf = [0u8; 1024];
            while let Ok(n @ 1..) = sock.recv_slice(&mut buf) {
                moved = true;
                self.lookup.handle_tcp(now, &buf[..n]);
            }
            // Refused, reset, or closed by the server before a whole answer.
            if !sock.is_active() || (!sock.may_recv() && sock.state() != tcp::State::SynSent) {
                moved = true;
                self.lookup.handle_tcp_closed(now);
            }
        }
        moved
    }

    fn send_udp(&mut self, s: &mut NetStack, t: &Transmit) {
        let h = *self.udp.get_or_insert_with(|| {
            let rx = udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 4], vec![0; UDP_RX]);
            let tx = udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 2], vec![0; 1024]);
            s.add_socket(udp::Socket::new(rx, tx))
        });
        let sock = s.socket::<udp::Socket>(h);
        if !sock.is_open() {
            // Port 0 is the only refusal, and `port` never gives it.
            let _ = sock.bind(port());
        }
        // A full queue or no route loses this try; the timer moves on.
        let _ = sock.send_slice(&t.data, endpoint(t.server));
    }

    fn connect(&mut self, s: &mut NetStack, t: Transmit) {
        self.drop_tcp(s);
        let sock = tcp::Socket::new(tcp::SocketBuffer::new(vec![0; TCP_RX]), tcp::SocketBuffer::new(vec![0; 1024]));
        let h = s.add_socket(sock);
        self.tcp = Some(h);
        self.tcp_out = t.data;
        if s.tcp_connect(h, endpoint(t.server), port()).is_err() {
            // No address or route: the socket stays closed, and the next
            // receive reports the failure.
        }
    }

    fn drop_tcp(&mut self, s: &mut NetStack) {
        if let Some(h) = self.tcp.take() {
            s.socket::<tcp::Socket>(h).abort();
            s.remove_socket(h);
        }
        self.tcp_out.clear();
    }

    fn close(mut self, s: &mut NetStack) {
        self.drop_tcp(s);
        if let Some(h) = self.udp.take() {
            s.remove_socket(h);
        }
    }
}

fn endpoint(a: SocketAddrV4) -> IpEndpoint {
    IpEndpoint::new(IpAddress::Ipv4(*a.ip()), a.port())
}

/// Not a secret: the TSC and the clock, mixed (see `stack::seed`).
fn random() -> u64 {
    super::stack::seed(&[0x64, 0x6e, 0x73, 0, 0, 0])
}

fn port() -> u16 {
    let span = u64::from(PORTS.end() - PORTS.start()) + 1;
    PORTS.start() + (random() % span) as u16
}

/// `net.resolve=NAME...`: once addressed, resolves each name in order and
/// prints `io: net: resolve NAME: A,B (N ms, from the network|cache)` or the
/// error.
pub fn start_debug(net: NetHandle, names: Vec<String>) {
    if names.is_empty() {
        return;
    }
    let run = move || {
        let start = sys::now_ns();
        while net.call(|s| s.config().cidr.is_some()) == Some(false) {
            if sys::now_ns() - start > ADDRESS_NS {
                return println!("io: net: resolve: no address after 30 s");
            }
            let _ = sys::sleep(10_000_000);
        }
        for name in names {
            let t0 = sys::now_ns();
            let (r, from) = net.resolve_from(&name, DEBUG_TIMEOUT_NS);
            let ms = (sys::now_ns() - t0) / 1_000_000;
            let from = match from {
                Source::Local => "local",
                Source::Cache => "cache",
                Source::Network => "network",
            };
            match r {
                Ok(addrs) => {
                    let mut list = String::new();
                    for (i, a) in addrs.iter().enumerate() {
                        let _ = write!(list, "{}{a}", if i == 0 { "" } else { "," });
                    }
                    println!("io: net: resolve {name}: {list} ({from}, {ms} ms)");
                }
                Err(e) => println!("io: net: resolve {name}: error: {e} ({from}, {ms} ms)"),
            }
        }
    };
    match vireo_rt::thread::spawn(run) {
        Ok(j) => *DEBUG.lock() = Some(j),
        Err(e) => println!("io: net: cannot start net.resolve: {}", e.name()),
    }
}

/// At shutdown: lets `net.resolve=` finish (bounded).
pub fn finish_debug(wait_ns: u64) {
    if let Some(j) = DEBUG.lock().take() {
        if sys::wait(j.raw(), wait_ns).is_err() {
            println!("io: net: resolve: still running at shutdown");
        }
    }
}

/// The I/O channel's `Resolve` op (`vireo_io_channel::op`): the name from
/// the request's data range, the addresses written back into it. The
/// outcome is a code in `args[0]`, the status stays `Ok`: a name that does
/// not resolve is an answer, not a failed request.
pub fn serve_resolve(region: &Region, req: &Msg, data: Option<(usize, usize, usize)>) -> Result<Msg, Status> {
    let (slot, offset, len) = data.ok_or(Status::BadData)?;
    let mut reply = Msg { status: Status::Ok as u16, args: [0; 5], len: 0, ..*req };
    let name_len = usize::try_from(req.args[1]).map_err(|_| Status::BadData)?;
    if name_len > len {
        return Err(Status::BadData);
    }
    let mut buf = [0u8; code::MAX_NAME];
    let name = buf.get_mut(..name_len);
    let name = match name {
        Some(n) => {
            region.read_slot(slot, offset, n).map_err(|_| Status::BadData)?;
            core::str::from_utf8(n).map_err(|_| NameError::BadCharacter)
        }
        None => Err(NameError::NameTooLong),
    };
    let timeout = match req.args[0] {
        0 => code::DEFAULT_TIMEOUT_NS,
        t => t.min(MAX_TIMEOUT_NS),
    };
    let result = match (name, super::handle()) {
        (Err(e), _) => Err(ResolveError::InvalidName(e)),
        (Ok(_), None) => Err(ResolveError::NoNetwork),
        (Ok(n), Some(net)) => net.resolve(n, timeout),
    };
    match result {
        Ok(addrs) => {
            let n = addrs.len().min(code::MAX_ADDRS).min(len / 4);
            let mut out = [0u8; 4 * code::MAX_ADDRS];
            for (i, a) in addrs.iter().take(n).enumerate() {
                out[4 * i..4 * i + 4].copy_from_slice(&a.octets());
            }
            region.write_slot(slot, offset, &out[..4 * n]).map_err(|_| Status::BadData)?;
            reply.len = (4 * n) as u32;
            reply.args[1] = n as u64;
        }
        Err(e) => {
            reply.args[0] = match e {
                ResolveError::NotFound => code::NOT_FOUND,
                ResolveError::NoAddress => code::NO_ADDRESS,
                ResolveError::TimedOut => code::TIMED_OUT,
                ResolveError::ServerFailure => code::SERVER_FAILURE,
                ResolveError::NoServers => code::NO_SERVERS,
                ResolveError::NoNetwork => code::NO_NETWORK,
                ResolveError::InvalidName(_) => code::INVALID_NAME,
            }
        }
    }
    Ok(reply)
}
