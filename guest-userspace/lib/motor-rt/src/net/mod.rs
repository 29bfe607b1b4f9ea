//! `std::net` (net slots 63-77) and the poll slots (78-83): sockets and
//! poll registries live in the I/O server's socket layer and are reached
//! over the same I/O channel as files (`crate::channel`; protocol in
//! `vireo_io_channel::op`, docs/network.md). A socket is a runtime
//! descriptor (`Fd::Socket`), so std's reads, writes, `try_clone` and drop
//! go through the fs slots (`fd.rs`) to here.
//!
//! Kept here, not in the server: nonblocking mode and the read/write
//! timeouts (sent with each request). IPv4 only: an IPv6 address is
//! `E_NOT_IMPLEMENTED` (std: `Unsupported`).
pub mod poll;
mod socket;

pub use socket::Socket;

use crate::channel::{self, lock, Room, CHUNK};
use crate::fd::{self, Fd};
use crate::fs::neg;
use alloc::sync::Arc;
use core::net::Ipv4Addr;
use moto_rt::error::{
    ErrorCode, E_BAD_HANDLE, E_INVALID_ARGUMENT, E_NOT_IMPLEMENTED, E_NOT_READY, E_OK, E_OUT_OF_MEMORY, E_TIMED_OUT,
};
use moto_rt::net as mnet;
use moto_rt::netc::{sockaddr, sockaddr_in, AF_INET};
use moto_rt::RtFd;
use socket::Kind;
use vireo_io_channel::{net, sockopt, Msg, Op};

/// The (address word, port) of a moto-rt socket address; IPv6 is not supported.
fn addr_in(a: *const sockaddr) -> Result<(u64, u64), ErrorCode> {
    if a.is_null() {
        return Err(E_INVALID_ARGUMENT);
    }
    // SAFETY: std passes a valid sockaddr; every variant starts with the family byte.
    let a = unsafe { *a };
    // SAFETY: the union's variants share the leading family field.
    let family = unsafe { a.v4.sin_family };
    if family != AF_INET {
        return Err(E_NOT_IMPLEMENTED);
    }
    // SAFETY: family says it is the v4 variant.
    let v4 = unsafe { a.v4 };
    let ip = Ipv4Addr::from(v4.sin_addr.s_addr.to_ne_bytes());
    Ok((u64::from(u32::from(ip)), u64::from(u16::from_be(v4.sin_port))))
}

/// Writes (address word, port) as a moto-rt IPv4 socket address.
fn addr_out(out: *mut sockaddr, ip: u64, port: u64) {
    if out.is_null() {
        return;
    }
    let ip = Ipv4Addr::from(ip as u32);
    let v4 = sockaddr_in {
        sin_family: AF_INET,
        sin_port: (port as u16).to_be(),
        sin_addr: moto_rt::netc::in_addr { s_addr: u32::from_ne_bytes(ip.octets()) },
    };
    // SAFETY: std passes a valid, writable sockaddr.
    unsafe { *out = sockaddr { v4 } };
}

fn code(r: Result<(), ErrorCode>) -> ErrorCode {
    r.err().unwrap_or(E_OK)
}

/// The socket behind `fd`.
pub fn socket_of(fd: RtFd) -> Result<Arc<Socket>, ErrorCode> {
    match fd::get(fd) {
        Some(Fd::Socket(s)) => Ok(s),
        Some(_) => Err(E_INVALID_ARGUMENT),
        None => Err(E_BAD_HANDLE),
    }
}

/// A new descriptor for a socket the server made (closed again if there
/// is no descriptor for it).
fn new_fd(id: u64, kind: Kind) -> i64 {
    match fd::insert(Fd::Socket(Arc::new(Socket::new(id, kind)))) {
        Some(fd) => fd as i64,
        // The Arc was dropped with the entry: the server socket is closed.
        None => neg(E_OUT_OF_MEMORY),
    }
}

fn call(op: Op, flags: u16, args: [u64; 5]) -> Result<Msg, ErrorCode> {
    channel::call_flags(op, flags, args, &[])
}

pub extern "C" fn bind(proto: u8, addr: *const sockaddr) -> i64 {
    let r = addr_in(addr).and_then(|(ip, port)| {
        let (p, kind) = match proto {
            mnet::PROTO_TCP => (net::TCP, Kind::Listener),
            mnet::PROTO_UDP => (net::UDP, Kind::Udp),
            _ => return Err(E_INVALID_ARGUMENT),
        };
        call(Op::NetBind, 0, [p, ip, port, 0, 0]).map(|m| (m.args[0], kind))
    });
    match r {
        Ok((id, kind)) => new_fd(id, kind),
        Err(e) => neg(e),
    }
}

pub extern "C" fn listen(fd: RtFd, backlog: u32) -> ErrorCode {
    code(socket_of(fd).and_then(|s| call(Op::NetListen, 0, [s.id, u64::from(backlog), 0, 0, 0]).map(drop)))
}

pub extern "C" fn accept(fd: RtFd, peer: *mut sockaddr) -> i64 {
    let r = socket_of(fd).and_then(|s| {
        call(Op::NetAccept, s.flags(), [s.id, s.read_timeout(), 0, 0, 0]).map(|m| (m.args[0], m.args[1], m.args[2]))
    });
    match r {
        Ok((id, ip, port)) => {
            addr_out(peer, ip, port);
            new_fd(id, Kind::Tcp)
        }
        Err(e) => neg(e),
    }
}

pub extern "C" fn tcp_connect(addr: *const sockaddr, timeout_ns: u64, nonblocking: bool) -> i64 {
    let flags = if nonblocking { net::NONBLOCK } else { 0 };
    let r = addr_in(addr).and_then(|(ip, port)| call(Op::NetConnect, flags, [ip, port, timeout_ns, 0, 0]));
    match r {
        Ok(m) => {
            let fd = new_fd(m.args[0], Kind::Tcp);
            if let (true, Ok(s)) = (nonblocking, socket_of(fd as RtFd)) {
                s.set_nonblocking(true);
            }
            fd
        }
        Err(e) => neg(e),
    }
}

pub extern "C" fn udp_connect(fd: RtFd, addr: *const sockaddr) -> ErrorCode {
    code(socket_of(fd).and_then(|s| {
        let (ip, port) = addr_in(addr)?;
        call(Op::NetUdpConnect, 0, [s.id, ip, port, 0, 0]).map(drop)
    }))
}

fn address(fd: RtFd, out: *mut sockaddr, peer: u64) -> ErrorCode {
    code(
        socket_of(fd)
            .and_then(|s| call(Op::NetAddr, 0, [s.id, peer, 0, 0, 0]))
            .map(|m| addr_out(out, m.args[0], m.args[1])),
    )
}

pub extern "C" fn socket_addr(fd: RtFd, out: *mut sockaddr) -> ErrorCode {
    address(fd, out, 0)
}

pub extern "C" fn peer_addr(fd: RtFd, out: *mut sockaddr) -> ErrorCode {
    address(fd, out, 1)
}

/// Reads a `len`-byte little value moto-rt passed for an option.
fn opt_in(ptr: usize, len: usize) -> Result<u64, ErrorCode> {
    if ptr == 0 {
        return Err(E_INVALID_ARGUMENT);
    }
    // SAFETY: moto-rt passes a pointer to a value of `len` bytes (1, 2, 4 or 8).
    unsafe {
        Ok(match len {
            1 => u64::from(*(ptr as *const u8)),
            2 => u64::from(*(ptr as *const u16)),
            4 => u64::from(*(ptr as *const u32)),
            8 => *(ptr as *const u64),
            _ => return Err(E_INVALID_ARGUMENT),
        })
    }
}

fn opt_out(ptr: usize, len: usize, v: u64) -> Result<(), ErrorCode> {
    if ptr == 0 {
        return Err(E_INVALID_ARGUMENT);
    }
    // SAFETY: moto-rt passes a writable value of `len` bytes.
    unsafe {
        match len {
            1 => *(ptr as *mut u8) = v as u8,
            2 => *(ptr as *mut u16) = v as u16,
            4 => *(ptr as *mut u32) = v as u32,
            8 => *(ptr as *mut u64) = v,
            _ => return Err(E_INVALID_ARGUMENT),
        }
    }
    Ok(())
}

/// The server's option for a moto-rt one.
fn server_opt(opt: u64) -> Option<u64> {
    match opt {
        mnet::SO_NODELAY => Some(sockopt::NODELAY),
        mnet::SO_TTL => Some(sockopt::TTL),
        mnet::SO_LINGER => Some(sockopt::LINGER),
        mnet::SO_BROADCAST => Some(sockopt::BROADCAST),
        mnet::SO_ERROR => Some(sockopt::ERROR),
        _ => None,
    }
}

pub extern "C" fn setsockopt(fd: RtFd, opt: u64, ptr: usize, len: usize) -> ErrorCode {
    code(socket_of(fd).and_then(|s| {
        let v = opt_in(ptr, len)?;
        match opt {
            mnet::SO_NONBLOCKING => s.set_nonblocking(v != 0),
            mnet::SO_RCVTIMEO => s.set_read_timeout(v)?,
            mnet::SO_SNDTIMEO => s.set_write_timeout(v)?,
            mnet::SO_SHUTDOWN => {
                let how = v & (net::SHUT_READ | net::SHUT_WRITE);
                call(Op::NetShutdown, 0, [s.id, how, 0, 0, 0])?;
            }
            mnet::SO_ONLY_IPV6 if v == 0 => {}
            _ => {
                let o = server_opt(opt).ok_or(E_NOT_IMPLEMENTED)?;
                call(Op::NetSetOpt, 0, [s.id, o, v, 0, 0])?;
            }
        }
        Ok(())
    }))
}

pub extern "C" fn getsockopt(fd: RtFd, opt: u64, ptr: usize, len: usize) -> ErrorCode {
    code(socket_of(fd).and_then(|s| {
        let v = match opt {
            mnet::SO_NONBLOCKING => u64::from(s.nonblocking()),
            mnet::SO_RCVTIMEO => s.read_timeout(),
            mnet::SO_SNDTIMEO => s.write_timeout(),
            mnet::SO_ONLY_IPV6 => 0,
            _ => {
                let o = server_opt(opt).ok_or(E_NOT_IMPLEMENTED)?;
                call(Op::NetGetOpt, 0, [s.id, o, 0, 0, 0])?.args[0]
            }
        };
        opt_out(ptr, len, v)
    }))
}

/// One receive into `buf` (at most 64 KiB per request); returns the bytes
/// and, for UDP, the sender. A blocking receive does not wait in the
/// server (a parked request would hold data slots and a queue entry for as
/// long as the peer is silent): it sleeps on the socket's readiness word
/// and asks only when the server says a receive will complete.
pub fn recv(s: &Socket, buf: &mut [u8], peek: bool) -> Result<(usize, u64, u64), ErrorCode> {
    if s.nonblocking() {
        return recv_once(s, buf, peek, net::NONBLOCK);
    }
    let timeout = s.read_timeout();
    let deadline = if timeout == net::FOREVER { u64::MAX } else { vireo_rt::sys::now_ns().saturating_add(timeout) };
    loop {
        let left = if deadline == u64::MAX {
            vireo_rt::sys::FOREVER
        } else {
            match deadline.checked_sub(vireo_rt::sys::now_ns()) {
                Some(left) if left > 0 => left,
                _ => return Err(E_TIMED_OUT),
            }
        };
        match channel::readable_or_wait(s.id, left) {
            // No word (cannot happen with this server): the server waits.
            None => return recv_once(s, buf, peek, 0),
            Some(true) => match recv_once(s, buf, peek, net::NONBLOCK) {
                // Drained by another thread of the socket: the word says so now.
                Err(E_NOT_READY) => {}
                r => return r,
            },
            Some(false) => {}
        }
    }
}

/// One receive request (`flags`: NONBLOCK or 0; the socket's timeout goes with it).
fn recv_once(s: &Socket, buf: &mut [u8], peek: bool, flags: u16) -> Result<(usize, u64, u64), ErrorCode> {
    let mut msg = Msg::new(0, Op::NetRecv);
    msg.flags = flags | if peek { net::PEEK } else { 0 };
    msg.args[..2].copy_from_slice(&[s.id, s.read_timeout()]);
    let mut g = lock()?;
    let room = buf.len().min(CHUNK);
    let p = g.push(msg, &[], room, Room::Shrink)?;
    let (reply, n) = g.finish(p, &mut buf[..room])?;
    Ok((n, reply.args[1], reply.args[2]))
}

/// One send of (the start of) `data`; returns the bytes taken.
pub fn send(s: &Socket, data: &[u8], to: Option<(u64, u64)>) -> Result<usize, ErrorCode> {
    let mut msg = Msg::new(0, Op::NetSend);
    msg.flags = s.flags();
    msg.args[..2].copy_from_slice(&[s.id, s.write_timeout()]);
    if let Some((ip, port)) = to {
        msg.flags |= net::TO;
        msg.args[2] = ip;
        msg.args[3] = port;
    }
    if s.kind == Kind::Udp && data.len() > CHUNK {
        return Err(E_INVALID_ARGUMENT);
    }
    let mut g = lock()?;
    // A datagram goes whole; a stream write may be split (std loops), and
    // takes at most a quarter of the free slots (it may wait in the server
    // for send buffer room, holding them).
    let n = if s.kind == Kind::Udp {
        data.len()
    } else {
        let share = (channel::free_slots() / 4).max(1) * vireo_io_channel::SLOT_SIZE;
        data.len().min(CHUNK).min(share)
    };
    let mut part = n;
    let p = loop {
        match g.push(msg, &data[..part], part, if s.kind == Kind::Udp { Room::Wait } else { Room::NoWait }) {
            Ok(p) => break p,
            Err(channel::NO_ROOM) if part > vireo_io_channel::SLOT_SIZE => part /= 2,
            Err(channel::NO_ROOM) => break g.push(msg, &data[..part], part, Room::Wait)?,
            Err(e) => return Err(e),
        }
    };
    let (reply, _) = g.finish(p, &mut [])?;
    Ok((reply.args[0] as usize).min(part))
}

pub extern "C" fn peek(fd: RtFd, buf: *mut u8, len: usize) -> i64 {
    if buf.is_null() && len > 0 {
        return neg(E_INVALID_ARGUMENT);
    }
    // SAFETY: std passes a valid buffer of `len` bytes.
    let buf = unsafe { core::slice::from_raw_parts_mut(buf, len) };
    match socket_of(fd).and_then(|s| recv(&s, buf, true)) {
        Ok((n, _, _)) => n as i64,
        Err(e) => neg(e),
    }
}

fn recv_from(fd: RtFd, buf: *mut u8, len: usize, from: *mut sockaddr, peek: bool) -> i64 {
    if buf.is_null() && len > 0 {
        return neg(E_INVALID_ARGUMENT);
    }
    // SAFETY: std passes a valid buffer of `len` bytes.
    let buf = unsafe { core::slice::from_raw_parts_mut(buf, len) };
    match socket_of(fd).and_then(|s| recv(&s, buf, peek)) {
        Ok((n, ip, port)) => {
            addr_out(from, ip, port);
            n as i64
        }
        Err(e) => neg(e),
    }
}

pub extern "C" fn udp_recv_from(fd: RtFd, buf: *mut u8, len: usize, from: *mut sockaddr) -> i64 {
    recv_from(fd, buf, len, from, false)
}

pub extern "C" fn udp_peek_from(fd: RtFd, buf: *mut u8, len: usize, from: *mut sockaddr) -> i64 {
    recv_from(fd, buf, len, from, true)
}

pub extern "C" fn udp_send_to(fd: RtFd, buf: *const u8, len: usize, to: *const sockaddr) -> i64 {
    if buf.is_null() && len > 0 {
        return neg(E_INVALID_ARGUMENT);
    }
    // SAFETY: std passes a valid slice of `len` bytes.
    let data = unsafe { core::slice::from_raw_parts(buf, len) };
    match socket_of(fd).and_then(|s| send(&s, data, Some(addr_in(to)?))) {
        Ok(n) => n as i64,
        Err(e) => neg(e),
    }
}

/// Multicast is not supported.
pub extern "C" fn multicast_op(_fd: RtFd, _op: u64, _a: usize, _b: usize) -> ErrorCode {
    E_NOT_IMPLEMENTED
}
