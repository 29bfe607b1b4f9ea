//! The resolver of one name as a state machine without I/O ("sans-IO"):
//! the caller sends what [`Lookup::poll_transmit`] gives, feeds back what
//! arrives ([`Lookup::handle_udp`], [`Lookup::handle_tcp`],
//! [`Lookup::handle_tcp_closed`]) and calls [`Lookup::handle_timeout`] once
//! the clock passes [`Lookup::timer`]; [`Lookup::outcome`] is the result.
//!
//! The schedule: try 0 asks server 0 over UDP and waits
//! [`Settings::try_timeout_ns`]; no answer (or a failure: SERVFAIL,
//! REFUSED, ...) moves to the next server; after the last server the next
//! round starts again at server 0 with the try timeout doubled, for
//! [`Settings::rounds`] rounds. A late answer from a server asked earlier
//! is still taken. A truncated answer (TC) makes the same query go to the
//! same server over TCP (a 2-byte length before the message); a TCP failure
//! moves to the next try. A FORMERR to a query with EDNS0 asks the same
//! server again without it (RFC 6891 7). The overall deadline ends
//! everything.
use crate::name::Name;
use crate::wire::{self, Rcode};
use crate::ResolveError;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};

/// Servers asked (the first ones of the list given).
pub const MAX_SERVERS: usize = 3;
/// The longest message over TCP (its 2-byte length prefix).
const MAX_TCP: usize = 2 + 65535;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The first round's wait per server; doubled each round.
    pub try_timeout_ns: u64,
    /// Passes over the server list.
    pub rounds: u32,
    /// Send an EDNS0 OPT record (a larger UDP answer, fewer TCP retries).
    pub edns: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { try_timeout_ns: 1_000_000_000, rounds: 2, edns: true }
    }
}

/// A message to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    pub server: SocketAddrV4,
    /// Over TCP (a new connection; `data` has the length prefix), else UDP.
    pub tcp: bool,
    pub data: Vec<u8>,
}

/// How a lookup ended, and for how long the cache may keep that (seconds;
/// None: not at all).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub result: Result<Vec<Ipv4Addr>, ResolveError>,
    pub ttl: Option<u32>,
}

#[derive(Debug)]
enum Mode {
    Udp,
    /// Waiting for the answer over TCP from `server`; what came so far.
    Tcp {
        server: usize,
        buf: Vec<u8>,
    },
}

#[derive(Debug)]
pub struct Lookup {
    name: Name,
    servers: Vec<SocketAddrV4>,
    id: u16,
    settings: Settings,
    edns: bool,
    query: Vec<u8>,
    /// Tries made: round `attempt / n`, server `attempt % n`.
    attempt: usize,
    /// Servers asked over UDP so far (their late answers count).
    asked: [bool; MAX_SERVERS],
    mode: Mode,
    try_deadline: u64,
    deadline: u64,
    pending: Option<Transmit>,
    outcome: Option<Outcome>,
    /// What to say if time runs out: a failure seen beats "timed out".
    failure: ResolveError,
}

impl Lookup {
    /// Starts resolving `name` with query id `id` (random: it is what
    /// stops off-path forgeries, with the caller's random source port) at
    /// `now_ns`, giving up `timeout_ns` later. The first query is ready in
    /// [`Lookup::poll_transmit`].
    pub fn new(
        name: Name,
        servers: &[SocketAddrV4],
        id: u16,
        settings: Settings,
        now_ns: u64,
        timeout_ns: u64,
    ) -> Self {
        let servers: Vec<SocketAddrV4> = servers.iter().copied().take(MAX_SERVERS).collect();
        let query = wire::query(id, &name, settings.edns);
        let mut l = Lookup {
            name,
            servers,
            id,
            settings,
            edns: settings.edns,
            query,
            attempt: 0,
            asked: [false; MAX_SERVERS],
            mode: Mode::Udp,
            try_deadline: 0,
            deadline: now_ns.saturating_add(timeout_ns),
            pending: None,
            outcome: None,
            failure: ResolveError::TimedOut,
        };
        if l.servers.is_empty() || settings.rounds == 0 {
            l.finish(Err(ResolveError::NoServers), None);
        } else {
            l.send_udp(0, now_ns);
        }
        l
    }

    pub fn name(&self) -> &Name {
        &self.name
    }

    /// The next message to send, once.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.pending.take()
    }

    /// When [`Lookup::handle_timeout`] must be called; None once over.
    pub fn timer(&self) -> Option<u64> {
        match self.outcome {
            Some(_) => None,
            None => Some(self.try_deadline.min(self.deadline)),
        }
    }

    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// The clock reached [`Lookup::timer`] (earlier calls do nothing).
    pub fn handle_timeout(&mut self, now_ns: u64) {
        if self.outcome.is_some() {
            return;
        }
        if now_ns >= self.deadline {
            self.finish(Err(self.failure), None);
        } else if now_ns >= self.try_deadline {
            self.next_try(now_ns);
        }
    }

    /// A datagram from `from` arrived on the lookup's socket. Anything that
    /// is not an answer to our question from a server we asked is ignored.
    pub fn handle_udp(&mut self, now_ns: u64, from: SocketAddrV4, msg: &[u8]) {
        if self.outcome.is_some() {
            return;
        }
        let Some(index) = self.servers.iter().zip(self.asked).position(|(s, asked)| asked && *s == from) else {
            return;
        };
        if let Ok(reply) = wire::parse_reply(msg, self.id, &self.name) {
            self.take_reply(reply, index, false, now_ns);
        }
    }

    /// Bytes arrived on the TCP connection (any split).
    pub fn handle_tcp(&mut self, now_ns: u64, data: &[u8]) {
        let Mode::Tcp { server, buf } = &mut self.mode else { return };
        let server = *server;
        if self.outcome.is_some() || buf.len() + data.len() > MAX_TCP {
            return;
        }
        buf.extend_from_slice(data);
        let Some(len) = wire::message_id(buf).map(usize::from) else { return };
        if buf.len() < 2 + len {
            return;
        }
        let mut msg = core::mem::take(buf);
        // Over TCP a TC bit has nowhere further to go: read what came.
        if let Some(flags) = msg.get_mut(4) {
            *flags &= !0x02;
        }
        match wire::parse_reply(&msg[2..2 + len], self.id, &self.name) {
            Ok(reply) => self.take_reply(reply, server, true, now_ns),
            Err(_) => {
                self.failure = ResolveError::ServerFailure;
                self.next_try(now_ns);
            }
        }
    }

    /// The TCP connection failed or closed before a whole answer came.
    pub fn handle_tcp_closed(&mut self, now_ns: u64) {
        if self.outcome.is_none() && matches!(self.mode, Mode::Tcp { .. }) {
            self.failure = ResolveError::ServerFailure;
            self.next_try(now_ns);
        }
    }

    /// Whether the lookup waits for a TCP answer (the caller keeps the
    /// connection open while it does).
    pub fn wants_tcp(&self) -> bool {
        self.outcome.is_none() && matches!(self.mode, Mode::Tcp { .. })
    }

    fn take_reply(&mut self, reply: wire::Reply, server: usize, tcp: bool, now_ns: u64) {
        if reply.truncated && !tcp {
            let mut data = Vec::with_capacity(2 + self.query.len());
            data.extend_from_slice(&(self.query.len() as u16).to_be_bytes());
            data.extend_from_slice(&self.query);
            self.pending = Some(Transmit { server: self.servers[server], tcp: true, data });
            self.mode = Mode::Tcp { server, buf: Vec::new() };
            self.try_deadline = now_ns.saturating_add(self.try_timeout());
            return;
        }
        match reply.rcode {
            Rcode::NoError if !reply.addrs.is_empty() => {
                let ttl = Some(reply.ttl);
                self.finish(Ok(reply.addrs), ttl);
            }
            Rcode::NoError => self.finish(Err(ResolveError::NoAddress), reply.negative_ttl),
            Rcode::NxDomain => self.finish(Err(ResolveError::NotFound), reply.negative_ttl),
            Rcode::FormErr if self.edns => {
                self.edns = false;
                self.query = wire::query(self.id, &self.name, false);
                self.send_udp(server, now_ns);
            }
            _ => {
                self.failure = ResolveError::ServerFailure;
                // Only the server of the current try moves things on; a
                // late failure of an earlier one changes nothing.
                if tcp || server == self.attempt % self.servers.len() {
                    self.next_try(now_ns);
                }
            }
        }
    }

    /// The per-try wait of the current round.
    fn try_timeout(&self) -> u64 {
        let round = (self.attempt / self.servers.len()).min(16);
        self.settings.try_timeout_ns.saturating_mul(1 << round)
    }

    fn next_try(&mut self, now_ns: u64) {
        self.attempt += 1;
        self.mode = Mode::Udp;
        if self.attempt >= self.servers.len() * self.settings.rounds as usize {
            return self.finish(Err(self.failure), None);
        }
        self.send_udp(self.attempt % self.servers.len(), now_ns);
    }

    fn send_udp(&mut self, server: usize, now_ns: u64) {
        self.asked[server] = true;
        self.mode = Mode::Udp;
        self.pending = Some(Transmit { server: self.servers[server], tcp: false, data: self.query.clone() });
        self.try_deadline = now_ns.saturating_add(self.try_timeout());
    }

    fn finish(&mut self, result: Result<Vec<Ipv4Addr>, ResolveError>, ttl: Option<u32>) {
        self.pending = None;
        self.mode = Mode::Udp;
        self.outcome = Some(Outcome { result, ttl });
    }
}

#[cfg(test)]
mod tests;
