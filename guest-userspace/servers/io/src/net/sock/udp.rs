//! UDP sockets: bind, send_to/recv_from/peek_from, connect (a default
//! destination and a filter on the sender).
//!
//! Datagrams are at most [`MAX_DATAGRAM`] bytes: one Ethernet frame (no IP
//! fragmentation is compiled into smoltcp); a larger send is
//! `InvalidArgument`. A receive into a smaller buffer gets the start of
//! the datagram and the rest is dropped (as on Linux); the reply says the
//! full length.
use super::{endpoint_words, ip_of, ok, port_of, Sock, Step, NO_ADDRESS_NS};
use crate::net::stack::NetStack;
use alloc::vec;
use core::net::Ipv4Addr;
use core::task::Waker;
use smoltcp::iface::SocketHandle;
use smoltcp::socket::udp::{self, PacketBuffer, PacketMetadata};
use smoltcp::wire::{IpAddress, IpEndpoint, IpListenEndpoint};
use vireo_io_channel::{net, Msg, Region, Status};

/// 1500-byte MTU less the IPv4 and UDP headers.
pub const MAX_DATAGRAM: usize = 1472;
/// Datagrams and payload bytes queued each way.
const PACKETS: usize = 32;
const PAYLOAD: usize = 32 * 1024;
/// How long a closed socket keeps trying to send what it queued (a
/// destination whose address never resolves must not hold it for ever).
const FLUSH_NS: u64 = 1_000_000_000;

pub struct Udp {
    pub h: SocketHandle,
    pub port: u16,
    pub addr: Option<Ipv4Addr>,
    pub peer: Option<IpEndpoint>,
    pub broadcast: bool,
    /// Files the socket for a readiness update (`ready.rs`; set with its id).
    pub waker: Waker,
}

fn buffer() -> PacketBuffer<'static> {
    PacketBuffer::new(vec![PacketMetadata::EMPTY; PACKETS], vec![0; PAYLOAD])
}

impl NetStack {
    pub(super) fn udp_bind(&mut self, conn: u64, addr: Option<Ipv4Addr>, port: u16) -> Result<(u64, u16), Status> {
        let port = self.layer.port_take(net::UDP, port)?;
        let mut s = udp::Socket::new(buffer(), buffer());
        if s.bind(IpListenEndpoint { addr: addr.map(IpAddress::Ipv4), port }).is_err() {
            self.layer.port_release(net::UDP, port);
            return Err(Status::InvalidArgument);
        }
        let h = self.sockets.add(s);
        self.layer.buffer_bytes += 2 * PAYLOAD;
        let u = Udp { h, port, addr, peer: None, broadcast: false, waker: Waker::noop().clone() };
        match self.layer.conns.get_mut(&conn).ok_or(Status::BadHandle)?.insert(Sock::Udp(u)) {
            Ok(id) => Ok((id, port)),
            Err(e) => {
                self.udp_drop(Udp { h, port, addr, peer: None, broadcast: false, waker: Waker::noop().clone() });
                Err(e)
            }
        }
    }

    /// The owner closed it. Datagrams it sent and the stack has not put on
    /// the wire yet still go (on Linux a send is queued to the device, so a
    /// program that sends and exits loses nothing): the socket, and its
    /// port, stay until they have, or for at most [`FLUSH_NS`].
    pub(super) fn udp_drop(&mut self, u: Udp) {
        if self.sockets.get::<udp::Socket>(u.h).send_queue() > 0 {
            let deadline = vireo_rt::sys::now_ns().saturating_add(FLUSH_NS);
            self.layer.udp_closing.push((u.h, u.port, deadline));
            self.layer.poll_soon = true;
            return;
        }
        self.udp_remove(u.h, u.port);
    }

    fn udp_remove(&mut self, h: SocketHandle, port: u16) {
        self.layer.port_release(net::UDP, port);
        self.sockets.remove(h);
        self.layer.buffer_bytes = self.layer.buffer_bytes.saturating_sub(2 * PAYLOAD);
    }

    /// Lets go of closed UDP sockets that have sent what they held (or gave up).
    pub(super) fn reap_udp_closing(&mut self, now: u64) {
        let mut i = 0;
        while i < self.layer.udp_closing.len() {
            let (h, port, deadline) = self.layer.udp_closing[i];
            if self.sockets.get::<udp::Socket>(h).send_queue() == 0 || now >= deadline {
                self.layer.udp_closing.swap_remove(i);
                self.udp_remove(h, port);
            } else {
                i += 1;
            }
        }
    }

    pub(super) fn udp_connect(&mut self, conn: u64, req: &Msg) -> Result<Step, Status> {
        let (ip, port) = (ip_of(req.args[1])?, port_of(req.args[2])?);
        let c = self.layer.conns.get_mut(&conn).ok_or(Status::BadHandle)?;
        let Sock::Udp(u) = c.get(req.args[0])? else { return Err(Status::InvalidArgument) };
        if ip.is_unspecified() || port == 0 {
            return Err(Status::InvalidArgument);
        }
        u.peer = Some(IpEndpoint { addr: IpAddress::Ipv4(ip), port });
        Ok(Step::Done(ok(req)))
    }

    pub(super) fn udp_recv(
        &mut self,
        conn: u64,
        region: &Region,
        req: &Msg,
        d: (usize, usize, usize),
    ) -> Result<Step, Status> {
        let id = req.args[0];
        let (h, peer) = match self.layer.conns.get_mut(&conn).ok_or(Status::BadHandle)?.get(id)? {
            Sock::Udp(u) => (u.h, u.peer),
            _ => return Err(Status::InvalidArgument),
        };
        self.poll_touch(conn, id);
        let s = self.sockets.get_mut::<udp::Socket>(h);
        loop {
            let (data, meta) = match s.peek() {
                Ok(x) => x,
                Err(_) => return Ok(Step::Wait),
            };
            let from = meta.endpoint;
            if peer.is_some_and(|p| p != from) {
                let _ = s.recv();
                continue;
            }
            let n = data.len().min(d.2);
            region.write_slot(d.0, d.1, &data[..n]).map_err(|_| Status::BadData)?;
            let full = data.len();
            if req.flags & net::PEEK == 0 {
                let _ = s.recv();
            }
            let mut r = ok(req);
            r.len = n as u32;
            let (a, p) = endpoint_words(from);
            r.args[1..4].copy_from_slice(&[a, p, full as u64]);
            return Ok(Step::Done(r));
        }
    }

    pub(super) fn udp_send(
        &mut self,
        conn: u64,
        region: &Region,
        req: &Msg,
        d: (usize, usize, usize),
        waited: u64,
    ) -> Result<Step, Status> {
        let id = req.args[0];
        let (h, peer, broadcast) = match self.layer.conns.get_mut(&conn).ok_or(Status::BadHandle)?.get(id)? {
            Sock::Udp(u) => (u.h, u.peer, u.broadcast),
            _ => return Err(Status::InvalidArgument),
        };
        let to = if req.flags & net::TO != 0 {
            let (ip, port) = (ip_of(req.args[2])?, port_of(req.args[3])?);
            if ip.is_unspecified() || port == 0 {
                return Err(Status::InvalidArgument);
            }
            if ip.is_broadcast() && !broadcast {
                return Err(Status::PermissionDenied);
            }
            IpEndpoint { addr: IpAddress::Ipv4(ip), port }
        } else {
            peer.ok_or(Status::NotConnected)?
        };
        if d.2 > MAX_DATAGRAM {
            return Err(Status::InvalidArgument);
        }
        if self.address().is_none() {
            return if waited >= NO_ADDRESS_NS { Err(Status::NetworkUnreachable) } else { Ok(Step::Wait) };
        }
        self.poll_touch(conn, id);
        let mut buf = [0u8; MAX_DATAGRAM];
        region.read_slot(d.0, d.1, &mut buf[..d.2]).map_err(|_| Status::BadData)?;
        match self.sockets.get_mut::<udp::Socket>(h).send_slice(&buf[..d.2], to) {
            Ok(()) => {
                let mut r = ok(req);
                r.args[0] = d.2 as u64;
                Ok(Step::Done(r))
            }
            Err(udp::SendError::BufferFull) => Ok(Step::Wait),
            Err(udp::SendError::Unaddressable) => Err(Status::InvalidArgument),
        }
    }

    pub(super) fn udp_ready(&self, u: &Udp) -> u64 {
        use vireo_io_channel::poll::*;
        let s = self.sockets.get::<udp::Socket>(u.h);
        let mut bits = 0;
        if s.can_recv() {
            bits |= READABLE;
        }
        if s.can_send() {
            bits |= WRITABLE;
        }
        bits
    }
}
