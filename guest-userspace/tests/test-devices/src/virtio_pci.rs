//! A modern virtio-pci entropy device with MSI-X: find its virtio
//! capabilities in config space, map the common and notify structures and
//! the MSI-X table, point queue 0's MSI-X entry at a kernel-allocated
//! vector, and wait for the interrupt of one request.
use crate::ring::*;
use crate::Checker;
use vireo_rt::device::{self as dev, DeviceInfo};
use vireo_rt::{println, Error};

use vireo_virtio::pci::common::*;

/// (bar, offset, length, extra dword) of the virtio capability of `cfg_type`.
fn virtio_cap(d: u64, cfg_type: u8) -> Option<(u64, u64, u64, u32)> {
    let mut at = dev::config_read(d, 0x34, 1).ok()? & 0xfc;
    for _ in 0..48 {
        if at < 0x40 {
            return None;
        }
        let head = dev::config_read(d, at, 4).ok()? as u32;
        if head as u8 == 0x09 && (head >> 24) as u8 == cfg_type {
            let bar = dev::config_read(d, at + 4, 1).ok()?;
            let off = dev::config_read(d, at + 8, 4).ok()?;
            let len = dev::config_read(d, at + 12, 4).ok()?;
            let extra = dev::config_read(d, at + 16, 4).unwrap_or(0) as u32;
            return Some((bar, off, len, extra));
        }
        at = u64::from((head >> 8) as u8 & 0xfc);
    }
    None
}

pub fn run(c: &mut Checker, right: u64, index: u64, info: &DeviceInfo) {
    let Ok(d) = dev::open(right, index) else { return c.expect("open the virtio-pci device", false) };
    c.expect("device has MSI-X", info.msix_entries > 0 && info.msix_cap != 0);
    let id = dev::config_read(d, 0, 4).unwrap_or(0);
    println!("test-devices: virtio-pci id {id:#010x}, msix entries {} cap {:#x}", info.msix_entries, info.msix_cap);
    c.expect("config space reads the vendor/device", id as u16 == info.vendor && (id >> 16) as u16 == info.device);
    let (Some(common), Some(notify)) = (virtio_cap(d, 1), virtio_cap(d, 2)) else {
        return c.expect("virtio common and notify capabilities", false);
    };
    let Ok(cfg) = dev::map(d, common.0, common.1, common.2) else { return c.expect("map common cfg", false) };
    let Ok(nfy) = dev::map(d, notify.0, notify.1, notify.2) else { return c.expect("map notify", false) };
    // MSI-X table: BIR and offset from the capability's dword 1.
    let cap = u64::from(info.msix_cap);
    let table = dev::config_read(d, cap + 4, 4).unwrap_or(0);
    let Ok(msix) = dev::map(d, table & 7, table & !7, 16 * u64::from(info.msix_entries)) else {
        return c.expect("map the MSI-X table", false);
    };
    let Ok((irq, msg)) = dev::irq_msi(d) else { return c.expect("an MSI vector", false) };
    println!(
        "test-devices: MSI-X entry 0 <- address {:#x} data {:#x} (vector {:#x})",
        msg.address, msg.data, msg.vector
    );
    w32(msix, msg.address as u32);
    w32(msix + 4, (msg.address >> 32) as u32);
    w32(msix + 8, msg.data);
    w32(msix + 12, 0); // unmasked
    let ctrl = dev::config_read(d, cap + 2, 2).unwrap_or(0);
    c.expect("enable MSI-X", dev::config_write(d, cap + 2, 2, ctrl | 1 << 15).is_ok());
    let cmd = dev::config_read(d, 4, 2).unwrap_or(0);
    c.expect("enable memory and bus mastering", dev::config_write(d, 4, 2, cmd | 0b110).is_ok());
    c.check("ConfigWrite other command bits", dev::config_write(d, 4, 2, (cmd | 0b110) ^ 1 << 8), Error::AccessDenied);

    w8(cfg + DEVICE_STATUS, 0);
    while r8(cfg + DEVICE_STATUS) != 0 {}
    w8(cfg + DEVICE_STATUS, 1 | 2);
    w32(cfg + DEVICE_FEATURE_SELECT, 1);
    c.expect("device offers VIRTIO_F_VERSION_1", r32(cfg + DEVICE_FEATURE) & 1 != 0);
    w32(cfg + DRIVER_FEATURE_SELECT, 1);
    w32(cfg + DRIVER_FEATURE, 1);
    w32(cfg + DRIVER_FEATURE_SELECT, 0);
    w32(cfg + DRIVER_FEATURE, 0);
    w8(cfg + DEVICE_STATUS, 1 | 2 | 8);
    c.expect("FEATURES_OK accepted", r8(cfg + DEVICE_STATUS) & 8 != 0);
    w16(cfg + MSIX_CONFIG, 0xffff);
    w16(cfg + QUEUE_SELECT, 0);
    c.expect("queue 0 holds 8 entries", r16(cfg + QUEUE_SIZE) >= QSIZE);
    w16(cfg + QUEUE_SIZE, QSIZE);
    w16(cfg + QUEUE_MSIX_VECTOR, 0);
    c.expect("queue 0 takes MSI-X entry 0", r16(cfg + QUEUE_MSIX_VECTOR) == 0);
    let Ok((va, pa)) = dev::dma_alloc(d, 4096) else { return c.expect("DMA memory", false) };
    w64(cfg + QUEUE_DESC, pa);
    w64(cfg + QUEUE_DRIVER, pa + AVAIL);
    w64(cfg + QUEUE_DEVICE, pa + USED);
    w16(cfg + QUEUE_ENABLE, 1);
    let notify_at = nfy + u64::from(r16(cfg + QUEUE_NOTIFY_OFF)) * u64::from(notify.3);
    w8(cfg + DEVICE_STATUS, 1 | 2 | 8 | 4);

    c.check("WaitMany on an idle MSI-X vector", dev::wait_many(&[irq], 10_000_000), Error::TimedOut);
    offer_buffer(va, pa);
    w16(notify_at, 0);
    c.expect("WaitMany reports the MSI-X interrupt", dev::wait_many(&[irq], 5_000_000_000) == Ok(1));
    c.expect("IrqAck", dev::irq_ack(irq).is_ok());
    let (idx, len) = used(va);
    println!(
        "test-devices: virtio-pci MSI-X interrupt: used idx {idx}, {len} random bytes: {:02x} {:02x} {:02x} {:02x}",
        r8(va + BUF),
        r8(va + BUF + 1),
        r8(va + BUF + 2),
        r8(va + BUF + 3)
    );
    c.expect("one used buffer with bytes in it", idx == 1 && len > 0 && len <= BUF_LEN);
    let _ = vireo_rt::sys::close(d);
}
