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
    used: u64,
}

const _: () = assert!(SLOT_COUNT <= 64);
const ALL: u64 = if SLOT_COUNT == 64 { u64::MAX } else { (1u64 << SLOT_COUNT) - 1 };

/// The bits of `n` slots from `first` (0 when the run is empty or does not fit).
fn run_bits(first: u16, n: usize) -> u64 {
    let (first, n) = (first as usize, n);
    if n == 0 || first >= SLOT_COUNT || n > SLOT_COUNT - first {
        return 0;
    }
    let bits = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
    bits << first
}

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
        self.take_run(1)
    }

    /// Takes `n` consecutive free slots (for a request whose data runs on
    /// across slots); returns the first.
    pub fn take_run(&mut self, n: usize) -> Result<u16, Error> {
        let free = !self.used & ALL;
        (0..SLOT_COUNT as u16)
            .find(|&first| {
                let bits = run_bits(first, n);
                bits != 0 && free & bits == bits
            })
            .inspect(|&first| self.used |= run_bits(first, n))
            .ok_or(Error::NoSlot)
    }

    /// Gives a slot back; `OutOfRange` if it was not taken (a completion
    /// naming a slot the request did not carry).
    pub fn give(&mut self, slot: u16) -> Result<(), Error> {
        self.give_run(slot, 1)
    }

    /// Gives back a run that `take_run(n)` returned as `first`.
    pub fn give_run(&mut self, first: u16, n: usize) -> Result<(), Error> {
        let bits = run_bits(first, n);
        if bits == 0 || self.used & bits != bits {
            return Err(Error::OutOfRange);
        }
        self.used &= !bits;
        Ok(())
    }

    /// Slots in use.
    pub fn used(&self) -> u32 {
        self.used.count_ones()
    }
}
