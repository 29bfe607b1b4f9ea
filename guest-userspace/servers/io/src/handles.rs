//! One connection's open files: the handles the client names in requests.
//! A handle is `first + index` (`first` is never 0); a stale or invented
//! handle is `BadHandle`, never another connection's file.

use alloc::vec::Vec;
use vireo_fs::Node;
use vireo_io_channel::Status;

/// Open handles of `/` per connection.
pub const MAX_OPEN: usize = 1024;

#[derive(Clone, Copy, Debug)]
pub struct Open {
    pub node: Node,
    /// The `open` flags it was opened with.
    pub flags: u64,
}

/// Files of `/` a connection has open, numbered from 1.
pub type Handles = Table<Open, 1, MAX_OPEN>;

/// Up to `MAX` open things numbered from `FIRST`, reusing freed numbers.
pub struct Table<T, const FIRST: u64, const MAX: usize> {
    slots: Vec<Option<T>>,
}

impl<T, const FIRST: u64, const MAX: usize> Default for Table<T, FIRST, MAX> {
    fn default() -> Self {
        Table { slots: Vec::new() }
    }
}

impl<T, const FIRST: u64, const MAX: usize> Table<T, FIRST, MAX> {
    pub fn insert(&mut self, item: T) -> Result<u64, Status> {
        let i = match self.slots.iter().position(Option::is_none) {
            Some(i) => i,
            None if self.slots.len() < MAX => {
                self.slots.try_reserve(1).map_err(|_| Status::TooManyOpen)?;
                self.slots.push(None);
                self.slots.len() - 1
            }
            None => return Err(Status::TooManyOpen),
        };
        self.slots[i] = Some(item);
        Ok(FIRST + i as u64)
    }

    fn index(h: u64) -> Result<usize, Status> {
        h.checked_sub(FIRST).and_then(|i| usize::try_from(i).ok()).ok_or(Status::BadHandle)
    }

    pub fn get_mut(&mut self, h: u64) -> Result<&mut T, Status> {
        self.slots.get_mut(Self::index(h)?).and_then(Option::as_mut).ok_or(Status::BadHandle)
    }

    pub fn remove(&mut self, h: u64) -> Result<T, Status> {
        self.slots.get_mut(Self::index(h)?).and_then(Option::take).ok_or(Status::BadHandle)
    }

    /// Every handle still open (the client went away without closing them).
    pub fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.slots.drain(..).flatten()
    }
}

impl<T: Copy, const FIRST: u64, const MAX: usize> Table<T, FIRST, MAX> {
    pub fn get(&self, h: u64) -> Result<T, Status> {
        self.slots.get(Self::index(h)?).copied().flatten().ok_or(Status::BadHandle)
    }
}
