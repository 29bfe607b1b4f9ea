//! Shared pieces of the I/O channel host tests: a small deterministic
//! random generator and an echo server loop over a channel.

use std::sync::atomic::{AtomicBool, Ordering};
use vireo_io_channel::host::SpinWaker;
use vireo_io_channel::{Error, Msg, Op, Server};

/// xorshift64*: reproducible without a dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }
}

/// What the echo server answers: the request's args, each plus one, and its
/// data bytes reversed in place. The client checks exactly this.
pub fn echo(server: &Server, req: &Msg) -> Result<Msg, Error> {
    Op::try_from(req.op)?;
    let mut reply = *req;
    for a in &mut reply.args {
        *a = a.wrapping_add(1);
    }
    if let Some((slot, offset, len)) = req.data()? {
        let mut buf = vec![0; len];
        server.region.read_slot(slot, offset, &mut buf)?;
        buf.reverse();
        server.region.write_slot(slot, offset, &buf)?;
    }
    Ok(reply)
}

/// Serves until `stop` is set and the queue is empty, or the first error.
/// Replies in order, batching the wake-ups. Returns the requests served.
pub fn echo_server(mut server: Server, waker: &SpinWaker, stop: &AtomicBool) -> Result<u64, Error> {
    let mut served = 0;
    loop {
        let mut did = 0;
        while server.replies.free()? > 0 {
            let Some(req) = server.requests.pop()? else { break };
            let reply = match echo(&server, &req) {
                Ok(r) => r,
                Err(e) => Msg { status: vireo_io_channel::Status::from(e) as u16, ..req },
            };
            server.replies.push(&reply)?;
            did += 1;
        }
        if did > 0 {
            served += did;
            server.replies.notify(waker);
            continue;
        }
        if stop.load(Ordering::Acquire) && server.requests.available()? == 0 {
            return Ok(served);
        }
        server.requests.wait(waker, 1_000_000)?;
    }
}
