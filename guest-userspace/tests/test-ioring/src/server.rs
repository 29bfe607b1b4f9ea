//! The child: an echo "server" on the channel region it got as handle 1.
//! It answers each request with its args plus one and its data reversed,
//! until a request carries the test's stop flag.

use crate::futex::Futex;
use vireo_io_channel::{Error, Msg, Op, Server, Status};
use vireo_rt::sys::{self, prot};

/// `flags` bit that tells the echo server to stop after answering.
pub const STOP: u16 = 0x8000;

fn answer(server: &Server, req: &Msg) -> Result<Msg, Error> {
    Op::try_from(req.op)?;
    let mut reply = *req;
    for a in &mut reply.args {
        *a = a.wrapping_add(1);
    }
    if let Some((slot, offset, len)) = req.data()? {
        let mut buf = [0u8; vireo_io_channel::SLOT_SIZE];
        let buf = &mut buf[..len];
        server.region.read_slot(slot, offset, buf)?;
        buf.reverse();
        server.region.write_slot(slot, offset, buf)?;
    }
    Ok(reply)
}

fn serve(mut server: Server) -> Result<(), Error> {
    loop {
        let mut did = false;
        while server.replies.free()? > 0 {
            let Some(req) = server.requests.pop()? else { break };
            let reply = answer(&server, &req).unwrap_or_else(|e| Msg { status: Status::from(e) as u16, ..req });
            server.replies.push(&reply)?;
            did = true;
            if req.flags & STOP != 0 {
                server.replies.notify(&Futex);
                return Ok(());
            }
        }
        if did {
            server.replies.notify(&Futex);
        } else {
            server.requests.wait(&Futex, sys::FOREVER)?;
        }
    }
}

pub fn main() -> i32 {
    let region = match crate::map(1, prot::READ | prot::WRITE) {
        Ok(r) => r,
        Err(e) => {
            vireo_rt::println!("test-ioring server: FAILED: {e}");
            return 1;
        }
    };
    match Server::attach(region).and_then(serve) {
        Ok(()) => 0,
        Err(e) => {
            vireo_rt::println!("test-ioring server: FAILED: {e:?}");
            1
        }
    }
}
