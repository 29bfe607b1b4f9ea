//! The child modes. Each gets the device right as its handle 1 (the parent
//! passes it on), except `client`.
use crate::{expect_err, ok, Check, PATIENCE_NS, RIGHT};
use core::sync::atomic::{AtomicU64, Ordering};
use vireo_rt::sys::{self, prot, FOREVER};
use vireo_rt::Error;

/// The value the client leaves in the channel region, and the offsets of
/// its word and the server's answer.
pub const MAGIC: u64 = 0x5e47_1cec_0ffe_e001;
pub const ASK_AT: usize = 0;
pub const ANSWER_AT: usize = 8;

pub fn run(mode: &str) -> Check {
    match mode {
        "server" => server(),
        "acceptor" => acceptor(),
        "client" => client(),
        "write-initrd" => write_initrd(),
        _ => Err("unknown mode"),
    }
}

/// The word at `off` of a mapping at `addr`.
pub fn word(addr: u64, off: usize) -> &'static AtomicU64 {
    // SAFETY: `addr` is a live, page-aligned shared mapping of at least a
    // page that stays mapped for the rest of the process (never unmapped),
    // and `off` is 8-aligned within it; other processes only touch it atomically.
    unsafe { &*((addr as usize + off) as *const AtomicU64) }
}

/// Registers `svc-echo`, takes one connection, answers the word in its
/// region with the word plus one, and checks the client handle's rights.
fn server() -> Check {
    let l = ok(sys::service_register(RIGHT, "svc-echo"), "server: register")?;
    let (region, client) = ok(sys::service_accept(l, PATIENCE_NS), "server: accept")?;
    let addr = ok(sys::shm_map(region, prot::READ | prot::WRITE), "server: map the region")?;
    let asked = word(addr, ASK_AT).load(Ordering::Acquire);
    if asked != MAGIC {
        return Err("server: the region does not hold the client's word");
    }
    // The client handle is for waiting only.
    expect_err(sys::kill(client), Error::AccessDenied, "server: kill through the client handle")?;
    expect_err(sys::wait(client, 0), Error::TimedOut, "server: the client is still running")?;
    word(addr, ANSWER_AT).store(asked + 1, Ordering::Release);
    Ok(())
}

/// Registers `svc-kill`, accepts one connection (the parent's sign that it
/// is registered), then waits in accept until it is killed.
fn acceptor() -> Check {
    let l = ok(sys::service_register(RIGHT, "svc-kill"), "acceptor: register")?;
    ok(sys::service_accept(l, PATIENCE_NS), "acceptor: first accept")?;
    let _ = sys::service_accept(l, FOREVER);
    Err("acceptor: the second accept returned")
}

/// Connects to `svc-watch` with a region, then exits 0: the server sees it
/// end through the process handle it accepted.
fn client() -> Check {
    let shm = ok(sys::shm_create(4096), "client: shm")?;
    ok(sys::service_connect("svc-watch", shm), "client: connect")?;
    Ok(())
}

/// Maps the initrd and writes to it: the write must kill this process.
fn write_initrd() -> Check {
    let rd = ok(sys::initrd_map(RIGHT), "write-initrd: map")?;
    // SAFETY: deliberately writing a read-only mapping: the kernel must kill
    // the process at this store (the parent checks the exit status).
    unsafe { core::ptr::write_volatile(rd.as_ptr() as *mut u8, b'X') };
    Err("write-initrd: the write to the initrd went through")
}
