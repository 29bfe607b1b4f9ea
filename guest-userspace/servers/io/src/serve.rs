//! One request in, one completion out: decodes a request, checks everything
//! the client wrote, runs it on `/` and encodes the answer (protocol in
//! `vireo_io_channel::op`). Nothing a client sends can panic the server:
//! every failure is a status in the completion.

use crate::conn::Conn;
use crate::handles::Open;
use crate::path;
use vireo_fs::{Attr, FileSystem};
use vireo_io_channel::{dirent, info, kind, open, write, Msg, Op, Region, Status};

type Reply = Result<Msg, Status>;

/// The completion for `req`.
pub fn answer(conn: &mut Conn, region: &Region, req: &Msg) -> Msg {
    let mut reply = match run(conn, region, req) {
        Ok(m) => m,
        Err(status) => Msg { status: status as u16, len: 0, args: [0; 5], ..*req },
    };
    reply.id = req.id;
    reply.op = req.op;
    reply
}

fn run(conn: &mut Conn, region: &Region, req: &Msg) -> Reply {
    let op = Op::try_from(req.op).map_err(|_| Status::UnknownOp)?;
    let data = req.data().map_err(|_| Status::BadData)?;
    if op == Op::Nop {
        return Ok(*req);
    }
    // Needs the network, not `/`.
    if op == Op::Resolve {
        return crate::net::serve_resolve(region, req, data);
    }
    if op.is_net() {
        // The connection thread hands these to the net thread (net::sock).
        return Err(Status::UnknownOp);
    }
    // Made-up files (`/sys/...`): before `/`'s lock, as a ping waits.
    if let Some(reply) = crate::sysfiles::serve(conn, region, req, op, data) {
        return reply;
    }
    let mut root = crate::ROOT.lock();
    let fs: &mut dyn FileSystem = root.as_deref_mut().ok_or(Status::Io)?;
    let mut reply = Msg { status: Status::Ok as u16, args: [0; 5], ..*req };
    match op {
        Op::Nop | Op::Resolve => {}
        Op::Open => {
            let flags = req.args[0];
            if flags & !open::ALL != 0 {
                return Err(Status::InvalidArgument);
            }
            let p = read_path(conn, region, data)?;
            if flags & (open::WRITE | open::APPEND | open::TRUNCATE) != 0 {
                // Permission bits are the one access control a single-user
                // system keeps: a file without any write bit is read-only.
                match fs.stat_path(p) {
                    Ok(a) if a.kind == kind::FILE && a.mode & 0o222 == 0 => return Err(Status::PermissionDenied),
                    _ => {}
                }
            }
            let (node, attr) = fs.open(p, flags).map_err(Status::from)?;
            let handle = conn.handles.insert(Open { node, flags }).inspect_err(|_| {
                let _ = fs.close(node);
            })?;
            reply.args[..3].copy_from_slice(&[handle, attr.size, u64::from(attr.kind)]);
        }
        Op::Read => {
            let h = file(conn, req.args[0], open::READ)?;
            let (slot, offset, len) = data.ok_or(Status::BadData)?;
            let buf = staging(conn, len)?;
            let n = fs.read(h.node, req.args[1], buf).map_err(Status::from)?;
            region.write_slot(slot, offset, &buf[..n]).map_err(|_| Status::BadData)?;
            reply.len = n as u32;
        }
        Op::Write => {
            let h = file(conn, req.args[0], open::WRITE)?;
            let (slot, offset, len) = data.ok_or(Status::BadData)?;
            let buf = staging(conn, len)?;
            region.read_slot(slot, offset, buf).map_err(|_| Status::BadData)?;
            let (n, end) = if req.flags & write::AT_END != 0 || h.flags & open::APPEND != 0 {
                fs.append(h.node, buf).map_err(Status::from)?
            } else {
                let n = fs.write(h.node, req.args[1], buf).map_err(Status::from)?;
                (n, req.args[1].saturating_add(n as u64))
            };
            reply.args[..2].copy_from_slice(&[n as u64, end]);
        }
        Op::Close => {
            let h = conn.handles.remove(req.args[0])?;
            fs.close(h.node).map_err(Status::from)?;
        }
        Op::Stat => {
            let attr = match data {
                Some(_) => fs.stat_path(read_path(conn, region, data)?),
                None => fs.stat(conn.handles.get(req.args[0])?.node),
            };
            reply.args = stat_args(&attr.map_err(Status::from)?);
        }
        Op::Readdir => {
            let h = conn.handles.get(req.args[0])?;
            if h.flags & open::DIRECTORY == 0 {
                return Err(Status::NotADirectory);
            }
            let (slot, offset, len) = data.ok_or(Status::BadData)?;
            let buf = staging(conn, len)?;
            let mut at = 0;
            let (next, end) = fs
                .readdir(h.node, req.args[1], &mut |e| match dirent::put(buf, at, e) {
                    Some(n) => {
                        at = n;
                        true
                    }
                    None => false,
                })
                .map_err(Status::from)?;
            if at == 0 && !end {
                // Not even one entry fits the client's buffer.
                return Err(Status::InvalidArgument);
            }
            region.write_slot(slot, offset, &buf[..at]).map_err(|_| Status::BadData)?;
            reply.len = at as u32;
            reply.args[..2].copy_from_slice(&[next, u64::from(end)]);
        }
        Op::Mkdir => fs.mkdir(read_path(conn, region, data)?, mode(req.args[0])?).map_err(Status::from)?,
        Op::Unlink => fs.unlink(read_path(conn, region, data)?).map_err(Status::from)?,
        Op::Rmdir => fs.rmdir(read_path(conn, region, data)?).map_err(Status::from)?,
        Op::Rename => {
            let (slot, offset, len) = data.ok_or(Status::BadData)?;
            let old_len = usize::try_from(req.args[0]).ok().filter(|&n| n <= len).ok_or(Status::BadData)?;
            let buf = staging(conn, len)?;
            region.read_slot(slot, offset, buf).map_err(|_| Status::BadData)?;
            let (old, new) = buf.split_at(old_len);
            let (old, new) = (path::check(old)?, path::check(new)?);
            fs.rename(old, new, req.args[1] == 1).map_err(Status::from)?;
        }
        Op::Sync => {
            let h = conn.handles.get(req.args[0])?;
            fs.sync(h.node, req.args[1] == 1).map_err(Status::from)?;
        }
        Op::Truncate => {
            let h = file(conn, req.args[0], open::WRITE)?;
            fs.truncate(h.node, req.args[1]).map_err(Status::from)?;
        }
        Op::SetMode => {
            let m = mode(req.args[1])?;
            match data {
                Some(_) => fs.set_mode_path(read_path(conn, region, data)?, m),
                None => fs.set_mode(conn.handles.get(req.args[0])?.node, m),
            }
            .map_err(Status::from)?;
        }
        Op::Info => {
            let text = fs.describe();
            let (slot, offset, len) = data.ok_or(Status::BadData)?;
            let n = text.len().min(len);
            region.write_slot(slot, offset, &text.as_bytes()[..n]).map_err(|_| Status::BadData)?;
            reply.len = n as u32;
            let mut flags = if fs.read_only() { info::READ_ONLY } else { 0 };
            if crate::mount::root_is_disk() {
                flags |= info::DISK;
            }
            reply.args[..2].copy_from_slice(&[flags, fs.metadata_cache_bound() as u64]);
        }
        // Socket ops: answered on the net thread (above).
        _ => return Err(Status::UnknownOp),
    }
    Ok(reply)
}

/// The open file behind handle `h`, if it was opened with `need`.
fn file(conn: &Conn, h: u64, need: u64) -> Result<Open, Status> {
    let open = conn.handles.get(h)?;
    if open.flags & open::DIRECTORY != 0 {
        return Err(Status::IsADirectory);
    }
    if open.flags & need == 0 {
        return Err(Status::PermissionDenied);
    }
    Ok(open)
}

fn mode(bits: u64) -> Result<u32, Status> {
    u32::try_from(bits).ok().filter(|m| m & !0o7777 == 0).ok_or(Status::InvalidArgument)
}

/// The connection's staging buffer, at least `len` bytes.
fn staging(conn: &mut Conn, len: usize) -> Result<&mut [u8], Status> {
    if conn.buf.len() < len {
        let more = len - conn.buf.len();
        conn.buf.try_reserve(more).map_err(|_| Status::Io)?;
        conn.buf.resize(len, 0);
    }
    Ok(&mut conn.buf[..len])
}

/// The request's path, checked.
fn read_path<'a>(conn: &'a mut Conn, region: &Region, data: Option<(usize, usize, usize)>) -> Result<&'a str, Status> {
    let (slot, offset, len) = data.ok_or(Status::BadData)?;
    if len > path::MAX_PATH {
        return Err(Status::InvalidName);
    }
    let buf = staging(conn, len)?;
    region.read_slot(slot, offset, buf).map_err(|_| Status::BadData)?;
    path::check(buf)
}

fn stat_args(a: &Attr) -> [u64; 5] {
    [a.size, u64::from(a.kind), u64::from(a.mode), a.modified_ns, a.accessed_ns]
}
