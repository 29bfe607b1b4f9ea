//! One ICMP echo request and its reply, for any thread of the server
//! ([`NetHandle::ping`]; `/sys/net/ping` in sysfiles.rs serves it to
//! programs). Each ping has an ICMP socket of its own bound to an
//! identifier no other ping uses at the time, so pings of several
//! programs at once never see each other's replies; the socket is gone
//! when the call returns.
//!
//! Like a name lookup it runs on the calling thread: one
//! [`NetHandle::call`] sends, then the caller looks at the socket every
//! millisecond until the reply or the deadline (the net thread never waits).
use super::stack::NetStack;
use super::thread::NetHandle;
use alloc::vec;
use core::net::Ipv4Addr;
use core::sync::atomic::{AtomicU16, Ordering};
use smoltcp::iface::SocketHandle;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::socket::icmp;
use smoltcp::wire::{Icmpv4Packet, Icmpv4Repr, IpAddress};
use vireo_rt::sys;

/// Largest payload a ping may carry: one frame (1500 - 20 - 8), no IP
/// fragmentation is compiled in.
pub const MAX_PAYLOAD: usize = 1472;
/// The longest a ping may wait for its reply.
pub const MAX_TIMEOUT_NS: u64 = 10_000_000_000;
const LOOK_NS: u64 = 1_000_000;

/// Identifiers 0x8000-0xffff, round robin (probe.rs uses 0x7669).
static NEXT_IDENT: AtomicU16 = AtomicU16::new(0);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PingError {
    /// No card, or no address yet.
    NoNetwork,
    /// No reply within the timeout.
    TimedOut,
    /// The socket's send queue was full (cannot happen with a fresh one).
    SendFailed,
}

/// A reply: how many bytes of ICMP came back, after how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Echo {
    pub bytes: usize,
    pub rtt_ns: u64,
}

impl NetHandle {
    /// Sends one echo request with `payload_len` bytes of payload and
    /// sequence number `seq` to `target`, and waits up to `timeout_ns`
    /// (capped at [`MAX_TIMEOUT_NS`]) for its reply.
    pub fn ping(&self, target: Ipv4Addr, seq: u16, payload_len: usize, timeout_ns: u64) -> Result<Echo, PingError> {
        let payload_len = payload_len.min(MAX_PAYLOAD);
        let timeout_ns = timeout_ns.min(MAX_TIMEOUT_NS);
        let ident = 0x8000 | (NEXT_IDENT.fetch_add(1, Ordering::Relaxed) & 0x7fff);
        let h = self
            .call(move |s| {
                s.config().cidr?;
                let room = 8 + payload_len;
                let buf = || icmp::PacketBuffer::new(vec![icmp::PacketMetadata::EMPTY; 4], vec![0; 4 * room]);
                let h = s.add_socket(icmp::Socket::new(buf(), buf()));
                // A fresh socket, an identifier no live ping holds: cannot fail.
                let _ = s.socket::<icmp::Socket>(h).bind(icmp::Endpoint::Ident(ident));
                Some(h)
            })
            .flatten()
            .ok_or(PingError::NoNetwork)?;
        let sent = sys::now_ns();
        let result = match self.call(move |s| send(s, h, target, ident, seq, payload_len)) {
            Some(true) => self.wait(h, target, ident, seq, payload_len, sent, timeout_ns),
            Some(false) => Err(PingError::SendFailed),
            None => Err(PingError::NoNetwork),
        };
        self.call(move |s| s.remove_socket(h));
        result
    }

    #[expect(clippy::too_many_arguments, reason = "one echo's identity and its deadline")]
    fn wait(
        &self,
        h: SocketHandle,
        target: Ipv4Addr,
        ident: u16,
        seq: u16,
        payload_len: usize,
        sent: u64,
        timeout_ns: u64,
    ) -> Result<Echo, PingError> {
        loop {
            match self.call(move |s| answered(s, h, target, ident, seq, payload_len)) {
                Some(Some(bytes)) => return Ok(Echo { bytes, rtt_ns: sys::now_ns() - sent }),
                Some(None) => {}
                None => return Err(PingError::NoNetwork),
            }
            if sys::now_ns() - sent >= timeout_ns {
                return Err(PingError::TimedOut);
            }
            let _ = sys::sleep(LOOK_NS);
        }
    }
}

/// The payload byte at `i`: a pattern the reply must carry back.
fn pattern(i: usize) -> u8 {
    (i as u8).wrapping_add(0x10)
}

fn send(s: &mut NetStack, h: SocketHandle, target: Ipv4Addr, ident: u16, seq: u16, len: usize) -> bool {
    let mut payload = [0u8; MAX_PAYLOAD];
    for (i, b) in payload[..len].iter_mut().enumerate() {
        *b = pattern(i);
    }
    let repr = Icmpv4Repr::EchoRequest { ident, seq_no: seq, data: &payload[..len] };
    match s.socket::<icmp::Socket>(h).send(repr.buffer_len(), IpAddress::Ipv4(target)) {
        Ok(buf) => {
            repr.emit(&mut Icmpv4Packet::new_unchecked(buf), &ChecksumCapabilities::default());
            true
        }
        Err(_) => false,
    }
}

/// The ICMP length of the reply to `seq` from `target`, if it came (with
/// the payload we sent; anything else in the socket is dropped).
fn answered(s: &mut NetStack, h: SocketHandle, target: Ipv4Addr, ident: u16, seq: u16, len: usize) -> Option<usize> {
    let sock = s.socket::<icmp::Socket>(h);
    let mut found = None;
    while let Ok((data, from)) = sock.recv() {
        let Ok(pkt) = Icmpv4Packet::new_checked(data) else { continue };
        let Ok(Icmpv4Repr::EchoReply { ident: i, seq_no, data: d }) =
            Icmpv4Repr::parse(&pkt, &ChecksumCapabilities::default())
        else {
            continue;
        };
        let same = d.len() == len && d.iter().enumerate().all(|(i, &b)| b == pattern(i));
        if i == ident && seq_no == seq && same && from == IpAddress::Ipv4(target) {
            found = Some(data.len());
        }
    }
    found
}
