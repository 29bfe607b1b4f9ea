//! Per-process handle tables: a process touches only the objects it was
//! given, with the rights it was given. Generic over what a handle refers
//! to, so the table knows nothing of the objects themselves.
use alloc::vec::Vec;
use pv_abi::syscall::{rights, Error};

/// Handles per process.
const MAX_HANDLES: usize = 1024;

pub struct HandleTable<T> {
    slots: Vec<Option<(T, u32)>>,
}

impl<T> Default for HandleTable<T> {
    fn default() -> Self {
        Self { slots: Vec::new() }
    }
}

impl<T: Clone> HandleTable<T> {
    pub const fn new() -> Self {
        Self { slots: Vec::new() }
    }

    /// Handle values are slot + 1, so 0 is never valid.
    pub fn insert(&mut self, obj: T, r: u32) -> Result<u64, Error> {
        let slot = match self.slots.iter().position(Option::is_none) {
            Some(i) => i,
            None if self.slots.len() < MAX_HANDLES => {
                self.slots.push(None);
                self.slots.len() - 1
            }
            None => return Err(Error::Limit),
        };
        self.slots[slot] = Some((obj, r & rights::ALL));
        Ok(slot as u64 + 1)
    }

    fn slot(h: u64) -> Result<usize, Error> {
        h.checked_sub(1).and_then(|i| usize::try_from(i).ok()).ok_or(Error::BadHandle)
    }

    /// The object behind `h`, if the handle carries every right in `need`.
    pub fn get(&self, h: u64, need: u32) -> Result<T, Error> {
        let (obj, r) = self.slots.get(Self::slot(h)?).and_then(Option::as_ref).ok_or(Error::BadHandle)?;
        if r & need != need {
            return Err(Error::AccessDenied);
        }
        Ok(obj.clone())
    }

    /// The object and all the rights of `h` (to pass it on unchanged).
    pub fn get_with_rights(&self, h: u64) -> Result<(T, u32), Error> {
        self.slots.get(Self::slot(h)?).and_then(Option::as_ref).cloned().ok_or(Error::BadHandle)
    }

    pub fn remove(&mut self, h: u64) -> Result<(), Error> {
        let s = self.slots.get_mut(Self::slot(h)?).ok_or(Error::BadHandle)?;
        s.take().map(|_| ()).ok_or(Error::BadHandle)
    }

    pub fn duplicate(&mut self, h: u64, r: u32) -> Result<u64, Error> {
        let (obj, have) = self.slots.get(Self::slot(h)?).and_then(Option::as_ref).ok_or(Error::BadHandle)?.clone();
        if have & rights::DUPLICATE == 0 {
            return Err(Error::AccessDenied);
        }
        self.insert(obj, have & r)
    }
}
