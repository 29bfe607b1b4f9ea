//! A virtio-mmio (version 2) entropy device: one request, one interrupt.
use crate::ring::*;
use crate::Checker;
use vireo_rt::device::{self as dev, DeviceInfo};
use vireo_rt::println;

use vireo_virtio::mmio::reg::*;

/// The first virtio-mmio device, opened and driven to DRIVER_OK with a DMA
/// page, then the process dies with it (a `dying-driver` child).
pub fn start_and_die(right: u64) -> i32 {
    let Some(index) = (0..32).find(|&i| dev::info(right, i).is_ok_and(|(d, _)| d.kind == dev::KIND_VIRTIO_MMIO)) else {
        return 2;
    };
    let (Ok(d), Ok((info, _))) = (dev::open(right, index), dev::info(right, index)) else { return 3 };
    let (Ok(regs), Ok(_)) = (dev::map(d, 0, 0, info.bars[0].size), dev::dma_alloc(d, 64 << 10)) else { return 4 };
    w32(regs + STATUS, 1 | 2 | 4);
    // A fault kills the process with the device still open and running.
    // SAFETY: deliberately faults; nothing after it runs.
    unsafe { (8 as *const u8).read_volatile() };
    5
}

/// A driver that died left the device free and reset (status 0).
fn dying_driver_is_cleaned_up(c: &mut Checker, right: u64, index: u64, info: &DeviceInfo) {
    let Ok(p) = vireo_rt::sys::spawn_with_handles("/test/devices", &["dying-driver"], &[right]) else {
        return c.expect("spawn the dying driver", false);
    };
    let status = vireo_rt::sys::wait(p, vireo_rt::sys::FOREVER);
    c.expect("the dying driver was killed by its fault", status.is_ok_and(vireo_rt::sys::status::is_killed));
    let Ok(d) = dev::open(right, index) else { return c.expect("device is free again after its driver died", false) };
    let Ok(regs) = dev::map(d, 0, 0, info.bars[0].size) else { return c.expect("map its registers", false) };
    c.expect("device was reset when its driver died", r32(regs + STATUS) == 0);
    let _ = vireo_rt::sys::close(d);
}

pub fn run(c: &mut Checker, right: u64, index: u64, info: &DeviceInfo) {
    dying_driver_is_cleaned_up(c, right, index, info);
    let Ok(d) = dev::open(right, index) else { return c.expect("open the virtio-mmio device", false) };
    let Ok(regs) = dev::map(d, 0, 0, info.bars[0].size) else { return c.expect("map its registers", false) };
    let (magic, version, id) = (r32(regs + MAGIC), r32(regs + VERSION), r32(regs + DEVICE_ID));
    println!("test-devices: virtio-mmio magic {magic:#x} version {version} device id {id}");
    c.expect("magic is \"virt\"", magic == 0x7472_6976);
    c.expect("device id 4 (entropy)", id == 4);
    c.expect("version 2 (modern)", version == 2);
    let Ok((va, pa)) = dev::dma_alloc(d, 4096) else { return c.expect("DMA memory", false) };
    c.expect("DMA memory is zeroed", (0..4096).step_by(4).all(|o| r32(va + o) == 0));
    c.expect("DMA physical address is page-aligned and nonzero", pa != 0 && pa % 4096 == 0);
    let Ok(irq) = dev::irq_line(d) else { return c.expect("interrupt line", false) };
    c.check("a second line handle", dev::irq_line(d), vireo_rt::Error::Busy);

    w32(regs + STATUS, 0);
    w32(regs + STATUS, 1 | 2); // ACKNOWLEDGE | DRIVER
    w32(regs + DEVICE_FEATURES_SEL, 1);
    let high = r32(regs + DEVICE_FEATURES);
    c.expect("device offers VIRTIO_F_VERSION_1", high & 1 != 0);
    w32(regs + DRIVER_FEATURES_SEL, 1);
    w32(regs + DRIVER_FEATURES, 1);
    w32(regs + DRIVER_FEATURES_SEL, 0);
    w32(regs + DRIVER_FEATURES, 0);
    w32(regs + STATUS, 1 | 2 | 8); // FEATURES_OK
    c.expect("FEATURES_OK accepted", r32(regs + STATUS) & 8 != 0);
    w32(regs + QUEUE_SEL, 0);
    c.expect("queue 0 holds 8 entries", r32(regs + QUEUE_NUM_MAX) >= u32::from(QSIZE));
    w32(regs + QUEUE_NUM, u32::from(QSIZE));
    w64(regs + QUEUE_DESC, pa);
    w64(regs + QUEUE_DRIVER, pa + AVAIL);
    w64(regs + QUEUE_DEVICE, pa + USED);
    w32(regs + QUEUE_READY, 1);
    w32(regs + STATUS, 1 | 2 | 8 | 4); // DRIVER_OK

    // Nothing asked yet: the interrupt handle times out.
    c.check("WaitMany on an idle interrupt", dev::wait_many(&[irq], 10_000_000), vireo_rt::Error::TimedOut);
    offer_buffer(va, pa);
    w32(regs + QUEUE_NOTIFY, 0);
    let got = dev::wait_many(&[irq], 5_000_000_000);
    c.expect("WaitMany reports the interrupt", got == Ok(1));
    let isr = r32(regs + INTERRUPT_STATUS);
    w32(regs + INTERRUPT_ACK, isr);
    c.expect("device says a used buffer is why", isr & 1 != 0);
    c.expect("IrqAck", dev::irq_ack(irq).is_ok());
    let (idx, len) = used(va);
    println!(
        "test-devices: virtio-mmio interrupt: used idx {idx}, {len} random bytes: {:02x} {:02x} {:02x} {:02x}",
        r8(va + BUF),
        r8(va + BUF + 1),
        r8(va + BUF + 2),
        r8(va + BUF + 3)
    );
    c.expect("one used buffer with bytes in it", idx == 1 && len > 0 && len <= BUF_LEN);
    c.check("acked interrupt is no longer pending", dev::wait_many(&[irq], 0), vireo_rt::Error::TimedOut);
    // Closing the device handle resets it (status 0) before its DMA page is freed.
    let _ = vireo_rt::sys::close(d);
    c.expect("closing the device reset it", r32(regs + STATUS) == 0);
    let _ = w8;
}
