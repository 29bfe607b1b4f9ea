//! The 64-byte message both queues carry, and its wire form.
//!
//! A message crosses as eight little-endian `u64` words, each read and
//! written with a single relaxed atomic access: the peer may be scribbling on
//! the same bytes, and atomics make that a garbage value rather than a data
//! race. The queue's Acquire/Release on tail and head orders the words.
//!
//! | word | bits                                                       |
//! |------|------------------------------------------------------------|
//! | 0    | `id` (chosen by the client, echoed in the completion)       |
//! | 1    | `op` 0..16, `flags` 16..32, `status` 32..48, `slot` 48..64  |
//! | 2    | `len` 0..32, `offset` 32..64 (the data range in the slot)   |
//! | 3..8 | `args[0..5]` (per op, see [`crate::Op`])                    |

use crate::error::Error;
use crate::layout::{DATA_SIZE, SLOT_COUNT, SLOT_SIZE};
use core::sync::atomic::{AtomicU64, Ordering};

/// Bytes per message on the wire.
pub const MSG_SIZE: usize = 64;
/// Words per message on the wire.
pub(crate) const MSG_WORDS: usize = MSG_SIZE / 8;
/// `slot` value of a message without data.
pub const NO_SLOT: u16 = u16::MAX;

/// A request (submission) or reply (completion).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Msg {
    /// The client's tag for the request; the completion carries it back.
    pub id: u64,
    /// An [`crate::Op`] code (completions repeat the request's).
    pub op: u16,
    /// Op-specific flags.
    pub flags: u16,
    /// 0 in requests; a [`Status`] code in completions.
    pub status: u16,
    /// Data slot index, or [`NO_SLOT`].
    pub slot: u16,
    /// Bytes of data in the slot.
    pub len: u32,
    /// Where the data starts in the slot.
    pub offset: u32,
    /// Op-specific arguments (see [`crate::Op`]).
    pub args: [u64; 5],
}

const _: () = assert!(core::mem::size_of::<Msg>() == MSG_SIZE);

impl Msg {
    /// A request for `op` with no data and no arguments.
    pub fn new(id: u64, op: crate::Op) -> Self {
        Self { id, op: op as u16, slot: NO_SLOT, ..Self::default() }
    }

    /// The data range this message names, checked against the data area
    /// (it may run on from `slot` into the slots after it): `None` without
    /// data, else `(slot, offset, len)`.
    pub fn data(&self) -> Result<Option<(usize, usize, usize)>, Error> {
        if self.slot == NO_SLOT {
            return Ok(None);
        }
        if self.slot as usize >= SLOT_COUNT {
            return Err(Error::BadSlot(self.slot));
        }
        let (offset, len) = (self.offset as usize, self.len as usize);
        match offset.checked_add(len) {
            Some(end) if self.slot as usize * SLOT_SIZE + end <= DATA_SIZE => {
                Ok(Some((self.slot as usize, offset, len)))
            }
            _ => Err(Error::BadLength { offset: self.offset, len: self.len }),
        }
    }

    /// The completion's status as a `Result` (unknown codes are `Status::Io`).
    pub fn result(&self) -> Result<(), Status> {
        match Status::from_code(self.status) {
            Status::Ok => Ok(()),
            s => Err(s),
        }
    }

    pub(crate) fn store(&self, words: &[AtomicU64; MSG_WORDS]) {
        let w1 = self.op as u64 | (self.flags as u64) << 16 | (self.status as u64) << 32 | (self.slot as u64) << 48;
        let w2 = self.len as u64 | (self.offset as u64) << 32;
        words[0].store(self.id, Ordering::Relaxed);
        words[1].store(w1, Ordering::Relaxed);
        words[2].store(w2, Ordering::Relaxed);
        for (w, a) in words[3..].iter().zip(self.args) {
            w.store(a, Ordering::Relaxed);
        }
    }

    pub(crate) fn load(words: &[AtomicU64; MSG_WORDS]) -> Self {
        let w1 = words[1].load(Ordering::Relaxed);
        let w2 = words[2].load(Ordering::Relaxed);
        let mut args = [0; 5];
        for (a, w) in args.iter_mut().zip(&words[3..]) {
            *a = w.load(Ordering::Relaxed);
        }
        Self {
            id: words[0].load(Ordering::Relaxed),
            op: w1 as u16,
            flags: (w1 >> 16) as u16,
            status: (w1 >> 32) as u16,
            slot: (w1 >> 48) as u16,
            len: w2 as u32,
            offset: (w2 >> 32) as u32,
            args,
        }
    }
}

/// Completion status codes (the server's answer to a request).
#[repr(u16)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok = 0,
    NotFound = 1,
    AlreadyExists = 2,
    PermissionDenied = 3,
    IsADirectory = 4,
    NotADirectory = 5,
    DirectoryNotEmpty = 6,
    InvalidArgument = 7,
    /// The request's op code is not one the server knows.
    UnknownOp = 8,
    /// The request named a bad slot or data range.
    BadData = 9,
    /// `/` (or the device) is read-only.
    ReadOnly = 10,
    NoSpace = 11,
    BadHandle = 12,
    /// A device error, or a status code this version does not know.
    Io = 13,
    NotSupported = 14,
    /// A path that is empty, not UTF-8, relative, too long, or has a name
    /// longer than 255 bytes.
    InvalidName = 15,
    /// The file system is corrupt where this request looked (bad checksum,
    /// impossible value); the server said which on the console.
    Corrupt = 16,
    /// The file would grow past what the file system can hold.
    TooLarge = 17,
    /// The server has too many handles open for this connection.
    TooManyOpen = 18,
    /// Nonblocking, and it would have to wait.
    WouldBlock = 19,
    TimedOut = 20,
    /// The peer answered the connection request with a reset.
    ConnectionRefused = 21,
    /// The port is taken.
    AddrInUse = 22,
    /// The socket is not (or no longer) connected.
    NotConnected = 23,
    /// The connection was reset by the peer.
    ConnectionReset = 24,
    /// No network: no card, or no address yet (and none came in time).
    NetworkUnreachable = 25,
    /// An address this host does not have.
    AddrNotAvailable = 26,
}

impl Status {
    /// Decodes a peer-supplied code; anything unknown is `Io`.
    pub fn from_code(code: u16) -> Self {
        use Status::*;
        const ALL: [Status; 27] = [
            Ok,
            NotFound,
            AlreadyExists,
            PermissionDenied,
            IsADirectory,
            NotADirectory,
            DirectoryNotEmpty,
            InvalidArgument,
            UnknownOp,
            BadData,
            ReadOnly,
            NoSpace,
            BadHandle,
            Io,
            NotSupported,
            InvalidName,
            Corrupt,
            TooLarge,
            TooManyOpen,
            WouldBlock,
            TimedOut,
            ConnectionRefused,
            AddrInUse,
            NotConnected,
            ConnectionReset,
            NetworkUnreachable,
            AddrNotAvailable,
        ];
        ALL.get(code as usize).copied().unwrap_or(Io)
    }
}

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        match e {
            Error::UnknownOp(_) => Status::UnknownOp,
            Error::BadSlot(_) | Error::BadLength { .. } | Error::OutOfRange => Status::BadData,
            _ => Status::Io,
        }
    }
}
