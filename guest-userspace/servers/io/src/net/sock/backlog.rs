//! A listener's backlog: smoltcp has no accept queue, so a listener keeps
//! a few sockets in Listen state ([`LISTEN_READY`], fewer for a smaller
//! backlog) and adds more as SYNs take them, until `backlog` connections
//! wait to be accepted. A SYN that finds no Listen socket is answered with a reset,
//! so the refill must keep up with a burst: it runs when one of the
//! listener's sockets changes state (their receive wakers file the
//! listener on the dirty list, `ready.rs`), and the stack's poll hands it
//! a turn every few received frames (`NetStack::poll`).
//!
//! Only a few listen at a time because every socket in the set costs
//! each poll (smoltcp's `poll_at` visits them all) and each accept retry:
//! 128 listening sockets were 20 k instructions per HTTP request, 16 were
//! 3 k.
//!
//! Limits, so a flood of SYNs cannot take the server's memory or the
//! listener: at most `backlog + LISTEN_READY` sockets per listener
//! (half-open, connected-not-accepted and listening together); a half-open socket
//! gives up after [`HALF_OPEN_S`] without the handshake's last ACK; and when
//! no Listen socket is left, half-open ones are dropped to make room (the
//! newest SYN wins over a stale one, as with Linux's SYN cookies the
//! server keeps answering).
use super::tcp::synchronized;
use super::Sock;
use crate::net::stack::NetStack;
use core::task::Waker;
use smoltcp::socket::tcp::{self, State};
use smoltcp::time::Duration;
use smoltcp::wire::{IpAddress, IpListenEndpoint};

/// Seconds a half-open connection (SYN answered, no ACK yet) is kept.
/// smoltcp resends the SYN-ACK for ever: without this a flood of SYNs
/// that never complete held every socket for good (found by
/// tests/tests/net_bad_input.rs).
pub const HALF_OPEN_S: u64 = 5;
/// Listen sockets a full listener frees at once by dropping half-open ones.
const EVICT: usize = 8;
/// Sockets a listener keeps in Listen state: twice the frames the stack
/// takes in between two refills ([`REFILL_EVERY`]), so a burst of SYNs
/// always finds one.
pub const LISTEN_READY: usize = 4;
/// Received frames between two turns of the socket layer inside a poll.
pub const REFILL_EVERY: u32 = LISTEN_READY as u32 / 2;

/// Listen sockets for a listener with `backlog`.
pub fn listen_ready(backlog: usize) -> usize {
    backlog.clamp(1, LISTEN_READY)
}

impl NetStack {
    /// Brings listener `id` of `conn` back to its Listen sockets
    /// (within its limits) and arms their wakers; `waker`: the listener's
    /// own, when it is new.
    pub(super) fn listener_refill(&mut self, conn: u64, id: u64, waker: Option<Waker>) {
        let Some(c) = self.layer.conns.get_mut(&conn) else { return };
        let Some(slot) = id.checked_sub(1).and_then(|i| c.socks.get_mut(i as usize)) else { return };
        let Some(Sock::Listener(l)) = slot else { return };
        if let Some(w) = waker {
            l.waker = w;
        }
        let ep = IpListenEndpoint { addr: l.addr.map(IpAddress::Ipv4), port: l.port };
        let mut listening = 0;
        let mut half_open = 0;
        let mut connected = false;
        for &(h, _) in &l.pending {
            let s = self.sockets.get_mut::<tcp::Socket>(h);
            match s.state() {
                // Its handshake was reset or timed out: it listens again.
                State::Closed => {
                    let _ = s.listen(ep);
                }
                State::SynReceived => half_open += 1,
                st if synchronized(st) => {
                    s.set_timeout(None);
                    connected = true;
                }
                _ => {}
            }
            if s.state() == State::Listen {
                listening += 1;
            }
            s.register_recv_waker(&l.waker);
        }
        l.ready = connected;
        let cap = l.backlog + LISTEN_READY;
        if listening == 0 && l.pending.len() >= cap && half_open > 0 {
            for &(h, _) in &l.pending {
                if listening >= EVICT {
                    break;
                }
                let s = self.sockets.get_mut::<tcp::Socket>(h);
                if s.state() == State::SynReceived {
                    s.abort();
                    let _ = s.listen(ep);
                    listening += 1;
                }
            }
        }
        let (port, addr, want) = (l.port, l.addr, listen_ready(l.backlog).saturating_sub(listening));
        let room = cap.saturating_sub(l.pending.len());
        let mut fresh = alloc::vec::Vec::new();
        for _ in 0..want.min(room) {
            match self.listening(port, addr) {
                Ok(s) => fresh.push(s),
                Err(_) => break,
            }
        }
        let Some(Some(Sock::Listener(l))) =
            self.layer.conns.get_mut(&conn).and_then(|c| c.socks.get_mut(id as usize - 1))
        else {
            return;
        };
        for &(h, _) in &fresh {
            self.sockets.get_mut::<tcp::Socket>(h).register_recv_waker(&l.waker);
        }
        l.pending.extend(fresh);
    }
}

/// A new listening socket's settings: a handshake that never completes
/// ends (and the socket listens again at the next refill).
pub fn half_open_timeout(s: &mut tcp::Socket<'_>) {
    s.set_timeout(Some(Duration::from_secs(HALF_OPEN_S)));
}
