//! `/test/devices`: the device calls for user-space drivers, end to end.
//! Run as init (which holds the device right as handle 1) it checks that
//! the right cannot be forged, that a child without it is refused by every
//! call (`/test/devices norights`), that bad arguments are refused (and
//! free-page reporting's calls take and give back a batch), and
//! then drives a virtio entropy device: virtio-mmio (QEMU microvm) or
//! virtio-pci with MSI-X (q35) — map its registers, read its ID, set up one
//! virtqueue in DMA memory, and wait for its interrupt with `WaitMany`.
#![no_std]
#![no_main]

mod ring;
mod virtio_mmio;
mod virtio_pci;

use vireo_rt::device::{self as dev, DeviceInfo, INIT_DEVICE_RIGHT, KIND_PCI, KIND_VIRTIO_MMIO};
use vireo_rt::sys::{self, rights};
use vireo_rt::{println, Error};

vireo_rt::entry!(main);

pub struct Checker {
    pub failed: u32,
    pub checked: u32,
}

impl Checker {
    pub fn check<T: core::fmt::Debug>(&mut self, what: &str, got: Result<T, Error>, want: Error) {
        self.checked += 1;
        match got {
            Err(e) if e == want => {}
            other => {
                println!("test-devices: {what}: got {other:?}, want {want:?}");
                self.failed += 1;
            }
        }
    }

    pub fn expect(&mut self, what: &str, ok: bool) {
        self.checked += 1;
        if !ok {
            println!("test-devices: {what}: wrong");
            self.failed += 1;
        }
    }
}

fn main() -> i32 {
    let mut c = Checker { failed: 0, checked: 0 };
    let args = vireo_rt::args();
    let mode = args.iter().next();
    if mode == Some("dying-driver") {
        // Given the device right as handle 1: start a device, then die with it running.
        return virtio_mmio::start_and_die(1);
    }
    if mode == Some("norights") {
        // Handle 1: the device right without rights::DEVICE; 2: a pipe end
        // (which carries no DEVICE right either).
        refused_everywhere(&mut c, 1, Error::AccessDenied);
        refused_everywhere(&mut c, 2, Error::AccessDenied);
        refused_everywhere(&mut c, 777, Error::BadHandle);
        return report(&c, "norights");
    }
    let right = INIT_DEVICE_RIGHT;
    forging_fails(&mut c, right);
    let Ok((_, count)) = dev::info(right, 0) else {
        println!("test-devices: no devices");
        return 2;
    };
    println!("test-devices: {count} devices");
    let mut target = None;
    for i in 0..count {
        if let Ok((d, _)) = dev::info(right, i) {
            print_info(i, &d);
            let rng = (d.kind == KIND_VIRTIO_MMIO && d.device == 4)
                || (d.kind == KIND_PCI && d.vendor == 0x1af4 && (d.device == 0x1044 || d.device == 0x1005));
            if rng && target.is_none() {
                target = Some((i, d));
            }
        }
    }
    if let Some((i, d)) = target {
        bad_arguments(&mut c, right, count, i, &d);
    }
    match target {
        Some((i, d)) if d.kind == KIND_VIRTIO_MMIO => virtio_mmio::run(&mut c, right, i, &d),
        Some((i, d)) => virtio_pci::run(&mut c, right, i, &d),
        None => c.expect("a virtio entropy device is present", false),
    }
    report(&c, "init")
}

fn report(c: &Checker, who: &str) -> i32 {
    if c.failed == 0 {
        println!("test-devices: {who}: ok ({} checks)", c.checked);
        0
    } else {
        println!("test-devices: {who}: FAILED: {} of {} checks", c.failed, c.checked);
        1
    }
}

fn print_info(i: u64, d: &DeviceInfo) {
    println!(
        "test-devices: device {i}: kind {} {:04x}:{:04x} class {:06x} gsi {:#x} at {:02x}:{:02x}.{} msix {} bar0 {:#x}+{:#x}",
        d.kind, d.vendor, d.device, d.class, d.gsi, d.bus, d.slot, d.function, d.msix_entries, d.bars[0].base, d.bars[0].size
    );
}

/// Every device call with `h` in the handle position fails with `want`.
fn refused_everywhere(c: &mut Checker, h: u64, want: Error) {
    c.check("DeviceInfo", dev::info(h, 0), want);
    c.check("DeviceOpen", dev::open(h, 0), want);
    c.check("DeviceMap", dev::map(h, 0, 0, 4096), want);
    c.check("DmaAlloc", dev::dma_alloc(h, 4096), want);
    c.check("IrqOpen line", dev::irq_line(h), want);
    c.check("IrqOpen msi", dev::irq_msi(h), want);
    c.check("ConfigRead", dev::config_read(h, 0, 4), want);
    c.check("ConfigWrite", dev::config_write(h, 4, 2, 6), want);
    c.check("IrqAck", dev::irq_ack(h), want);
    c.check("FreePagesTake", dev::free_pages_take(h, &mut [dev::FreeRun::default(); 4], 0), want);
    c.check("FreePagesGive", dev::free_pages_give(h, false), want);
}

/// Rights only shrink: a copy without DEVICE cannot get it back, and a
/// child given that copy is refused everywhere.
fn forging_fails(c: &mut Checker, right: u64) {
    let Ok(weak) = sys::duplicate(right, rights::DUPLICATE | rights::WAIT) else {
        return c.expect("duplicate the device right", false);
    };
    c.check("DeviceInfo with a copy lacking DEVICE", dev::info(weak, 0), Error::AccessDenied);
    if let Ok(again) = sys::duplicate(weak, rights::ALL) {
        c.check("DeviceInfo after re-duplicating with ALL", dev::info(again, 0), Error::AccessDenied);
        let _ = sys::close(again);
    }
    let Ok((pr, pw)) = sys::pipe_create() else { return c.expect("pipe", false) };
    match sys::spawn_with_handles("/test/devices", &["norights"], &[weak, pr]) {
        Ok(p) => c.expect("child without the right is refused everywhere", sys::wait(p, sys::FOREVER) == Ok(0)),
        Err(e) => {
            println!("test-devices: spawn: {e:?}");
            c.expect("spawn child", false);
        }
    }
    for h in [weak, pr, pw] {
        let _ = sys::close(h);
    }
}

/// Bad arguments on device `index` (described by `info`), all refused.
fn bad_arguments(c: &mut Checker, right: u64, count: u64, index: u64, info: &DeviceInfo) {
    use Error::*;
    c.check("DeviceInfo past the last device", dev::info(right, count), NotFound);
    c.check("DeviceInfo index u64::MAX", dev::info(right, u64::MAX), NotFound);
    // SAFETY: a kernel-half pointer; the kernel must refuse to write there.
    let r = unsafe {
        vireo_rt::raw::syscall4(vireo_rt::pv_abi::syscall::Sys::DeviceInfo as u64, right, 0, 0xffff_8000_0000_0000, 176)
    };
    c.check("DeviceInfo into kernel memory", Error::from_ret(r), Fault);
    c.check("DeviceOpen past the last device", dev::open(right, count), NotFound);
    let Ok(d) = dev::open(right, index) else { return c.expect("open the device", false) };
    c.check("DeviceOpen twice", dev::open(right, index), Busy);
    c.check("DeviceOpen through a device handle", dev::open(d, 0), WrongKind);
    c.check("DeviceInfo through a device handle", dev::info(d, 0), WrongKind);
    c.check("DeviceMap through the device right", dev::map(right, 0, 0, 4096), WrongKind);
    c.check("DmaAlloc through the device right", dev::dma_alloc(right, 4096), WrongKind);
    c.check("IrqAck on a device handle", dev::irq_ack(d), AccessDenied);
    let Some(bar) = info.bars.iter().position(|b| b.flags & dev::BAR_MMIO != 0) else {
        return c.expect("the device has a memory window", false);
    };
    let size = info.bars[bar].size;
    let bar = bar as u64;
    c.check("DeviceMap BAR 6", dev::map(d, 6, 0, 4096), NotFound);
    c.check("DeviceMap BAR u64::MAX", dev::map(d, u64::MAX, 0, 4096), NotFound);
    if info.kind == KIND_VIRTIO_MMIO {
        c.check("DeviceMap absent window 1", dev::map(d, 1, 0, 4096), NotFound);
    }
    c.check("DeviceMap length past the window", dev::map(d, bar, 0, size + 1), OutOfRange);
    c.check("DeviceMap offset past the window", dev::map(d, bar, size, 1), OutOfRange);
    c.check("DeviceMap offset+length wraps", dev::map(d, bar, u64::MAX, 2), OutOfRange);
    c.check("DeviceMap zero length", dev::map(d, bar, 0, 0), Invalid);
    if let Some(io) = info.bars.iter().position(|b| b.flags & dev::BAR_IO != 0) {
        c.check("DeviceMap an I/O-port BAR", dev::map(d, io as u64, 0, 1), NotFound);
    }
    c.check("DmaAlloc 1 TiB", dev::dma_alloc(d, 1 << 40), Limit);
    c.check("DmaAlloc u64::MAX", dev::dma_alloc(d, u64::MAX), Limit);
    c.check("DmaAlloc 0", dev::dma_alloc(d, 0), Invalid);
    // SAFETY: a null out-pointer; the kernel must refuse before mapping anything.
    let r = unsafe { vireo_rt::raw::syscall3(vireo_rt::pv_abi::syscall::Sys::DmaAlloc as u64, d, 4096, 0) };
    c.check("DmaAlloc with a null out-pointer", Error::from_ret(r), Fault);
    // SAFETY: an unknown kind writes nothing.
    let r = unsafe { vireo_rt::raw::syscall3(vireo_rt::pv_abi::syscall::Sys::IrqOpen as u64, d, 7, 0) };
    c.check("IrqOpen unknown kind", Error::from_ret(r), Invalid);
    if info.kind == KIND_VIRTIO_MMIO {
        c.check("ConfigRead on virtio-mmio", dev::config_read(d, 0, 4), WrongKind);
    } else {
        c.check("ConfigRead width 3", dev::config_read(d, 0, 3), Invalid);
        c.check("ConfigRead offset 4096", dev::config_read(d, 4096, 4), Invalid);
        c.check("ConfigWrite a BAR", dev::config_write(d, 0x10, 2, 0), AccessDenied);
    }
    c.check("WaitMany no handles", dev::wait_many(&[], 0), Invalid);
    c.check("WaitMany 65 handles", dev::wait_many(&[d; 65], 0), Invalid);
    c.check("WaitMany on a device handle", dev::wait_many(&[d], 0), WrongKind);
    c.check("WaitMany bad handle", dev::wait_many(&[9999], 0), BadHandle);
    // Timeouts: nothing is ready, so 0 polls and 20 ms waits.
    let Ok((pr, pw)) = sys::pipe_create() else { return c.expect("pipe", false) };
    c.check("WaitMany poll with nothing ready", dev::wait_many(&[pr], 0), TimedOut);
    let t0 = sys::now_ns();
    c.check("WaitMany 20 ms with nothing ready", dev::wait_many(&[pr], 20_000_000), TimedOut);
    let waited = sys::now_ns() - t0;
    c.expect("WaitMany waited at least its timeout", waited >= 20_000_000);
    let _ = sys::pipe_write(pw, b"x");
    c.expect("WaitMany sees the pipe byte", dev::wait_many(&[pw, pr], 1_000_000_000) == Ok(0b11));
    let _ = sys::close(pr);
    let _ = sys::close(pw);
    free_pages(c, right, index, d);
}

/// FreePagesTake/Give (free-page reporting) on the opened device `d`, which
/// this closes: bad arguments refused, a batch taken and given back, and a
/// batch left out when the device closes comes back.
fn free_pages(c: &mut Checker, right: u64, index: u64, d: u64) {
    use Error::*;
    let mut runs = [dev::FreeRun::default(); 16];
    c.check("FreePagesTake through the device right", dev::free_pages_take(right, &mut runs, 0), WrongKind);
    c.check("FreePagesTake cap 0", dev::free_pages_take(d, &mut [], 0), Invalid);
    c.check("FreePagesTake cap 257", dev::free_pages_take(d, &mut [dev::FreeRun::default(); 257], 0), Invalid);
    // SAFETY: a kernel-half pointer; the kernel must refuse before taking anything.
    let r = unsafe {
        vireo_rt::raw::syscall4(vireo_rt::pv_abi::syscall::Sys::FreePagesTake as u64, d, 0xffff_8000_0000_0000, 4, 0)
    };
    c.check("FreePagesTake into kernel memory", Error::from_ret(r), Fault);
    c.check("FreePagesGive without a batch", dev::free_pages_give(d, true), NotFound);
    // SAFETY: no memory effects.
    let r = unsafe { vireo_rt::raw::syscall2(vireo_rt::pv_abi::syscall::Sys::FreePagesGive as u64, d, 2) };
    c.check("FreePagesGive reported=2", Error::from_ret(r), Invalid);
    // Some used memory freed, so there is something to take.
    if let Ok(a) = sys::map(0, 1 << 20, sys::prot::READ | sys::prot::WRITE) {
        for p in (0..1u64 << 20).step_by(4096) {
            // SAFETY: our fresh read-write mapping.
            unsafe { ((a + p) as *mut u8).write_volatile(1) };
        }
        // SAFETY: the mapping is ours and nothing refers to it.
        let _ = unsafe { sys::unmap(a, 1 << 20) };
    }
    c.expect("FreePagesTake below its threshold takes nothing", dev::free_pages_take(d, &mut runs, u64::MAX) == Ok(0));
    let n = dev::free_pages_take(d, &mut runs, 0).unwrap_or(0);
    c.expect(
        "FreePagesTake takes the freed megabyte",
        n > 0 && runs[..n].iter().map(|r| r.len).sum::<u64>() >= 1 << 20,
    );
    c.expect("runs are page-aligned", runs[..n].iter().all(|r| (r.addr | r.len) % 4096 == 0 && r.len > 0));
    let frames: u64 = runs[..n].iter().map(|r| r.len / 4096).sum();
    c.check("FreePagesTake with a batch out", dev::free_pages_take(d, &mut runs, 0), Busy);
    c.expect("FreePagesGive returns the batch", dev::free_pages_give(d, false) == Ok(frames));
    // A batch left out is given back when its device closes.
    c.expect("a second batch", dev::free_pages_take(d, &mut runs, 0).is_ok_and(|n| n > 0));
    let _ = sys::close(d);
    let Ok(d) = dev::open(right, index) else { return c.expect("reopen the device", false) };
    c.expect("FreePagesTake after the last session closed", dev::free_pages_take(d, &mut runs, 0).is_ok());
    let _ = dev::free_pages_give(d, false);
    let _ = sys::close(d);
}
