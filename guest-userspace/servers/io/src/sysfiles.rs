//! Read-only files the server makes up, for what std has no API for
//! (docs/network.md, "System files"): programs read them with `std::fs`, so
//! `cat` shows them too.
//!
//! - `/sys/fs/root`: what `/` is and how full (`df`);
//! - `/sys/net/eth0`: the card, its address, gateway, name servers and
//!   counters, taken on the net thread (`ip`);
//! - `/sys/net/ping`: a request/reply file (Plan 9's `/net/cs` style):
//!   write `ADDR SEQ SIZE TIMEOUT_MS`, the write returns when the echo
//!   reply came (`TimedOut` when it did not), then read the answer line
//!   (`ping`).
//!
//! `/sys/fs` and `/sys/net` are directories listing them, so `ls` finds
//! them; the disk has them as empty directories (mount points, as Linux's
//! root file system has `/sys`), so `ls /sys` shows them beside the disk's
//! own `/sys/motor-rt`.
//!
//! A file's text is made when it is opened (one consistent snapshot per
//! open) and lives in a handle of the connection's own table, numbered
//! from [`BASE`] so it can never name a file of `/`. These requests are
//! answered before `/`'s lock is taken: a ping waiting for its reply holds
//! only its own connection's thread (like `Resolve`). Paths other than
//! these three go to `/` as before.
use crate::conn::Conn;
use crate::net::{NetHandle, PingError};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use core::net::Ipv4Addr;
use vireo_io_channel::{dirent, kind, open, Msg, Op, Region, Status};

/// Handles of made-up files are `BASE + index`.
pub const BASE: u64 = 1 << 48;
/// Made-up files open at once per connection.
const MAX_OPEN: usize = 16;
/// The longest path here.
const MAX_PATH: usize = 16;
/// The longest ping request.
const MAX_REQUEST: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum File {
    Fs,
    Net,
    FsRoot,
    NetEth0,
    NetPing,
}

impl File {
    fn named(path: &[u8]) -> Option<File> {
        let path = path.strip_suffix(b"/").filter(|p| !p.is_empty()).unwrap_or(path);
        match path {
            b"/sys/fs" => Some(File::Fs),
            b"/sys/net" => Some(File::Net),
            b"/sys/fs/root" => Some(File::FsRoot),
            b"/sys/net/eth0" => Some(File::NetEth0),
            b"/sys/net/ping" => Some(File::NetPing),
            _ => None,
        }
    }

    /// A directory's entries, in listing order; empty for a file.
    fn children(self) -> &'static [(&'static [u8], File)] {
        match self {
            File::Fs => &[(b"root", File::FsRoot)],
            File::Net => &[(b"eth0", File::NetEth0), (b"ping", File::NetPing)],
            File::FsRoot | File::NetEth0 | File::NetPing => &[],
        }
    }

    fn is_dir(self) -> bool {
        matches!(self, File::Fs | File::Net)
    }

    fn kind(self) -> u8 {
        if self.is_dir() {
            kind::DIRECTORY
        } else {
            kind::FILE
        }
    }

    fn mode(self) -> u64 {
        match self {
            File::Fs | File::Net => 0o555,
            File::NetPing => 0o666,
            File::FsRoot | File::NetEth0 => 0o444,
        }
    }
}

pub struct OpenFile {
    file: File,
    text: Vec<u8>,
}

/// One connection's open made-up files.
pub type SysHandles = crate::handles::Table<OpenFile, BASE, MAX_OPEN>;

type Reply = Result<Msg, Status>;

/// The answer when `req` is about a made-up file; None for everything else.
pub fn serve(
    conn: &mut Conn,
    region: &Region,
    req: &Msg,
    op: Op,
    data: Option<(usize, usize, usize)>,
) -> Option<Reply> {
    let by_handle = req.args[0] >= BASE;
    let reply = Msg { status: Status::Ok as u16, args: [0; 5], len: 0, ..*req };
    match op {
        Op::Open => Some(open_file(conn, req.args[0], named(region, data)?, reply)),
        Op::Stat if data.is_some() => {
            let file = named(region, data)?;
            Some(make(file).map(|text| stat(reply, file, &text)))
        }
        Op::Stat if by_handle => Some(conn.sys.get_mut(req.args[0]).map(|f| stat(reply, f.file, &f.text))),
        Op::SetMode if data.is_none() && by_handle => {
            Some(conn.sys.get_mut(req.args[0]).and(Err(Status::PermissionDenied)))
        }
        Op::Read if by_handle => Some(read(conn, region, req, data, reply)),
        Op::Write if by_handle => Some(write(conn, region, req, data, reply)),
        Op::Close if by_handle => Some(conn.sys.remove(req.args[0]).map(|_| reply)),
        Op::Sync if by_handle => Some(conn.sys.get_mut(req.args[0]).map(|_| reply)),
        Op::Truncate if by_handle => Some(conn.sys.get_mut(req.args[0]).and(Err(Status::PermissionDenied))),
        Op::Readdir if by_handle => Some(readdir(conn, region, req, data, reply)),
        _ => None,
    }
}

/// The made-up file a path in the request names, if it does.
fn named(region: &Region, data: Option<(usize, usize, usize)>) -> Option<File> {
    let (slot, offset, len) = data?;
    let mut buf = [0u8; MAX_PATH];
    let path = buf.get_mut(..len)?;
    region.read_slot(slot, offset, path).ok()?;
    File::named(path)
}

fn open_file(conn: &mut Conn, flags: u64, file: File, mut reply: Msg) -> Reply {
    if flags & !open::ALL != 0 {
        return Err(Status::InvalidArgument);
    }
    if flags & open::DIRECTORY != 0 && !file.is_dir() {
        return Err(Status::NotADirectory);
    }
    if flags & open::CREATE != 0 && flags & open::EXCLUSIVE != 0 {
        return Err(Status::AlreadyExists);
    }
    let writes = flags & (open::WRITE | open::APPEND | open::TRUNCATE) != 0;
    if writes && file.is_dir() {
        return Err(Status::IsADirectory);
    }
    if writes && file != File::NetPing {
        return Err(Status::PermissionDenied);
    }
    let text = make(file)?;
    let size = text.len() as u64;
    let handle = conn.sys.insert(OpenFile { file, text })?;
    reply.args[..3].copy_from_slice(&[handle, size, u64::from(file.kind())]);
    Ok(reply)
}

fn stat(mut reply: Msg, file: File, text: &[u8]) -> Msg {
    let now = crate::clock::now_ns();
    reply.args = [text.len() as u64, u64::from(file.kind()), file.mode(), now, now];
    reply
}

/// A made-up directory's entries from cursor `args[1]` (an index), as many
/// as fit the request's data range. Sizes are 0: a file's text is made
/// when it is opened (Linux's /proc says 0 too).
fn readdir(conn: &mut Conn, region: &Region, req: &Msg, data: Option<(usize, usize, usize)>, mut reply: Msg) -> Reply {
    let file = conn.sys.get_mut(req.args[0])?.file;
    if !file.is_dir() {
        return Err(Status::NotADirectory);
    }
    let (slot, offset, len) = data.ok_or(Status::BadData)?;
    let children = file.children();
    let first = usize::try_from(req.args[1]).unwrap_or(usize::MAX).min(children.len());
    let mut buf = [0u8; 256];
    let buf = buf.get_mut(..len.min(256)).ok_or(Status::BadData)?;
    let (mut at, mut next) = (0, first);
    let now = crate::clock::now_ns();
    for &(name, child) in &children[first..] {
        let entry = dirent::Entry { name, kind: child.kind(), mode: child.mode() as u32, size: 0, modified_ns: now };
        match dirent::put(buf, at, &entry) {
            Some(end) => (at, next) = (end, next + 1),
            None => break,
        }
    }
    if at == 0 && next < children.len() {
        // Not even one entry fits the client's buffer.
        return Err(Status::InvalidArgument);
    }
    region.write_slot(slot, offset, &buf[..at]).map_err(|_| Status::BadData)?;
    reply.len = at as u32;
    reply.args[..2].copy_from_slice(&[next as u64, u64::from(next == children.len())]);
    Ok(reply)
}

fn read(conn: &mut Conn, region: &Region, req: &Msg, data: Option<(usize, usize, usize)>, mut reply: Msg) -> Reply {
    let f = conn.sys.get_mut(req.args[0])?;
    let (slot, offset, len) = data.ok_or(Status::BadData)?;
    let start = usize::try_from(req.args[1]).unwrap_or(usize::MAX).min(f.text.len());
    let part = &f.text[start..];
    let n = part.len().min(len);
    region.write_slot(slot, offset, &part[..n]).map_err(|_| Status::BadData)?;
    reply.len = n as u32;
    Ok(reply)
}

/// A ping request: the answer replaces the file's text.
fn write(conn: &mut Conn, region: &Region, req: &Msg, data: Option<(usize, usize, usize)>, mut reply: Msg) -> Reply {
    let f = conn.sys.get_mut(req.args[0])?;
    if f.file != File::NetPing {
        return Err(Status::PermissionDenied);
    }
    let (slot, offset, len) = data.ok_or(Status::BadData)?;
    let mut buf = [0u8; MAX_REQUEST];
    let bytes = buf.get_mut(..len).ok_or(Status::InvalidArgument)?;
    region.read_slot(slot, offset, bytes).map_err(|_| Status::BadData)?;
    let p = PingRequest::parse(bytes).ok_or(Status::InvalidArgument)?;
    let net = crate::net::handle().ok_or(Status::NetworkUnreachable)?;
    let echo = net.ping(p.addr, p.seq, p.size, p.timeout_ms.saturating_mul(1_000_000)).map_err(|e| match e {
        PingError::TimedOut => Status::TimedOut,
        PingError::NoNetwork => Status::NetworkUnreachable,
        PingError::SendFailed => Status::Io,
    })?;
    f.text =
        format!("reply {} seq {} bytes {} time_us {}\n", p.addr, p.seq, echo.bytes, echo.rtt_ns / 1000).into_bytes();
    reply.args[..2].copy_from_slice(&[len as u64, req.args[1].saturating_add(len as u64)]);
    Ok(reply)
}

/// `ADDR SEQ SIZE TIMEOUT_MS` (a dotted quad, 0-65535, 0-1472, 1-10000),
/// one trailing newline allowed.
#[derive(Debug, PartialEq, Eq)]
struct PingRequest {
    addr: Ipv4Addr,
    seq: u16,
    size: usize,
    timeout_ms: u64,
}

impl PingRequest {
    fn parse(bytes: &[u8]) -> Option<PingRequest> {
        let text = core::str::from_utf8(bytes).ok()?;
        let text = text.strip_suffix('\n').unwrap_or(text);
        let mut words = text.split(' ');
        let addr = words.next()?.parse().ok()?;
        let seq = words.next()?.parse().ok()?;
        let size = words.next()?.parse().ok().filter(|&s| s <= crate::net::MAX_PING_PAYLOAD)?;
        let timeout_ms = words.next()?.parse().ok().filter(|&t| (1..=10_000).contains(&t))?;
        words.next().is_none().then_some(PingRequest { addr, seq, size, timeout_ms })
    }
}

/// The text of `file` now.
fn make(file: File) -> Result<Vec<u8>, Status> {
    match file {
        File::Fs | File::Net => Ok(Vec::new()),
        File::FsRoot => {
            let root = crate::ROOT.lock();
            let fs = root.as_deref().ok_or(Status::Io)?;
            let s = fs.space();
            Ok(format!(
                "source {}\ntype {}\nread_only {}\nblock_size {}\nblocks {}\nfree_blocks {}\ninodes {}\nfree_inodes {}\n",
                fs.describe(),
                s.kind,
                u8::from(fs.read_only()),
                s.block_size,
                s.blocks,
                s.free_blocks,
                s.inodes,
                s.free_inodes
            )
            .into_bytes())
        }
        File::NetEth0 => eth0(&crate::net::handle().ok_or(Status::NotFound)?).map(String::into_bytes),
        // Without a card there is nothing to ping with (as for eth0).
        File::NetPing => crate::net::handle().map(|_| Vec::new()).ok_or(Status::NotFound),
    }
}

fn eth0(net: &NetHandle) -> Result<String, Status> {
    let st = net.call(|s| s.status()).ok_or(Status::NotFound)?;
    let mut t = String::new();
    let m = st.mac;
    let _ = writeln!(t, "name eth0\ncard {}", st.name);
    let _ = writeln!(t, "mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5]);
    let _ = writeln!(t, "link {}", if st.link_up { "up" } else { "down" });
    match st.device_error {
        None => t.push_str("state ok\n"),
        Some(e) => {
            let _ = writeln!(t, "state failed: {e:?}");
        }
    }
    let _ = writeln!(t, "method {}", st.method);
    match st.config.cidr {
        Some(c) => {
            let _ = writeln!(t, "address {}/{}", c.address(), c.prefix_len());
        }
        None => t.push_str("address none\n"),
    }
    match st.config.gateway {
        Some(g) => {
            let _ = writeln!(t, "gateway {g}");
        }
        None => t.push_str("gateway none\n"),
    }
    t.push_str("dns");
    for d in &st.config.dns {
        let _ = write!(t, " {d}");
    }
    if st.config.dns.is_empty() {
        t.push_str(" none");
    }
    let c = st.counters;
    let _ = write!(
        t,
        "\nrx_packets {}\nrx_bytes {}\nrx_dropped {}\ntx_packets {}\ntx_bytes {}\ntx_busy {}\nerrors {}\n",
        c.rx_frames, c.rx_bytes, c.rx_dropped, c.tx_frames, c.tx_bytes, c.tx_busy, c.errors
    );
    Ok(t)
}
