//! Per-process handle tables: a process touches only the objects it was
//! given, with the rights it was given.
use super::pipe::{PipeReader, PipeWriter};
use super::{Process, SharedMemory};
use crate::sched::Thread;
use alloc::sync::Arc;
use alloc::vec::Vec;
use pv_abi::syscall::{rights, Error};

/// Handles per process.
const MAX_HANDLES: usize = 1024;

#[derive(Clone)]
pub enum Object {
    Process(Arc<Process>),
    Thread(Arc<Thread>),
    Shm(Arc<SharedMemory>),
    /// A pipe's read end (the end closes when its last handle does).
    PipeRead(Arc<PipeReader>),
    /// A pipe's write end.
    PipeWrite(Arc<PipeWriter>),
    /// The device right: lets its holder list and open devices, if the handle carries `rights::DEVICE`.
    DeviceRight,
    /// A device opened for driving it.
    Device(Arc<crate::device::OpenDevice>),
    /// A device interrupt.
    Irq(Arc<crate::device::IrqObject>),
}

#[derive(Default)]
pub struct HandleTable {
    slots: Vec<Option<(Object, u32)>>,
}

impl HandleTable {
    pub const fn new() -> Self {
        Self { slots: Vec::new() }
    }

    /// Handle values are slot + 1, so 0 is never valid.
    pub fn insert(&mut self, obj: Object, r: u32) -> Result<u64, Error> {
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
    pub fn get(&self, h: u64, need: u32) -> Result<Object, Error> {
        let (obj, r) = self.slots.get(Self::slot(h)?).and_then(Option::as_ref).ok_or(Error::BadHandle)?;
        if r & need != need {
            return Err(Error::AccessDenied);
        }
        Ok(obj.clone())
    }

    /// The object and all the rights of `h` (to pass it on unchanged).
    pub fn get_with_rights(&self, h: u64) -> Result<(Object, u32), Error> {
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
