//! ServiceRegister, ServiceConnect, ServiceAccept.
use crate::children::{word, ANSWER_AT, ASK_AT, MAGIC};
use crate::{expect_err, ok, wait_child, Check, PATIENCE_NS, RIGHT};
use core::sync::atomic::Ordering;
use vireo_rt::pv_abi::syscall::{rights, status, Sys, MAX_PENDING_CONNECTIONS};
use vireo_rt::sys::{self, prot};
use vireo_rt::{println, raw, Error};

pub fn all() -> Check {
    round_trip()?;
    println!("test-services: round trip ok");
    registry()?;
    println!("test-services: registry ok");
    queue()?;
    println!("test-services: queue ok");
    client_end()?;
    println!("test-services: client end ok");
    killed_acceptor()?;
    println!("test-services: killed acceptor ok");
    Ok(())
}

/// Tries to connect to `name` until it is registered.
fn connect_when_there(name: &str, h: u64) -> Check {
    let start = sys::now_ns();
    loop {
        match sys::service_connect(name, h) {
            Ok(_) => return Ok(()),
            Err(Error::NotFound) if sys::now_ns() - start < PATIENCE_NS => {
                let _ = sys::sleep(1_000_000);
            }
            Err(e) => return ok(Err(e), "connect to a child's service"),
        }
    }
}

/// A client here, the server a child process: the region is shared (the
/// server reads our word and writes its answer), and the name is free
/// again once the server has ended.
fn round_trip() -> Check {
    let server = ok(sys::spawn_with_handles("/test/services", &["server"], &[RIGHT]), "spawn the server")?;
    let shm = ok(sys::shm_create(4096), "shm")?;
    let addr = ok(sys::shm_map(shm, prot::READ | prot::WRITE), "map the region")?;
    word(addr, ASK_AT).store(MAGIC, Ordering::Release);
    connect_when_there("svc-echo", shm)?;
    if wait_child(server, "wait for the server")? != 0 {
        return Err("the server failed");
    }
    if word(addr, ANSWER_AT).load(Ordering::Acquire) != MAGIC + 1 {
        return Err("no answer from the server in the shared region");
    }
    // The server ended: its listener is gone and so is the name.
    let l = ok(sys::service_register(RIGHT, "svc-echo"), "register the dead server's name")?;
    ok(sys::close(l), "close")?;
    expect_err(sys::service_connect("svc-echo", shm), Error::NotFound, "connect after the listener closed")?;
    ok(sys::close(shm), "close")?;
    Ok(())
}

/// Names, rights and argument checks.
fn registry() -> Check {
    let shm = ok(sys::shm_create(4096), "shm")?;
    let l = ok(sys::service_register(RIGHT, "svc-a"), "register svc-a")?;
    expect_err(sys::service_register(RIGHT, "svc-a"), Error::Busy, "register svc-a twice")?;
    expect_err(sys::service_connect("svc-none", shm), Error::NotFound, "connect to a missing name")?;
    expect_err(sys::service_register(RIGHT, ""), Error::Invalid, "register an empty name")?;
    let long = "x123456789012345678901234567890123";
    expect_err(sys::service_register(RIGHT, long), Error::Invalid, "register a 33-byte name")?;
    expect_err(sys::service_connect(long, shm), Error::Invalid, "connect to a 33-byte name")?;
    // Without the device right.
    // (A region handle lacks DEVICE: refused for the right before its kind.)
    expect_err(sys::service_register(shm, "svc-b"), Error::AccessDenied, "register with a region handle")?;
    let weak = ok(sys::duplicate(RIGHT, rights::DUPLICATE), "duplicate the right without DEVICE")?;
    expect_err(sys::service_register(weak, "svc-b"), Error::AccessDenied, "register without DEVICE")?;
    expect_err(sys::initrd_map(weak), Error::AccessDenied, "InitrdMap without DEVICE")?;
    expect_err(sys::service_register(999, "svc-b"), Error::BadHandle, "register with a bad handle")?;
    // Passing needs DUPLICATE on the handle passed.
    let no_dup = ok(sys::duplicate(shm, rights::MAP), "duplicate the region without DUPLICATE")?;
    expect_err(sys::service_connect("svc-a", no_dup), Error::AccessDenied, "pass a handle without DUPLICATE")?;
    expect_err(sys::service_connect("svc-a", 999), Error::BadHandle, "pass a bad handle")?;
    // Accept on what is not a listener; a listener cannot be passed on.
    expect_err(sys::service_accept(shm, 0), Error::AccessDenied, "accept on a region (no WAIT)")?;
    let hello = ok(sys::spawn("/bin/hello", &[]), "spawn /bin/hello")?;
    expect_err(sys::service_accept(hello, 0), Error::WrongKind, "accept on a process")?;
    wait_child(hello, "wait for /bin/hello")?;
    expect_err(sys::service_accept(999, 0), Error::BadHandle, "accept on a bad handle")?;
    expect_err(sys::service_connect("svc-a", l), Error::AccessDenied, "pass a listener")?;
    expect_err(sys::duplicate(l, rights::WAIT), Error::AccessDenied, "duplicate a listener")?;
    for h in [l, weak, no_dup, shm] {
        ok(sys::close(h), "close")?;
    }
    Ok(())
}

/// The pending-connection limit, polling, timeouts, a bad out pointer and
/// WaitMany on a listener, all within this process.
fn queue() -> Check {
    let shm = ok(sys::shm_create(4096), "shm")?;
    let l = ok(sys::service_register(RIGHT, "svc-q"), "register svc-q")?;
    expect_err(sys::service_accept(l, 0), Error::TimedOut, "poll an empty listener")?;
    let t0 = sys::now_ns();
    expect_err(sys::service_accept(l, 20_000_000), Error::TimedOut, "accept with a 20 ms timeout")?;
    if sys::now_ns() - t0 < 20_000_000 {
        return Err("accept timed out early");
    }
    let ready = |timeout: u64| {
        let hs = [l];
        // SAFETY: the kernel reads one handle from `hs`, which we own.
        let r = unsafe { raw::syscall3(Sys::WaitMany as u64, hs.as_ptr() as u64, 1, timeout) };
        Error::from_ret(r)
    };
    expect_err(ready(5_000_000), Error::TimedOut, "WaitMany on an empty listener")?;
    for _ in 0..MAX_PENDING_CONNECTIONS {
        ok(sys::service_connect("svc-q", shm), "connect below the limit")?;
    }
    expect_err(sys::service_connect("svc-q", shm), Error::Limit, "connect past the limit")?;
    if ok(ready(0), "WaitMany on a listener with connections")? != 1 {
        return Err("WaitMany did not report the listener ready");
    }
    // A bad out pointer loses nothing: the connection stays queued.
    // SAFETY: the kernel must refuse the unmapped pointer without writing.
    let r = unsafe { raw::syscall3(Sys::ServiceAccept as u64, l, 0x10, 0) };
    expect_err(Error::from_ret(r), Error::Fault, "accept into an unmapped buffer")?;
    let mut taken = 0;
    loop {
        match sys::service_accept(l, 0) {
            Ok((region, client)) => {
                // What we passed, with its rights; and ourselves, WAIT only.
                ok(sys::shm_map(region, prot::READ | prot::WRITE), "map an accepted region")?;
                expect_err(sys::wait(client, 0), Error::Busy, "wait for ourselves")?;
                expect_err(sys::kill(client), Error::AccessDenied, "kill through a client handle")?;
                ok(sys::close(region), "close")?;
                ok(sys::close(client), "close")?;
                taken += 1;
            }
            Err(Error::TimedOut) => break,
            Err(e) => return ok(Err(e), "accept a queued connection"),
        }
    }
    if taken != MAX_PENDING_CONNECTIONS {
        println!("test-services: accepted {taken} of {MAX_PENDING_CONNECTIONS}");
        return Err("not every queued connection was accepted once");
    }
    ok(sys::close(l), "close")?;
    expect_err(sys::service_connect("svc-q", shm), Error::NotFound, "connect to a closed listener")?;
    ok(sys::close(shm), "close")?;
    Ok(())
}

/// A child connects and exits: the server notices through the process
/// handle it accepted.
fn client_end() -> Check {
    let l = ok(sys::service_register(RIGHT, "svc-watch"), "register svc-watch")?;
    let child = ok(sys::spawn("/test/services", &["client"]), "spawn the client")?;
    let (region, client) = ok(sys::service_accept(l, PATIENCE_NS), "accept the client")?;
    ok(sys::shm_map(region, prot::READ), "map the client's region")?;
    if ok(sys::wait(client, PATIENCE_NS), "wait through the client handle")? != 0 {
        return Err("the client failed");
    }
    wait_child(child, "wait for the client")?;
    for h in [region, client, l] {
        ok(sys::close(h), "close")?;
    }
    Ok(())
}

/// A process blocked in accept is killed: it leaves, and its name is free.
fn killed_acceptor() -> Check {
    let child = ok(sys::spawn_with_handles("/test/services", &["acceptor"], &[RIGHT]), "spawn the acceptor")?;
    let shm = ok(sys::shm_create(4096), "shm")?;
    connect_when_there("svc-kill", shm)?;
    // Give it time to be parked in its second accept.
    let _ = sys::sleep(50_000_000);
    expect_err(sys::wait(child, 0), Error::TimedOut, "the acceptor is waiting")?;
    ok(sys::kill(child), "kill the acceptor")?;
    let s = wait_child(child, "wait for the killed acceptor")?;
    if s != status::KILLED {
        println!("test-services: the acceptor ended with {s:#x}");
        return Err("the killed acceptor did not end as killed");
    }
    let l = ok(sys::service_register(RIGHT, "svc-kill"), "register the killed acceptor's name")?;
    ok(sys::close(l), "close")?;
    ok(sys::close(shm), "close")?;
    Ok(())
}
