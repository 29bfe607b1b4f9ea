//! The storage protocol's op codes and their argument layouts.
//!
//! Conventions: a path or name travels in a data slot (`slot`, `offset`,
//! `len` of the message, UTF-8, no NUL); a file is named by the server's
//! handle `args[0]` that `Open` returned; results come back in the
//! completion's `args`, `status` and (for data) its `len`. Data never
//! travels in the ring: reads and writes name a client-owned slot.

use crate::error::Error;

/// What a request asks for.
#[repr(u16)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Does nothing; the server echoes the message (args and data range
    /// unchanged). For tests and latency measurements.
    Nop = 0,
    /// Path in the slot; `args[0]` = open flags (read 1, write 2, create 4,
    /// truncate 8, append 16, exclusive 32). Reply: `args[0]` = handle.
    Open = 1,
    /// `args[0]` = handle, `args[1]` = file offset; the slot range is the
    /// buffer. Reply: `len` = bytes read (0 at end of file).
    Read = 2,
    /// `args[0]` = handle, `args[1]` = file offset; the slot range holds the
    /// bytes. Reply: `args[0]` = bytes written.
    Write = 3,
    /// `args[0]` = handle.
    Close = 4,
    /// Path in the slot, or no slot and `args[0]` = handle. Reply: `args[0]`
    /// = size, `args[1]` = kind (1 file, 2 directory, 3 symlink), `args[2]` =
    /// mode bits, `args[3]` = modification time (ns since the epoch).
    Stat = 5,
    /// `args[0]` = directory handle, `args[1]` = cursor (0 first). Reply:
    /// packed entries in the slot (per entry: u16 name length, u8 kind,
    /// name bytes), `args[0]` = next cursor (0 at the end).
    Readdir = 6,
    /// Path in the slot; `args[0]` = mode bits.
    Mkdir = 7,
    /// Path in the slot (a file).
    Unlink = 8,
    /// Path in the slot (an empty directory).
    Rmdir = 9,
    /// Both paths in the slot: the old one is `args[0]` bytes, the new one
    /// follows; `args[1]` = 1 to fail if the new path exists.
    Rename = 10,
    /// `args[0]` = handle; `args[1]` = 1 for data only (`sync_data`).
    Sync = 11,
    /// `args[0]` = handle, `args[1]` = new length.
    Truncate = 12,
}

impl Op {
    /// Every op, in code order.
    pub const ALL: [Op; 13] = [
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
    ];
}

impl TryFrom<u16> for Op {
    type Error = Error;

    fn try_from(code: u16) -> Result<Self, Error> {
        Op::ALL.get(code as usize).copied().ok_or(Error::UnknownOp(code))
    }
}
