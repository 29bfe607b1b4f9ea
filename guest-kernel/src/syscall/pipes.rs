//! PipeCreate, Read, Write (the pipe itself: `process/pipe.rs`).
use super::{process, SysResult};
use crate::process::{read_user, write_user, Object, UserEnd};
use pv_abi::syscall::{layout, rights, Error};

/// Ends are created with these rights; handles passed at `Spawn` keep them.
const END_RIGHTS: u32 = rights::DUPLICATE;

/// Writes `[read handle, write handle]` (two u64) to `out_ptr`.
pub fn create(out_ptr: u64) -> SysResult {
    check(out_ptr, 16)?;
    let me = process()?;
    let (r, w) = crate::process::pipe()?;
    let (hr, hw) = {
        let mut table = me.handles.lock();
        let hr = table.insert(Object::PipeRead(r), END_RIGHTS)?;
        match table.insert(Object::PipeWrite(w), END_RIGHTS) {
            Ok(hw) => (hr, hw),
            Err(e) => {
                let _ = table.remove(hr);
                return Err(e);
            }
        }
    };
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&hr.to_le_bytes());
    out[8..].copy_from_slice(&hw.to_le_bytes());
    if let Err(e) = write_user(out_ptr, &out) {
        let mut table = me.handles.lock();
        let _ = table.remove(hr);
        let _ = table.remove(hw);
        return Err(e);
    }
    Ok(0)
}

/// The calling thread, as the pipe sees it.
struct Caller;

impl UserEnd for Caller {
    fn copy_to_user(&self, va: u64, bytes: &[u8]) -> Result<(), Error> {
        write_user(va, bytes)
    }

    fn copy_from_user(&self, va: u64, out: &mut [u8]) -> Result<(), Error> {
        read_user(va, out)
    }

    fn should_stop(&self) -> bool {
        crate::process::current().is_none_or(|p| p.is_killed())
    }
}

/// A user range, refused before anything is taken or made: `ptr` itself
/// must be below USER_END even when `len` is 0.
fn check(ptr: u64, len: u64) -> Result<(), Error> {
    ptr.checked_add(len).filter(|e| *e <= layout::USER_END && ptr < layout::USER_END).map(|_| ()).ok_or(Error::Fault)
}

pub fn read(h: u64, ptr: u64, len: u64) -> SysResult {
    check(ptr, len)?;
    // The handle table's lock is not held while blocking: the end's Arc
    // keeps it alive even if the handle is closed meanwhile.
    let obj = process()?.handles.lock().get(h, 0)?;
    match obj {
        Object::PipeRead(end) => end.read(&Caller, ptr, len),
        _ => Err(Error::WrongKind),
    }
}

pub fn write(h: u64, ptr: u64, len: u64) -> SysResult {
    check(ptr, len)?;
    let obj = process()?.handles.lock().get(h, 0)?;
    match obj {
        Object::PipeWrite(end) => end.write(&Caller, ptr, len),
        _ => Err(Error::WrongKind),
    }
}
