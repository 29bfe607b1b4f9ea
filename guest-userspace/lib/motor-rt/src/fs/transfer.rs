//! Reads and writes of any size: 64 KiB requests (16-slot data runs), up
//! to four in flight per batch with one notify, reaped in order.
use super::channel::{Guard, Pending, Room, CHUNK, MAX_BATCH, NO_ROOM};
use super::pure::status_code;
use moto_rt::error::ErrorCode;
use vireo_io_channel::{write as wflags, Msg, Op};

/// One batch's requests: (request, start in the caller's buffer, length).
type Batch = [Option<(Pending, usize, usize)>; MAX_BATCH];

/// Reads at `offset` into `buf` until it is full or the file ends; returns
/// the bytes read. An error after some bytes were read returns those.
pub fn read_at(g: &mut Guard, handle: u64, offset: u64, buf: &mut [u8]) -> Result<usize, ErrorCode> {
    let mut done = 0;
    while done < buf.len() {
        let mut batch: Batch = Default::default();
        let mut pushed = Ok(());
        let mut pos = done;
        for (i, entry) in batch.iter_mut().enumerate() {
            if pos == buf.len() {
                break;
            }
            let how = if i == 0 { Room::Wait } else { Room::NoWait };
            let len = CHUNK.min(buf.len() - pos);
            let mut msg = Msg::new(0, Op::Read);
            msg.args[0] = handle;
            msg.args[1] = offset + pos as u64;
            match g.push(msg, &[], len, how) {
                Ok(p) => *entry = Some((p, pos, len)),
                // The channel is busy with other threads' requests: this
                // batch is shorter.
                Err(NO_ROOM) => break,
                Err(e) => {
                    pushed = Err(e);
                    break;
                }
            }
            pos += len;
        }
        g.notify();
        let (got, stop) = reap(g, batch, |g, p, reply, start, len| {
            let n = (reply.len as usize).min(len);
            g.read_data(p, &mut buf[start..start + n])?;
            Ok(n)
        });
        done += got;
        match (stop, pushed) {
            (Some(Err(e)), _) | (None, Err(e)) if done == 0 => return Err(e),
            (Some(_), _) | (None, Err(_)) => break,
            (None, Ok(())) => {}
        }
    }
    Ok(done)
}

/// Writes `data` at `offset` (or at the end with `append`); returns the
/// bytes written and the file offset after them.
pub fn write_at(g: &mut Guard, handle: u64, offset: u64, append: bool, data: &[u8]) -> Result<(usize, u64), ErrorCode> {
    let mut done = 0;
    let mut end = offset;
    while done < data.len() {
        let mut batch: Batch = Default::default();
        let mut pushed = Ok(());
        let mut pos = done;
        for (i, entry) in batch.iter_mut().enumerate() {
            if pos == data.len() {
                break;
            }
            let how = if i == 0 { Room::Wait } else { Room::NoWait };
            let len = CHUNK.min(data.len() - pos);
            let mut msg = Msg::new(0, Op::Write);
            msg.args[0] = handle;
            msg.args[1] = offset + pos as u64;
            if append {
                msg.flags = wflags::AT_END;
            }
            match g.push(msg, &data[pos..pos + len], len, how) {
                Ok(p) => *entry = Some((p, pos, len)),
                // The channel is busy with other threads' requests: this
                // batch is shorter.
                Err(NO_ROOM) => break,
                Err(e) => {
                    pushed = Err(e);
                    break;
                }
            }
            pos += len;
        }
        g.notify();
        let (got, stop) = reap(g, batch, |_, _, reply, _, len| {
            end = reply.args[1];
            Ok((reply.args[0] as usize).min(len))
        });
        done += got;
        match (stop, pushed) {
            (Some(Err(e)), _) | (None, Err(e)) if done == 0 => return Err(e),
            (Some(_), _) | (None, Err(_)) => break,
            (None, Ok(())) => {}
        }
    }
    Ok((done, end))
}

/// Reaps a batch in order. `each` takes a successful reply and returns the
/// bytes it moved; the first short transfer (`Some(Ok)`) or error
/// (`Some(Err)`) stops the count, but every request is still reaped so the
/// replies stay in step. Returns the bytes moved before the stop.
fn reap(
    g: &mut Guard,
    batch: Batch,
    mut each: impl FnMut(&mut Guard, &Pending, &Msg, usize, usize) -> Result<usize, ErrorCode>,
) -> (usize, Option<Result<(), ErrorCode>>) {
    let mut moved = 0;
    let mut stop = None;
    for (p, start, len) in batch.into_iter().flatten() {
        match g.reap(&p) {
            Ok(reply) if stop.is_none() => {
                let r = reply.result().map_err(status_code).and_then(|()| each(g, &p, &reply, start, len));
                match r {
                    Ok(n) => {
                        moved += n;
                        if n < len {
                            stop = Some(Ok(()));
                        }
                    }
                    Err(e) => stop = Some(Err(e)),
                }
            }
            Ok(_) => {}
            // The connection is gone; later reaps fail the same way.
            Err(e) => {
                if stop.is_none() {
                    stop = Some(Err(e));
                }
            }
        }
        g.release(p);
    }
    (moved, stop)
}
