//! The client's bookkeeping of which data slots are in use.
//!
//! Slots belong to the client: it takes one for a request that carries or
//! receives data and gives it back when the completion has been read. The
//! pool lives in the client's own memory, not in the region, so a server
//! cannot confuse it.

use crate::error::Error;
use crate::layout::SLOT_COUNT;

/// Free/used bits for the region's data slots.
#[derive(Debug)]
pub struct SlotPool {
    used: u32,
}

const _: () = assert!(SLOT_COUNT <= 32);
const ALL: u32 = (1u64 << SLOT_COUNT) as u32 - 1;

impl Default for SlotPool {
    fn default() -> Self {
        Self::new()
    }
}

impl SlotPool {
    pub const fn new() -> Self {
        Self { used: 0 }
    }

    /// Takes a free slot.
    pub fn take(&mut self) -> Result<u16, Error> {
        let free = !self.used & ALL;
        if free == 0 {
            return Err(Error::NoSlot);
        }
        let slot = free.trailing_zeros();
        self.used |= 1 << slot;
        Ok(slot as u16)
    }

    /// Gives a slot back; `OutOfRange` if it was not taken (a completion
    /// naming a slot the request did not carry).
    pub fn give(&mut self, slot: u16) -> Result<(), Error> {
        let bit = 1u32.checked_shl(slot as u32).filter(|b| b & self.used != 0).ok_or(Error::OutOfRange)?;
        self.used &= !bit;
        Ok(())
    }

    /// Slots in use.
    pub fn used(&self) -> u32 {
        self.used.count_ones()
    }
}
