//! What can go wrong on a channel, most of it the peer's doing.

/// A channel error. Variants marked "peer" mean the other side broke the
/// protocol (or wrote garbage into the region); the right reaction is to drop
/// the connection, never to trust the region again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The queue has no free entry; consume completions (or wait) first.
    Full,
    /// The region is smaller than `REGION_SIZE` or not page-aligned.
    BadRegion,
    /// Peer: the header's magic or version is not ours.
    BadHeader { magic: u32, version: u32 },
    /// Peer: a published head or tail is impossible given ours
    /// (more than `QUEUE_LEN` apart, or moving backwards).
    BadIndex { ours: u32, theirs: u32 },
    /// Peer: a message carries an op code this protocol does not have.
    UnknownOp(u16),
    /// Peer: a message names a slot past `SLOT_COUNT`.
    BadSlot(u16),
    /// Peer: a message's data range (offset + len) runs past the data area.
    BadLength { offset: u32, len: u32 },
    /// A local caller asked for a range outside a slot.
    OutOfRange,
    /// No free data slot.
    NoSlot,
    /// Waited the whole timeout and nothing arrived.
    TimedOut,
}

impl Error {
    /// True when the error means the peer cannot be trusted any more.
    pub fn is_peer_fault(self) -> bool {
        matches!(
            self,
            Error::BadHeader { .. }
                | Error::BadIndex { .. }
                | Error::UnknownOp(_)
                | Error::BadSlot(_)
                | Error::BadLength { .. }
        )
    }
}
