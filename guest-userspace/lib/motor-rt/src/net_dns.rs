//! moto-rt's `dns_lookup` slot (what std's `ToSocketAddrs` calls for a
//! name): the I/O server's `Resolve` op on the process's channel
//! (`vireo_io_channel::op::Op::Resolve`; docs/network.md, "Name
//! resolution"). The server resolves, with its cache shared by every
//! process; this only moves the name in and the addresses out.
use crate::fs::channel;
use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use moto_rt::error::{
    ErrorCode, E_INTERNAL_ERROR, E_INVALID_ARGUMENT, E_NOT_CONNECTED, E_NOT_FOUND, E_OK, E_OUT_OF_MEMORY, E_TIMED_OUT,
};
use moto_rt::netc;
use vireo_io_channel::{resolve, Msg, Op};

/// moto-rt frees the array with this alignment (`moto_rt::net::lookup_host`).
const ALIGN: usize = 16;

/// Resolves `host` (`host_len` bytes of UTF-8): on success an array of
/// `*result_len` `netc::sockaddr` (IPv4, port `port`) at `*result_addr`,
/// allocated with the layout moto-rt frees it with.
pub extern "C" fn dns_lookup(
    host: *const u8,
    host_len: usize,
    port: u16,
    result_addr: *mut usize,
    result_len: *mut usize,
) -> ErrorCode {
    if host.is_null() || result_addr.is_null() || result_len.is_null() || host_len > resolve::MAX_NAME {
        return E_INVALID_ARGUMENT;
    }
    // SAFETY: moto-rt passes a `&str`'s pointer and length.
    let name = unsafe { core::slice::from_raw_parts(host, host_len) };
    let mut msg = Msg::new(0, Op::Resolve);
    msg.args[1] = host_len as u64;
    let mut out = [0u8; 4 * resolve::MAX_ADDRS];
    let reply = channel::lock().and_then(|mut g| g.call(msg, name, &mut out));
    let (reply, got) = match reply {
        Ok(r) => r,
        Err(e) => return e,
    };
    match reply.args[0] {
        resolve::OK => {}
        resolve::NOT_FOUND | resolve::NO_ADDRESS => return E_NOT_FOUND,
        resolve::TIMED_OUT => return E_TIMED_OUT,
        resolve::INVALID_NAME => return E_INVALID_ARGUMENT,
        resolve::NO_NETWORK | resolve::NO_SERVERS => return E_NOT_CONNECTED,
        _ => return E_INTERNAL_ERROR,
    }
    let n = usize::try_from(reply.args[1]).unwrap_or(0).min(got / 4);
    if n == 0 {
        return E_NOT_FOUND;
    }
    let Ok(layout) = core::alloc::Layout::from_size_align(core::mem::size_of::<netc::sockaddr>() * n, ALIGN) else {
        return E_INTERNAL_ERROR;
    };
    // SAFETY: the layout has a non-zero size (n >= 1).
    let array = unsafe { alloc::alloc::alloc(layout) } as *mut netc::sockaddr;
    if array.is_null() {
        return E_OUT_OF_MEMORY;
    }
    for (i, a) in out[..4 * n].chunks_exact(4).enumerate() {
        let ip = Ipv4Addr::new(a[0], a[1], a[2], a[3]);
        let addr = netc::sockaddr::from(SocketAddr::V4(SocketAddrV4::new(ip, port)));
        // SAFETY: `array` has room for n entries, suitably aligned.
        unsafe { array.add(i).write(addr) };
    }
    // SAFETY: moto-rt passes pointers to its two locals.
    unsafe {
        *result_addr = array as usize;
        *result_len = n;
    }
    E_OK
}
