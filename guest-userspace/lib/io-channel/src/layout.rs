//! Where everything lives in the shared region (byte offsets).
//!
//! ```text
//! page 0        header: magic, version; per queue head, tail and sleep
//!               words, each on its own cache line (no false sharing
//!               between the two sides)
//! page 1        submission queue: QUEUE_LEN messages of 64 bytes
//! page 2        completion queue: QUEUE_LEN messages of 64 bytes
//! page 3        readiness words: one `u32` per socket of the connection
//!               (socket id N is word N - 1), written by the server, slept
//!               on by the client (see [`crate::ready`])
//! pages 4..68   SLOT_COUNT data slots of SLOT_SIZE bytes (a message's data
//!               range may run on across consecutive slots: one 64 KiB read
//!               is one request)
//! ```
//! Head and tail are free-running `u32` counters (entry = counter mod
//! `QUEUE_LEN`); `tail - head` (wrapping) is the number of queued messages.

/// The page size both sides map the region with.
pub const PAGE_SIZE: usize = 4096;
/// The whole region: what the creator passes to `ShmCreate`.
pub const REGION_SIZE: usize = SLOTS + SLOT_COUNT * SLOT_SIZE;
/// Messages per queue; a power of two so counters wrap cleanly.
pub const QUEUE_LEN: u32 = 64;
/// Bytes of one data slot.
pub const SLOT_SIZE: usize = PAGE_SIZE;
/// Data slots in the region.
pub const SLOT_COUNT: usize = 64;
/// Bytes of the whole data area.
pub const DATA_SIZE: usize = SLOT_COUNT * SLOT_SIZE;

/// "VIO1": tells a server it was handed an initialised channel region.
pub const MAGIC: u32 = 0x3149_4f56;
/// Bumped on any incompatible change of this layout or of the op codes.
pub const VERSION: u32 = 4;

pub const MAGIC_OFFSET: usize = 0;
pub const VERSION_OFFSET: usize = 4;
/// Cache line of the submission queue's head (written by the server).
pub const SQ_HEAD: usize = 64;
/// Cache line of the submission queue's tail (written by the client).
pub const SQ_TAIL: usize = 128;
/// The server's sleep word: `SLEEPING` while it waits for submissions.
pub const SQ_SLEEP: usize = 192;
/// Cache line of the completion queue's head (written by the client).
pub const CQ_HEAD: usize = 256;
/// Cache line of the completion queue's tail (written by the server).
pub const CQ_TAIL: usize = 320;
/// The client's sleep word: `SLEEPING` while it waits for completions.
pub const CQ_SLEEP: usize = 384;

pub const SQ_ENTRIES: usize = PAGE_SIZE;
pub const CQ_ENTRIES: usize = 2 * PAGE_SIZE;
/// The readiness words' page.
pub const READY: usize = 3 * PAGE_SIZE;
/// Readiness words: one per socket a connection may have.
pub const READY_WORDS: usize = PAGE_SIZE / 4;
pub const SLOTS: usize = 4 * PAGE_SIZE;

const _: () = assert!(QUEUE_LEN.is_power_of_two());
const _: () = assert!(QUEUE_LEN as usize * crate::MSG_SIZE <= PAGE_SIZE);
const _: () = assert!(CQ_SLEEP + 64 <= SQ_ENTRIES);
const _: () = assert!(READY + READY_WORDS * 4 <= SLOTS);
const _: () = assert!(SLOTS + SLOT_COUNT * SLOT_SIZE == REGION_SIZE);
const _: () = assert!(REGION_SIZE.is_multiple_of(PAGE_SIZE));
