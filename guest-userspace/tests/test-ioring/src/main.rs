//! `/test/ioring`: the I/O channel between two processes, end to end.
//!
//! The parent creates the shared region, spawns itself as the echo server
//! (`/test/ioring server`, the region is its handle 1), sends 10,000
//! requests in batches of 1 to 32 (half of them with data in a slot) and
//! checks every reply: order, status, args and data. Then it times batches
//! of 1 and of 32 without data and prints the cost per request in TSC ticks
//! (guest instructions under QEMU `-icount shift=0`).
#![no_std]
#![no_main]

mod futex;
mod server;

use futex::Futex;
use vireo_io_channel::{Client, Msg, Op, Region, REGION_SIZE, SLOT_SIZE};
use vireo_rt::sys::{self, prot};
use vireo_rt::{println, rdtsc};

vireo_rt::entry!(main);

const CHECKED: u64 = 10_000;
const TIMED: u64 = 32 * 100;
/// The largest batch: half the queue, so a batch never meets a full queue.
const MAX_BATCH: usize = 32;
/// Empty waits (of WAIT_NS each) before we call the server dead.
const PATIENCE: u32 = 10;
const WAIT_NS: u64 = 1_000_000_000;

/// Maps the channel region behind `handle`.
pub fn map(handle: u64, prot: u64) -> Result<Region, &'static str> {
    let addr = sys::shm_map(handle, prot).map_err(|e| e.name())?;
    // SAFETY: the kernel mapped the whole REGION_SIZE object, page-aligned
    // and writable, for the rest of this process's life; the other process
    // only reaches it through its own mapping.
    unsafe { Region::from_raw(addr as *mut u8, REGION_SIZE) }.map_err(|_| "the mapping is not a channel region")
}

fn args_of(id: u64) -> [u64; 5] {
    [id, !id, id << 7, id.wrapping_mul(0x9e37_79b9), 5]
}

fn byte(id: u64, i: usize) -> u8 {
    (id as usize).wrapping_add(i * 7) as u8
}

/// Sends `n` requests from `first_id` as one batch (one wake-up) and checks
/// all `n` replies; with `data`, every even id carries bytes in a slot.
fn batch(client: &mut Client, first_id: u64, n: usize, data: bool, flags: u16) -> Result<(), &'static str> {
    let mut slots = [None; MAX_BATCH];
    for (j, slot) in slots.iter_mut().enumerate().take(n) {
        let id = first_id + j as u64;
        let mut msg = Msg::new(id, Op::Nop);
        (msg.args, msg.flags) = (args_of(id), flags);
        if data && id.is_multiple_of(2) {
            if let Ok(s) = client.slots.take() {
                let len = (id as usize * 13) % (SLOT_SIZE - 16) + 1;
                let mut buf = [0u8; SLOT_SIZE];
                buf.iter_mut().take(len).enumerate().for_each(|(i, b)| *b = byte(id, i));
                client.region.write_slot(s as usize, 16, &buf[..len]).map_err(|_| "write_slot")?;
                (msg.slot, msg.offset, msg.len) = (s, 16, len as u32);
                *slot = Some(s);
            }
        }
        client.submit.push(&msg).map_err(|_| "push refused")?;
    }
    client.submit.notify(&Futex);
    let mut idle = 0;
    let mut j = 0;
    while j < n {
        let Some(reply) = client.complete.pop().map_err(|_| "bad completion queue")? else {
            if client.complete.wait(&Futex, WAIT_NS).map_err(|_| "bad completion queue")? == 0 {
                idle += 1;
                if idle == PATIENCE {
                    return Err("the server stopped answering");
                }
            }
            continue;
        };
        check(client, &reply, first_id + j as u64, slots[j])?;
        j += 1;
    }
    Ok(())
}

fn check(client: &mut Client, reply: &Msg, id: u64, slot: Option<u16>) -> Result<(), &'static str> {
    if reply.id != id {
        println!("test-ioring: reply {} where {id} was due", reply.id);
        return Err("a reply out of order");
    }
    reply.result().map_err(|_| "an error status")?;
    if reply.args.iter().zip(args_of(id)).any(|(got, sent)| *got != sent.wrapping_add(1)) {
        return Err("wrong args in a reply");
    }
    if let Some(s) = slot {
        let mut buf = [0u8; SLOT_SIZE];
        let buf = &mut buf[..reply.len as usize];
        client.region.read_slot(s as usize, 16, buf).map_err(|_| "a reply's data range is bad")?;
        if buf.iter().rev().enumerate().any(|(i, b)| *b != byte(id, i)) {
            return Err("wrong data in a reply");
        }
        client.slots.give(s).map_err(|_| "a slot given back twice")?;
    }
    Ok(())
}

/// Cost per request in TSC ticks of `TIMED` requests in batches of `n`.
fn timed(client: &mut Client, first_id: u64, n: usize) -> Result<u64, &'static str> {
    batch(client, first_id, n, false, 0)?;
    let t0 = rdtsc();
    let mut id = first_id + n as u64;
    while id < first_id + n as u64 + TIMED {
        batch(client, id, n, false, 0)?;
        id += n as u64;
    }
    Ok((rdtsc() - t0) / TIMED)
}

fn parent() -> Result<(), &'static str> {
    let shm = sys::shm_create(REGION_SIZE as u64).map_err(|e| e.name())?;
    let mut client = Client::create(map(shm, prot::READ | prot::WRITE)?);
    let child = sys::spawn_with_handles("/test/ioring", &["server"], &[shm]).map_err(|e| e.name())?;
    let mut id = 0;
    let mut n = 1;
    while id < CHECKED {
        let len = n.min((CHECKED - id) as usize);
        batch(&mut client, id, len, true, 0)?;
        id += len as u64;
        n = n % MAX_BATCH + 1;
    }
    println!("test-ioring: {CHECKED} requests in batches of 1 to {MAX_BATCH} checked");
    for n in [1, 32] {
        let per = timed(&mut client, id, n)?;
        id += (TIMED + n as u64) * 2;
        println!("test-ioring: batch {n}: {per} tsc per request ({TIMED} requests)");
    }
    batch(&mut client, id, 1, false, server::STOP)?;
    let status = sys::wait(child, 10 * WAIT_NS).map_err(|e| e.name())?;
    if status != 0 {
        return Err("the server ended with a failure status");
    }
    if client.slots.used() != 0 {
        return Err("slots still lent out");
    }
    Ok(())
}

fn main() -> i32 {
    if vireo_rt::args().iter().next() == Some("server") {
        return server::main();
    }
    match parent() {
        Ok(()) => {
            println!("test-ioring: ok");
            0
        }
        Err(e) => {
            println!("test-ioring: FAILED: {e}");
            1
        }
    }
}
