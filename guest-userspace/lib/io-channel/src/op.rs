//! The storage protocol's op codes, flags and argument layouts.
//!
//! Conventions: a path travels in the request's data range (UTF-8, no NUL,
//! absolute: the client resolves its working directory); a file or
//! directory is named by the server's handle that `Open` returned, valid
//! only on the connection that opened it; results come back in the
//! completion's `args`, `status` and (for data) its `len`. Data never
//! travels in the ring: reads and writes name a client-owned data range,
//! which may run on across consecutive slots (one 64 KiB read is one
//! request). File-system completions come back in request order; socket
//! and poll requests (codes 15 and up, docs/network.md) may wait in the
//! server and complete later, out of order: a client routes every
//! completion by its `id`, and keeps at most [`crate::QUEUE_LEN`] requests
//! outstanding (submitted, completion not yet consumed) so that neither
//! queue can overflow.
//!
//! Sockets: an address is an IPv4 address as the `u32` of its octets in
//! network order (`u32::from(Ipv4Addr)`) and a port; a socket is named by
//! the server's socket id, valid only on the connection that made it. A
//! timeout is in nanoseconds from when the server takes the request,
//! `u64::MAX` for none; with [`net::NONBLOCK`] a request that cannot
//! complete at once fails with `WouldBlock` instead of waiting.

use crate::error::Error;

/// What a request asks for.
#[repr(u16)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Does nothing; the server echoes the message (args and data range
    /// unchanged). For tests and latency measurements.
    Nop = 0,
    /// Path in the data; `args[0]` = [`open`] flags. Reply: `args[0]` =
    /// handle, `args[1]` = size, `args[2]` = [`kind`].
    Open = 1,
    /// `args[0]` = handle, `args[1]` = file offset; the data range is the
    /// buffer. Reply: `len` = bytes read (0 at end of file), the data at the
    /// request's range.
    Read = 2,
    /// `args[0]` = handle, `args[1]` = file offset (ignored with
    /// [`write::AT_END`] in `flags`); the data range holds the bytes. Reply:
    /// `args[0]` = bytes written, `args[1]` = file offset after them.
    Write = 3,
    /// `args[0]` = handle.
    Close = 4,
    /// Path in the data (symlinks followed), or no data and `args[0]` =
    /// handle. Reply: `args[0]` = size, `args[1]` = [`kind`], `args[2]` =
    /// mode bits (0o7777), `args[3]` = modified, `args[4]` = accessed (ns
    /// since the Unix epoch).
    Stat = 5,
    /// `args[0]` = directory handle (opened with [`open::DIRECTORY`]),
    /// `args[1]` = cursor (0 first). Reply: whole [`dirent`] records packed
    /// into the request's data range, `len` = bytes used, `args[0]` = next
    /// cursor, `args[1]` = 1 when the directory has no more entries. `.` and
    /// `..` are not listed.
    Readdir = 6,
    /// Path in the data; `args[0]` = mode bits.
    Mkdir = 7,
    /// Path in the data (not a directory).
    Unlink = 8,
    /// Path in the data (an empty directory).
    Rmdir = 9,
    /// Both paths in the data: the old one is `args[0]` bytes, the new one
    /// follows; `args[1]` = 1 to fail with `AlreadyExists` if the new path
    /// exists (otherwise a file there is replaced atomically).
    Rename = 10,
    /// `args[0]` = handle; `args[1]` = 1 for data only (`sync_data`). The
    /// reply comes after the device has flushed.
    Sync = 11,
    /// `args[0]` = handle (open for writing), `args[1]` = new length.
    Truncate = 12,
    /// Path in the data, or no data and `args[0]` = handle; `args[1]` = new
    /// mode bits (0o7777).
    SetMode = 13,
    /// What `/` is: a one-line description in the data range (`len` =
    /// bytes), `args[0]` = [`info`] flags, `args[1]` = bytes of file-system
    /// metadata the server caches at most.
    Info = 14,
    /// `args[0]` = [`net::TCP`] (a listening socket: bind and listen in
    /// one) or [`net::UDP`], `args[1]` = address (0 = any), `args[2]` = port
    /// (0 = an ephemeral one), `args[3]` = TCP backlog (0 = the default).
    /// Reply: `args[0]` = socket, `args[1]`, `args[2]` = local address, port.
    NetBind = 15,
    /// `args[0]` = listening socket, `args[1]` = backlog.
    NetListen = 16,
    /// `args[0]` = listening socket, `args[1]` = timeout. Reply: `args[0]` =
    /// the new connection's socket, `args[1]`, `args[2]` = peer address, port.
    NetAccept = 17,
    /// `args[0]` = address, `args[1]` = port, `args[2]` = timeout. Reply
    /// (once connected, or at once with `NONBLOCK`): `args[0]` = socket,
    /// `args[1]`, `args[2]` = local address, port.
    NetConnect = 18,
    /// `args[0]` = socket, `args[1]` = timeout; flags `NONBLOCK`, `PEEK`;
    /// the data range is the buffer. Reply: `len` = bytes (0: end of
    /// stream), for UDP `args[1]`, `args[2]` = the sender's address, port
    /// and `args[3]` = the datagram's full length.
    NetRecv = 19,
    /// `args[0]` = socket, `args[1]` = timeout, with flag `TO` (UDP)
    /// `args[2]`, `args[3]` = destination address, port; the data range
    /// holds the bytes. Reply: `args[0]` = bytes taken.
    NetSend = 20,
    /// `args[0]` = socket. A TCP connection is closed gracefully (its
    /// unsent data still goes out).
    NetClose = 21,
    /// `args[0]` = socket, `args[1]` = [`net::SHUT_READ`] | [`net::SHUT_WRITE`].
    NetShutdown = 22,
    /// `args[0]` = socket, `args[1]` = a [`sockopt`], `args[2]` = value.
    NetSetOpt = 23,
    /// `args[0]` = socket, `args[1]` = a [`sockopt`]. Reply: `args[0]` = value.
    NetGetOpt = 24,
    /// `args[0]` = socket, `args[1]` = 0 local, 1 peer. Reply: `args[0]`,
    /// `args[1]` = address, port (`NotConnected` for a peer there is not).
    NetAddr = 25,
    /// `args[0]` = UDP socket, `args[1]`, `args[2]` = peer address, port:
    /// sends without `TO` go there, datagrams from elsewhere are dropped.
    NetUdpConnect = 26,
    /// A poll registry. Reply: `args[0]` = registry.
    PollNew = 27,
    /// `args[0]` = registry, `args[1]` = socket, `args[2]` = token,
    /// `args[3]` = interest ([`poll`] bits); flags [`poll::ADD`],
    /// [`poll::MODIFY`] or [`poll::DELETE`].
    PollCtl = 28,
    /// `args[0]` = registry, `args[1]` = timeout; the data range receives
    /// events, 16 bytes each (token, [`poll`] bits; little-endian `u64`s).
    /// Completes when an event is due, the timeout passes or `PollWake`.
    /// Reply: `len` = bytes of events.
    PollWait = 29,
    /// `args[0]` = registry: ends its `PollWait` (now, or the next one).
    PollWake = 30,
    /// `args[0]` = registry.
    PollClose = 31,
    /// A host name at the start of the data range (UTF-8, `args[1]` =
    /// its length, at most [`resolve::MAX_NAME`]; a dotted quad and
    /// `localhost` are answered without a query); `args[0]` = timeout in
    /// ns (0: [`resolve::DEFAULT_TIMEOUT_NS`]; the server caps it at 60 s); the data range should have
    /// room for [`resolve::MAX_ADDRS`] addresses.
    /// Reply (status `Ok` whatever the outcome): `args[0]` = a [`resolve`]
    /// code, `args[1]` = the number of addresses, written into the
    /// request's data range 4 bytes each (network order), `len` = bytes.
    /// The connection's thread blocks until the lookup ends.
    Resolve = 32,
}

/// `Resolve` outcomes (`args[0]` of the reply) and limits.
pub mod resolve {
    pub const OK: u64 = 0;
    /// NXDOMAIN.
    pub const NOT_FOUND: u64 = 1;
    /// The name exists but has no IPv4 address.
    pub const NO_ADDRESS: u64 = 2;
    pub const TIMED_OUT: u64 = 3;
    /// The name servers failed (SERVFAIL, REFUSED, ...).
    pub const SERVER_FAILURE: u64 = 4;
    /// No name server configured.
    pub const NO_SERVERS: u64 = 5;
    /// No network (no card, no address).
    pub const NO_NETWORK: u64 = 6;
    /// Not a valid host name (nothing was sent).
    pub const INVALID_NAME: u64 = 7;
    pub const MAX_NAME: usize = 255;
    pub const MAX_ADDRS: usize = 16;
    pub const DEFAULT_TIMEOUT_NS: u64 = 10_000_000_000;
}

/// Socket request flags and arguments.
pub mod net {
    /// `NetBind` protocol: TCP (a listening socket).
    pub const TCP: u64 = 1;
    /// `NetBind` protocol: UDP.
    pub const UDP: u64 = 2;
    /// Fail with `WouldBlock` rather than wait.
    pub const NONBLOCK: u16 = 1;
    /// `NetRecv`: leave the data queued.
    pub const PEEK: u16 = 2;
    /// `NetSend`: `args[2]`, `args[3]` name the destination (UDP).
    pub const TO: u16 = 4;
    pub const SHUT_READ: u64 = 1;
    pub const SHUT_WRITE: u64 = 2;
    /// No timeout.
    pub const FOREVER: u64 = u64::MAX;
    /// Bytes of one `PollWait` event.
    pub const EVENT_SIZE: usize = 16;
}

/// `NetSetOpt` / `NetGetOpt` options.
pub mod sockopt {
    /// TCP: 1 = Nagle off.
    pub const NODELAY: u64 = 1;
    /// IP time to live (1..=255).
    pub const TTL: u64 = 2;
    /// TCP: linger in ms, `u64::MAX` = off (kept and reported only).
    pub const LINGER: u64 = 3;
    /// UDP: 1 = broadcast allowed.
    pub const BROADCAST: u64 = 4;
    /// The pending error (a moto-rt style code; 0 = none), cleared by reading.
    pub const ERROR: u64 = 5;
}

/// Readiness bits (`PollCtl` interest, `PollWait` events): moto-rt's.
pub mod poll {
    pub const READABLE: u64 = 1;
    pub const WRITABLE: u64 = 2;
    pub const READ_CLOSED: u64 = 4;
    pub const WRITE_CLOSED: u64 = 8;
    pub const ERROR: u64 = 16;
    /// `PollCtl` flags.
    pub const ADD: u16 = 1;
    pub const MODIFY: u16 = 2;
    pub const DELETE: u16 = 3;
}

/// `Open` flags (`args[0]`).
pub mod open {
    pub const READ: u64 = 1;
    pub const WRITE: u64 = 2;
    /// Create the file if it does not exist.
    pub const CREATE: u64 = 4;
    /// Cut the file to length 0 (needs `WRITE`).
    pub const TRUNCATE: u64 = 8;
    /// Writes go to the end of the file.
    pub const APPEND: u64 = 16;
    /// With `CREATE`: fail with `AlreadyExists` if the file exists.
    pub const EXCLUSIVE: u64 = 32;
    /// Open a directory, for `Readdir` (no other flag).
    pub const DIRECTORY: u64 = 64;
    /// Every flag the protocol defines; anything else is `InvalidArgument`.
    pub const ALL: u64 = 127;
}

/// `Write` request flags (the message's `flags`).
pub mod write {
    /// Append: write at the file's end, whatever `args[1]` says.
    pub const AT_END: u16 = 1;
}

/// `Info` reply flags.
pub mod info {
    /// `/` is read-only (the initrd, or a read-only disk).
    pub const READ_ONLY: u64 = 1;
    /// `/` is an ext4 disk (otherwise the initrd).
    pub const DISK: u64 = 2;
}

/// File kinds (`Stat`, `Open`, directory entries).
pub mod kind {
    pub const FILE: u8 = 1;
    pub const DIRECTORY: u8 = 2;
    pub const SYMLINK: u8 = 3;
    /// Anything else (device node, fifo, socket).
    pub const OTHER: u8 = 4;
}

/// One directory entry as `Readdir` packs it (little-endian):
///
/// | offset | field |
/// |---|---|
/// | 0 | u16 record length (`HEADER` + name, rounded up to 8) |
/// | 2 | u16 name length |
/// | 4 | u8 [`kind`] |
/// | 5..8 | zero |
/// | 8 | u32 mode bits |
/// | 12 | u32 zero |
/// | 16 | u64 size |
/// | 24 | u64 modified (ns since the epoch) |
/// | 32 | name bytes (UTF-8) |
pub mod dirent {
    /// Bytes before the name.
    pub const HEADER: usize = 32;
    /// Longest name (ext4's limit).
    pub const MAX_NAME: usize = 255;

    /// A decoded entry; `name` borrows the buffer it was read from.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Entry<'a> {
        pub name: &'a [u8],
        pub kind: u8,
        pub mode: u32,
        pub size: u64,
        pub modified_ns: u64,
    }

    /// Record length of an entry with an `n`-byte name.
    pub const fn record_len(n: usize) -> usize {
        (HEADER + n).next_multiple_of(8)
    }

    /// Appends `e` to `buf` at `at`; returns the new end, or `None` if it
    /// does not fit (or the name is too long).
    pub fn put(buf: &mut [u8], at: usize, e: &Entry) -> Option<usize> {
        if e.name.len() > MAX_NAME {
            return None;
        }
        let len = record_len(e.name.len());
        let rec = buf.get_mut(at..at.checked_add(len)?)?;
        rec.fill(0);
        rec[0..2].copy_from_slice(&(len as u16).to_le_bytes());
        rec[2..4].copy_from_slice(&(e.name.len() as u16).to_le_bytes());
        rec[4] = e.kind;
        rec[8..12].copy_from_slice(&e.mode.to_le_bytes());
        rec[16..24].copy_from_slice(&e.size.to_le_bytes());
        rec[24..32].copy_from_slice(&e.modified_ns.to_le_bytes());
        rec[HEADER..HEADER + e.name.len()].copy_from_slice(e.name);
        Some(at + len)
    }

    /// Decodes the entry at `at` of `buf` (bytes the peer wrote: every
    /// length is checked); returns it and the next record's offset, or
    /// `None` for a malformed record.
    pub fn get(buf: &[u8], at: usize) -> Option<(Entry<'_>, usize)> {
        let head = buf.get(at..at.checked_add(HEADER)?)?;
        let u16_at = |i: usize| u16::from_le_bytes([head[i], head[i + 1]]) as usize;
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&head[i..i + 8]);
            u64::from_le_bytes(b)
        };
        let (len, name_len) = (u16_at(0), u16_at(2));
        if name_len > MAX_NAME || len != record_len(name_len) {
            return None;
        }
        let name = buf.get(at + HEADER..at + HEADER + name_len)?;
        buf.get(at..at + len)?;
        let mode = u32::from_le_bytes([head[8], head[9], head[10], head[11]]);
        Some((Entry { name, kind: head[4], mode, size: u64_at(16), modified_ns: u64_at(24) }, at + len))
    }
}

impl Op {
    /// Every op, in code order.
    pub const ALL: [Op; 33] = [
        Op::Nop,
        Op::Open,
        Op::Read,
        Op::Write,
        Op::Close,
        Op::Stat,
        Op::Readdir,
        Op::Mkdir,
        Op::Unlink,
        Op::Rmdir,
        Op::Rename,
        Op::Sync,
        Op::Truncate,
        Op::SetMode,
        Op::Info,
        Op::NetBind,
        Op::NetListen,
        Op::NetAccept,
        Op::NetConnect,
        Op::NetRecv,
        Op::NetSend,
        Op::NetClose,
        Op::NetShutdown,
        Op::NetSetOpt,
        Op::NetGetOpt,
        Op::NetAddr,
        Op::NetUdpConnect,
        Op::PollNew,
        Op::PollCtl,
        Op::PollWait,
        Op::PollWake,
        Op::PollClose,
        Op::Resolve,
    ];

    /// Whether the server runs this op on the network (it may complete
    /// out of order) rather than on the file system.
    pub fn is_net(self) -> bool {
        (Op::NetBind as u16..=Op::PollClose as u16).contains(&(self as u16))
    }
}

impl TryFrom<u16> for Op {
    type Error = Error;

    fn try_from(code: u16) -> Result<Self, Error> {
        Op::ALL.get(code as usize).copied().ok_or(Error::UnknownOp(code))
    }
}
