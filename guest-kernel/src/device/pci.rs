//! PCI functions through ECAM (the ACPI MCFG window): each bus scanned gets
//! its 1 MiB of configuration space mapped uncached once, kept for config
//! access and resets. BARs are sized the standard way (write all ones with
//! decoding off, read back, restore).
use super::{Access, Device};
use crate::acpi::McfgEntry;
use crate::arch::x86_64::mmio::Mmio;
use alloc::vec::Vec;
use core::sync::atomic::AtomicU32;
use pv_abi::syscall::device::{BarInfo, DeviceInfo, BAR_64, BAR_IO, BAR_MMIO, BAR_PREFETCH, KIND_PCI};

const BUS_BYTES: u64 = 1 << 20;
const CMD: u64 = 0x04;
pub const CMD_IO: u16 = 1 << 0;
pub const CMD_MEMORY: u16 = 1 << 1;
pub const CMD_BUS_MASTER: u16 = 1 << 2;
pub const CMD_INTX_DISABLE: u16 = 1 << 10;
const CAP_MSIX: u8 = 0x11;
/// Buses scanned at most (bridges add theirs).
const MAX_BUSES: usize = 32;

pub fn read32(config: Mmio, off: u64) -> u32 {
    config.read32(off & 0xffc)
}

pub fn write32(config: Mmio, off: u64, v: u32) {
    config.write32(off & 0xffc, v)
}

pub fn read16(config: Mmio, off: u64) -> u16 {
    (read32(config, off) >> ((off & 2) * 8)) as u16
}

pub fn write16(config: Mmio, off: u64, v: u16) {
    let shift = (off & 2) * 8;
    let old = read32(config, off) & !(0xffff << shift);
    write32(config, off, old | (u32::from(v) << shift));
}

/// Turns bus mastering off: no more DMA or MSI from this function.
pub fn quiesce(config: Mmio) {
    let cmd = read16(config, CMD);
    write16(config, CMD, cmd & !CMD_BUS_MASTER);
}

pub fn enumerate(m: &McfgEntry, out: &mut Vec<Device>) {
    let mut buses = alloc::vec![m.bus_start];
    let mut i = 0;
    while i < buses.len() && i < MAX_BUSES {
        let bus = buses[i];
        i += 1;
        if bus < m.bus_start || bus > m.bus_end {
            continue;
        }
        let pa = m.base + u64::from(bus - m.bus_start) * BUS_BYTES;
        let Ok(va) = crate::mm::paging::map_mmio(pa, BUS_BYTES) else { continue };
        // SAFETY: `map_mmio` mapped the bus's configuration space uncached,
        // and ECAM windows are never unmapped.
        let bus_window = unsafe { Mmio::new(va, BUS_BYTES) };
        for slot in 0..32u8 {
            for func in 0..8u8 {
                let Some(config) = bus_window.slice((u64::from(slot) << 15) + (u64::from(func) << 12), 4096) else {
                    continue;
                };
                let id = read32(config, 0);
                if id & 0xffff == 0xffff {
                    if func == 0 {
                        break;
                    }
                    continue;
                }
                let header = (read32(config, 0x0c) >> 16) as u8;
                if header & 0x7f == 1 {
                    let secondary = (read32(config, 0x18) >> 8) as u8;
                    if secondary > bus && !buses.contains(&secondary) {
                        buses.push(secondary);
                    }
                } else if header & 0x7f == 0 {
                    out.push(describe(m, bus, slot, func, config));
                }
                if func == 0 && header & 0x80 == 0 {
                    break;
                }
            }
        }
    }
}

fn describe(m: &McfgEntry, bus: u8, slot: u8, func: u8, config: Mmio) -> Device {
    let id = read32(config, 0);
    let mut info = DeviceInfo {
        kind: KIND_PCI,
        vendor: id as u16,
        device: (id >> 16) as u16,
        class: read32(config, 0x08) >> 8,
        gsi: pv_abi::syscall::device::NO_GSI,
        segment: m.segment,
        bus,
        slot,
        function: func,
        irq_pin: (read32(config, 0x3c) >> 8) as u8,
        ..DeviceInfo::default()
    };
    size_bars(config, &mut info.bars);
    if let Some(cap) = find_cap(config, CAP_MSIX) {
        info.msix_cap = cap as u16;
        info.msix_entries = (read16(config, cap + 2) & 0x7ff) + 1;
    }
    Device { info, access: Access::Pci { config }, opened: AtomicU32::new(0) }
}

/// The config offset of capability `id`, walking at most 48 entries.
pub fn find_cap(config: Mmio, id: u8) -> Option<u64> {
    if read16(config, 0x06) & (1 << 4) == 0 {
        return None;
    }
    let mut at = u64::from(read32(config, 0x34) as u8 & 0xfc);
    for _ in 0..48 {
        if at < 0x40 {
            return None;
        }
        let head = read32(config, at);
        if head as u8 == id {
            return Some(at);
        }
        at = u64::from((head >> 8) as u8 & 0xfc);
    }
    None
}

fn size_bars(config: Mmio, bars: &mut [BarInfo; 6]) {
    let cmd = read16(config, CMD);
    write16(config, CMD, cmd & !(CMD_IO | CMD_MEMORY));
    let mut i = 0;
    while i < 6 {
        let off = 0x10 + 4 * i as u64;
        let orig = read32(config, off);
        write32(config, off, u32::MAX);
        let probe = read32(config, off);
        write32(config, off, orig);
        if orig & 1 == 1 {
            let size = (!(probe & !3)).wrapping_add(1) & 0xffff;
            if probe != 0 {
                bars[i] = BarInfo { base: u64::from(orig & !3), size: u64::from(size), flags: BAR_IO, _pad: 0 };
            }
            i += 1;
            continue;
        }
        let is64 = (orig >> 1) & 3 == 2;
        let mut base = u64::from(orig & !0xf);
        let mut mask = u64::from(probe & !0xf);
        if is64 && i < 5 {
            let hi_off = off + 4;
            let orig_hi = read32(config, hi_off);
            write32(config, hi_off, u32::MAX);
            let probe_hi = read32(config, hi_off);
            write32(config, hi_off, orig_hi);
            base |= u64::from(orig_hi) << 32;
            mask |= u64::from(probe_hi) << 32;
        } else {
            mask |= 0xffff_ffff_0000_0000;
        }
        let size = (!mask).wrapping_add(1);
        if probe != 0 && size != 0 && base != 0 {
            let mut flags = BAR_MMIO;
            if is64 {
                flags |= BAR_64;
            }
            if orig & 8 != 0 {
                flags |= BAR_PREFETCH;
            }
            bars[i] = BarInfo { base, size, flags, _pad: 0 };
        }
        i += if is64 { 2 } else { 1 };
    }
    write16(config, CMD, cmd);
}
