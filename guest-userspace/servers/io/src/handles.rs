//! One connection's open files: the handles the client names in requests.
//! Values are index + 1 (0 is never valid); a stale or invented handle is
//! `BadHandle`, never another connection's file.

use alloc::vec::Vec;
use vireo_fs::Node;
use vireo_io_channel::Status;

/// Open handles per connection.
pub const MAX_OPEN: usize = 1024;

#[derive(Clone, Copy, Debug)]
pub struct Open {
    pub node: Node,
    /// The `open` flags it was opened with.
    pub flags: u64,
}

#[derive(Default)]
pub struct Handles {
    slots: Vec<Option<Open>>,
}

impl Handles {
    pub fn insert(&mut self, open: Open) -> Result<u64, Status> {
        let i = match self.slots.iter().position(Option::is_none) {
            Some(i) => i,
            None if self.slots.len() < MAX_OPEN => {
                self.slots.try_reserve(1).map_err(|_| Status::TooManyOpen)?;
                self.slots.push(None);
                self.slots.len() - 1
            }
            None => return Err(Status::TooManyOpen),
        };
        self.slots[i] = Some(open);
        Ok(i as u64 + 1)
    }

    pub fn get(&self, h: u64) -> Result<Open, Status> {
        let i = h.checked_sub(1).ok_or(Status::BadHandle)? as usize;
        self.slots.get(i).copied().flatten().ok_or(Status::BadHandle)
    }

    pub fn remove(&mut self, h: u64) -> Result<Open, Status> {
        let i = h.checked_sub(1).ok_or(Status::BadHandle)? as usize;
        self.slots.get_mut(i).and_then(Option::take).ok_or(Status::BadHandle)
    }

    /// Every handle still open (the client went away without closing them).
    pub fn drain(&mut self) -> impl Iterator<Item = Open> + '_ {
        self.slots.drain(..).flatten()
    }
}
