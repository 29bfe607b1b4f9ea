//! virtio-mmio transports: found from the command line and the DSDT
//! (parsed by `vireo_parse::virtio_mmio`), confirmed by their magic value,
//! and reset by writing 0 to their status register.
use super::{Access, Device};
use crate::arch::x86_64::mmio::Mmio;
use alloc::vec::Vec;
use core::fmt::Display;
use core::sync::atomic::AtomicU32;
use pv_abi::syscall::device::{BarInfo, DeviceInfo, BAR_MMIO, KIND_VIRTIO_MMIO};
use vireo_parse::le;
use vireo_parse::virtio_mmio::{cmdline, dsdt, AddError, Transport, Transports};

const MAGIC: u32 = 0x7472_6976; // "virt"
const REG_MAGIC: u64 = 0x000;
const REG_DEVICE_ID: u64 = 0x008;
const REG_VENDOR_ID: u64 = 0x00c;
const REG_STATUS: u64 = 0x070;

fn read32(regs: Mmio, off: u64) -> u32 {
    regs.read32(off)
}

/// Writing 0 to Status resets the device.
pub fn reset(regs: Mmio) {
    regs.write32(REG_STATUS, 0)
}

/// Probes the command line's transports, then the DSDT's (QEMU may list
/// a transport in both: the second listing is dropped quietly). A malformed
/// or conflicting entry is reported and skipped.
pub fn discover(acpi: Option<&crate::acpi::AcpiInfo>, cmdline_bytes: &[u8], out: &mut Vec<Device>) {
    let mut transports = Transports::new();
    for entry in cmdline::devices(cmdline_bytes) {
        keep(&mut transports, entry, "command line");
    }
    if let Some(table) = acpi.and_then(|a| a.tables.dsdt).and_then(dsdt_bytes) {
        for entry in dsdt::devices(table) {
            keep(&mut transports, entry, "DSDT");
        }
    }
    for &t in transports.as_slice() {
        if let Some(d) = probe(t) {
            out.push(d);
        }
    }
}

fn keep<E: Display>(transports: &mut Transports, entry: Result<Transport, E>, from: &str) {
    match entry {
        Ok(t) => match transports.add(t) {
            Ok(()) | Err(AddError::Duplicate) => {}
            Err(e) => kprintln!("virtio-mmio: {from}: {:#x}+{:#x} skipped: {e}", t.base, t.size),
        },
        Err(e) => kprintln!("virtio-mmio: {from}: entry skipped: {e}"),
    }
}

fn dsdt_bytes(paddr: u64) -> Option<&'static [u8]> {
    let head = crate::mm::phys::bytes(paddr, 8).ok()?;
    let len = usize::try_from(le::u32_at(head, 4)?).ok()?;
    if !(36..=(1 << 20)).contains(&len) {
        return None;
    }
    crate::mm::phys::bytes(paddr, len).ok().and_then(|b| b.get(36..))
}

/// Maps the window and keeps it if a device sits behind it (QEMU lists
/// empty transports too: device ID 0).
fn probe(t: Transport) -> Option<Device> {
    if t.size < 0x100 || t.size > (1 << 20) || !t.base.is_multiple_of(4096) && !t.base.is_multiple_of(0x200) {
        return None;
    }
    let va = crate::mm::paging::map_mmio(t.base, t.size).ok()?;
    // SAFETY: `map_mmio` mapped the transport's window uncached; it stays
    // mapped for the device's (the kernel's) lifetime unless dropped here.
    let regs = unsafe { Mmio::new(va, t.size) };
    if read32(regs, REG_MAGIC) != MAGIC || read32(regs, REG_DEVICE_ID) == 0 {
        let _ = crate::mm::paging::unmap_mmio(va, t.size);
        return None;
    }
    let mut info = DeviceInfo {
        kind: KIND_VIRTIO_MMIO,
        vendor: read32(regs, REG_VENDOR_ID) as u16,
        device: read32(regs, REG_DEVICE_ID) as u16,
        gsi: t.irq,
        ..DeviceInfo::default()
    };
    info.bars[0] = BarInfo { base: t.base, size: t.size, flags: BAR_MMIO, _pad: 0 };
    Some(Device { info, access: Access::VirtioMmio { regs }, opened: AtomicU32::new(0) })
}
