//! `/test/blk`: vireo-virtio's virtio-blk driver end to end, run as init
//! (holding the device right) on QEMU microvm (virtio-mmio) or q35
//! (virtio-pci, MSI-X). It finds the first virtio-blk device, negotiates,
//! reads sectors 0..16 with all requests in flight at once and checks the
//! pattern the host wrote there and at [`HOST_SECTOR`], then writes a
//! pattern to [`GUEST_SECTOR`], flushes and reads it back (the host checks
//! the disk image after the VM exits). With the argument `ro` the drive is
//! read-only and the write must be refused with `Error::ReadOnly`.
//! Exit code 0: all good; 1: a check failed; 2: no virtio-blk device.
#![no_std]
#![no_main]

use vireo_rt::device::INIT_DEVICE_RIGHT;
use vireo_rt::println;
use vireo_virtio::blk::{Blk, REQ_MEM, SECTOR};
use vireo_virtio::{dma::DmaRegion, queue, sys, Error};

vireo_rt::entry!(main);

/// Sectors 0..READ_SECTORS hold `host_byte(sector, i)` (written by tests/tests/blk.rs).
const READ_SECTORS: u64 = 16;
const HOST_SECTOR: u64 = 2048;
const GUEST_SECTOR: u64 = 4096;
const TIMEOUT_NS: u64 = 10_000_000_000;

fn host_byte(sector: u64, i: u64) -> u8 {
    (sector.wrapping_mul(31) + i * 7 + 1) as u8
}

fn guest_byte(i: u64) -> u8 {
    (i as u8) ^ 0xa5
}

fn main() -> i32 {
    let read_only = vireo_rt::args().iter().next() == Some("ro");
    let Some((index, info)) = sys::find(INIT_DEVICE_RIGHT, 2) else {
        println!("test-blk: no virtio-blk device");
        return 2;
    };
    match run(index, &info, read_only) {
        Ok(()) => {
            println!("test-blk: ok");
            0
        }
        Err(Failure::Virtio(e)) => {
            println!("test-blk: FAILED: {e:?}");
            1
        }
        Err(Failure::Check(what)) => {
            println!("test-blk: FAILED: {what}");
            1
        }
    }
}

fn run(index: u64, info: &vireo_rt::device::DeviceInfo, read_only: bool) -> Result<(), Failure> {
    let opened = sys::open(INIT_DEVICE_RIGHT, index, info)?;
    let kind = if info.kind == vireo_rt::device::KIND_PCI { "virtio-pci" } else { "virtio-mmio" };
    let queue_mem = sys::dma(opened.handle, queue::layout(queue::MAX_SIZE).2)?;
    let req_mem = sys::dma(opened.handle, REQ_MEM)?;
    let data = sys::dma(opened.handle, READ_SECTORS * SECTOR)?;
    let irq = opened.irq;
    let mut blk = Blk::new(opened.transport, queue_mem, req_mem)?;
    let mut wait = || irq.wait(TIMEOUT_NS);
    println!(
        "test-blk: {kind}: capacity {} sectors, block size {}, read-only {}",
        blk.capacity(),
        blk.block_size(),
        blk.read_only()
    );

    let mut tokens = [0; READ_SECTORS as usize];
    for s in 0..READ_SECTORS {
        tokens[s as usize] = blk.submit_read(s, slice(&data, s, 1)?)?;
    }
    let mut left = READ_SECTORS;
    while left > 0 {
        let (_, r) = blk.complete(&mut wait)?;
        r?;
        left -= 1;
    }
    let bad = (0..READ_SECTORS).find(|&s| (0..SECTOR).any(|i| data.read8(s * SECTOR + i) != host_byte(s, i)));
    check(bad.is_none(), "sectors 0..16 hold the host's pattern")?;
    println!("test-blk: read sectors 0..{READ_SECTORS}, all in flight at once: ok");

    blk.read(HOST_SECTOR, slice(&data, 0, 1)?, &mut wait)?;
    check((0..SECTOR).all(|i| data.read8(i) == host_byte(HOST_SECTOR, i)), "host pattern")?;
    println!("test-blk: host pattern at sector {HOST_SECTOR}: ok");

    let mut data = data;
    for i in 0..SECTOR {
        data.write8(i, guest_byte(i));
    }
    match blk.write(GUEST_SECTOR, slice(&data, 0, 1)?, &mut wait) {
        Err(Error::ReadOnly) if read_only => {
            println!("test-blk: write refused: ReadOnly");
            return Ok(());
        }
        other => other?,
    }
    check(!read_only, "a read-only drive refuses the write")?;
    blk.flush(&mut wait)?;
    for i in 0..SECTOR {
        data.write8(i, 0);
    }
    blk.read(GUEST_SECTOR, slice(&data, 0, 1)?, &mut wait)?;
    check((0..SECTOR).all(|i| data.read8(i) == guest_byte(i)), "read back what was written")?;
    println!("test-blk: wrote sector {GUEST_SECTOR}, flushed, read it back: ok");
    Ok(())
}

fn slice(d: &DmaRegion, sector: u64, count: u32) -> Result<vireo_virtio::dma::DmaSlice, Error> {
    d.slice(sector * SECTOR, count * SECTOR as u32).ok_or(Error::BadBuffer)
}

/// Why the run failed: the driver's error, or data that is not what it should be.
enum Failure {
    Virtio(Error),
    Check(&'static str),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Virtio(e)
    }
}

fn check(ok: bool, what: &'static str) -> Result<(), Failure> {
    if ok {
        Ok(())
    } else {
        Err(Failure::Check(what))
    }
}
