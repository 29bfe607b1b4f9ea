//! Typed wrappers for the device calls (`DeviceInfo` .. `ConfigWrite`) and
//! `WaitMany`, for user-space drivers. The kernel checks every argument; a
//! process without the device right gets an error from each.
use crate::raw::*;
use pv_abi::syscall::{Error, Sys};

pub use pv_abi::syscall::device::*;

pub type Result<T> = core::result::Result<T, Error>;

/// The device right init is started with.
pub const INIT_DEVICE_RIGHT: u64 = 1;

fn ret(rax: u64) -> Result<u64> {
    Error::from_ret(rax)
}

/// Describes device `index`; returns it and the number of devices.
pub fn info(right: u64, index: u64) -> Result<(DeviceInfo, u64)> {
    let mut d = DeviceInfo::default();
    let (p, len) = (&mut d as *mut DeviceInfo as u64, core::mem::size_of::<DeviceInfo>() as u64);
    // SAFETY: the kernel writes at most size_of::<DeviceInfo>() bytes into `d`.
    let n = ret(unsafe { syscall4(Sys::DeviceInfo as u64, right, index, p, len) })?;
    Ok((d, n))
}

/// Opens device `index`; returns its handle.
pub fn open(right: u64, index: u64) -> Result<u64> {
    // SAFETY: no memory effects in this process.
    ret(unsafe { syscall2(Sys::DeviceOpen as u64, right, index) })
}

/// Maps `len` bytes at `offset` of register window `bar`, uncached; returns its address.
pub fn map(dev: u64, bar: u64, offset: u64, len: u64) -> Result<u64> {
    // SAFETY: a new mapping in a free range; nothing this program uses changes.
    ret(unsafe { syscall4(Sys::DeviceMap as u64, dev, bar, offset, len) })
}

/// DMA memory: returns (address, physical address).
pub fn dma_alloc(dev: u64, len: u64) -> Result<(u64, u64)> {
    let mut pa = 0u64;
    // SAFETY: the kernel writes one u64 to `pa` and maps a new, free range.
    let va = ret(unsafe { syscall3(Sys::DmaAlloc as u64, dev, len, &mut pa as *mut u64 as u64) })?;
    Ok((va, pa))
}

/// The device's interrupt line as a handle.
pub fn irq_line(dev: u64) -> Result<u64> {
    // SAFETY: no memory is written for IRQ_LINE.
    ret(unsafe { syscall3(Sys::IrqOpen as u64, dev, IRQ_LINE, 0) })
}

/// An MSI vector as a handle, with the message to program into the device.
pub fn irq_msi(dev: u64) -> Result<(u64, MsiMessage)> {
    let mut m = MsiMessage::default();
    // SAFETY: the kernel writes one MsiMessage into `m`.
    let h = ret(unsafe { syscall3(Sys::IrqOpen as u64, dev, IRQ_MSI, &mut m as *mut MsiMessage as u64) })?;
    Ok((h, m))
}

pub fn irq_ack(irq: u64) -> Result<u64> {
    // SAFETY: no memory effects.
    ret(unsafe { syscall1(Sys::IrqAck as u64, irq) })
}

/// Waits for any of `handles`; returns the mask of ready ones.
pub fn wait_many(handles: &[u64], timeout_ns: u64) -> Result<u64> {
    // SAFETY: the kernel only reads the slice.
    ret(unsafe { syscall3(Sys::WaitMany as u64, handles.as_ptr() as u64, handles.len() as u64, timeout_ns) })
}

pub fn config_read(dev: u64, offset: u64, width: u64) -> Result<u64> {
    // SAFETY: no memory effects in this process.
    ret(unsafe { syscall3(Sys::ConfigRead as u64, dev, offset, width) })
}

pub fn config_write(dev: u64, offset: u64, width: u64, value: u64) -> Result<u64> {
    // SAFETY: no memory effects in this process.
    ret(unsafe { syscall4(Sys::ConfigWrite as u64, dev, offset, width, value) })
}

/// Free-page reporting: takes free frames not yet reported (at least
/// `min_bytes` of them, else none) as up to `out.len()` runs; returns how
/// many runs it wrote.
pub fn free_pages_take(dev: u64, out: &mut [FreeRun], min_bytes: u64) -> Result<usize> {
    let (p, n) = (out.as_mut_ptr() as u64, out.len() as u64);
    // SAFETY: the kernel writes at most `n` FreeRuns into `out`.
    let runs = ret(unsafe { syscall4(Sys::FreePagesTake as u64, dev, p, n, min_bytes) })?;
    Ok(runs as usize)
}

/// Gives the taken runs back, `reported` if the device has discarded them;
/// returns their frames.
pub fn free_pages_give(dev: u64, reported: bool) -> Result<u64> {
    // SAFETY: no memory effects in this process.
    ret(unsafe { syscall2(Sys::FreePagesGive as u64, dev, u64::from(reported)) })
}
