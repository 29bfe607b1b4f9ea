//! FreePagesTake and FreePagesGive: free-page reporting for the driver of
//! a virtio-balloon (docs/paravirt.md, "Free-page reporting"). The frames
//! are the frame allocator's; the calls only move them in and out of it,
//! on behalf of an opened device, so only a driver given the device right
//! can make them, and a batch it leaves out comes back when its device
//! session ends (after the device is reset).
use super::device::opened;
use super::SysResult;
use crate::mm::frame::report::{self, ReportError};
use crate::process::write_user;
use alloc::vec::Vec;
use pv_abi::syscall::device::{FreeRun, REPORT_MAX_RUNS};
use pv_abi::syscall::Error;

const PAGE: u64 = 4096;
const RUN_BYTES: u64 = core::mem::size_of::<FreeRun>() as u64;

impl From<ReportError> for Error {
    fn from(e: ReportError) -> Self {
        match e {
            ReportError::Busy => Error::Busy,
            ReportError::NoBatch => Error::NotFound,
            ReportError::NotOwner => Error::AccessDenied,
        }
    }
}

pub fn take(dev_h: u64, out: u64, cap: u64, min_bytes: u64) -> SysResult {
    let dev = opened(dev_h)?;
    if cap == 0 || cap > REPORT_MAX_RUNS {
        return Err(Error::Invalid);
    }
    // Everything that can fail does before anything is taken: the memory
    // (nothing allocates under the allocator's lock) and the whole buffer,
    // zeroed.
    let mut runs = Vec::new();
    let mut buf = Vec::new();
    let bytes = (cap * RUN_BYTES) as usize;
    if runs.try_reserve_exact(cap as usize).is_err() || buf.try_reserve_exact(bytes).is_err() {
        return Err(Error::NoMemory);
    }
    buf.resize(bytes, 0);
    write_user(out, &buf)?;
    buf.clear();
    let owner = dev.report_owner();
    report::report_take(owner, cap as usize, min_bytes.div_ceil(PAGE), &mut runs)?;
    for &(s, e) in &runs {
        buf.extend_from_slice(&s.to_le_bytes());
        buf.extend_from_slice(&(e - s).to_le_bytes());
    }
    // The buffer may have been unmapped meanwhile by another thread.
    if let Err(e) = write_user(out, &buf) {
        let _ = report::report_give(owner, false);
        return Err(e);
    }
    Ok(runs.len() as u64)
}

pub fn give(dev_h: u64, reported: u64) -> SysResult {
    let dev = opened(dev_h)?;
    let reported = match reported {
        0 => false,
        1 => true,
        _ => return Err(Error::Invalid),
    };
    Ok(report::report_give(dev.report_owner(), reported)?)
}
