//! Connections: the accepting thread and one serving thread per client.
//!
//! A client connects by passing the shared-memory region of its I/O
//! channel; the kernel also gives us a handle to its process, which is how
//! we notice it ended (its open files are then closed for it). A client
//! that breaks the protocol loses its connection and nothing else.

use crate::futex::Futex;
use crate::handles::Handles;
use crate::net::{self, sock, sock::ConnShared};
use crate::serve;
use alloc::sync::Arc;
use alloc::vec::Vec;
use vireo_io_channel::{Consumer, Error, Op, Region, Server, REGION_SIZE};
use vireo_rt::sys::{self, prot};
use vireo_rt::{println, thread};

/// How long a serving thread sleeps before checking its client is alive.
const IDLE_CHECK_NS: u64 = 1_000_000_000;

/// Takes connections forever, each to a thread of its own.
pub fn accept_loop(listener: u64) {
    loop {
        match sys::service_accept(listener, sys::FOREVER) {
            Ok((shm, process)) => {
                if let Err(e) = thread::spawn(move || connection(shm, process)) {
                    println!("io: cannot serve a new client (no thread: {}); dropped", e.name());
                    let _ = sys::close(shm);
                    let _ = sys::close(process);
                }
            }
            Err(e) => {
                println!("io: accepting failed: {}", e.name());
                let _ = sys::sleep(10_000_000);
            }
        }
    }
}

/// State of one client's connection.
pub struct Conn {
    pub handles: Handles,
    /// Request data is staged here between the region and the file system.
    pub buf: Vec<u8>,
    /// Open made-up files (`/sys/...`).
    pub sys: crate::sysfiles::SysHandles,
}

fn connection(shm: u64, process: u64) {
    // A region smaller than a channel would let us touch unmapped memory.
    match sys::shm_len(shm) {
        Ok(len) if len >= REGION_SIZE as u64 => {}
        _ => {
            println!("io: a client passed something that is not a channel region; dropped");
            let _ = sys::close(shm);
            let _ = sys::close(process);
            return;
        }
    }
    match sys::shm_map(shm, prot::READ | prot::WRITE) {
        Ok(addr) => {
            // The object is at least REGION_SIZE bytes (checked above).
            // SAFETY: the kernel mapped all of it until we unmap it after the last use.
            let region = unsafe { Region::from_raw(addr as *mut u8, REGION_SIZE) };
            match region.map_err(|_| Error::BadRegion).and_then(Server::attach) {
                Ok(server) => serve_client(server, process),
                Err(e) => println!("io: a client's channel is unusable ({e:?}); dropped"),
            }
            // SAFETY: nothing refers to the region any more.
            let _ = unsafe { sys::unmap(addr, REGION_SIZE as u64) };
        }
        Err(e) => println!("io: cannot map a client's channel: {}; dropped", e.name()),
    }
    let _ = sys::close(shm);
    let _ = sys::close(process);
}

fn serve_client(server: Server, process: u64) {
    let Server { region, mut requests, replies } = server;
    let shared = ConnShared::new(region, replies);
    let mut conn = Conn { handles: Handles::default(), buf: Vec::new(), sys: Default::default() };
    let mut used_net = false;
    if let Err(e) = serve_loop(&mut requests, &shared, &mut conn, process, &mut used_net) {
        println!("io: a client broke the channel protocol ({e:?}); dropped");
    }
    // No reply may reach the region once we return (it is unmapped then).
    shared.kill();
    if used_net {
        if let Some(h) = net::handle() {
            sock::forget(&h, shared.id);
        }
    }
    let mut root = crate::ROOT.lock();
    if let Some(fs) = root.as_mut() {
        for open in conn.handles.drain() {
            let _ = fs.close(open.node);
        }
    }
}

/// Answers fs requests here, at once and in order; hands socket requests
/// to the net thread, which completes them when it can (out of order).
fn serve_loop(
    requests: &mut Consumer,
    shared: &Arc<ConnShared>,
    conn: &mut Conn,
    process: u64,
    used_net: &mut bool,
) -> Result<(), Error> {
    loop {
        let mut took = false;
        while shared.free()? > 0 {
            let Some(req) = requests.pop()? else { break };
            took = true;
            if Op::try_from(req.op).is_ok_and(Op::is_net) {
                *used_net = true;
                sock::submit(net::handle().as_ref(), shared, req);
                continue;
            }
            let reply = serve::answer(conn, &shared.region, &req);
            shared.complete(&reply)?;
        }
        if took {
            continue;
        }
        if requests.wait(&Futex, IDLE_CHECK_NS)? == 0 && sys::wait(process, 0).is_ok() {
            return Ok(());
        }
    }
}
