//! Turning the PVH memory map into free ranges for the frame allocator:
//! RAM entries minus everything the kernel must keep (its image, the boot
//! handover structures, modules, non-RAM entries), in O(entries²) with
//! entries ≤ a few dozen, never O(pages).
use super::error::MmError;
use super::frame;
use super::phys;
use crate::arch::x86_64::layout::{align_down, align_up, DIRECT_MAP_MAX, HUGE_PAGE_SIZE, PAGE_SIZE};
use crate::boot::start_info::{BootInfo, MAX_MEMMAP, MAX_MODULES};
use pv_abi::pvh::{MemType, MemmapEntry, ModlistEntry, StartInfo};

/// Where the general allocator starts: everything below is the low pool.
pub const LOW_END: u64 = frame::LOW_LIMIT;

/// Reserved ranges: non-RAM map entries plus the kernel image, start_info,
/// memmap, modlist, cmdline, RSDP, and per module its data and cmdline.
const MAX_RESERVED: usize = MAX_MEMMAP + 6 + 2 * MAX_MODULES;

// Every reserved range splits at most one free range in two.
const _: () = assert!(frame::MAX_RANGES >= MAX_MEMMAP + MAX_RESERVED);

/// Bytes of a module's command line we keep without measuring it.
const MODULE_CMDLINE_KEEP: u64 = PAGE_SIZE;

extern "C" {
    static __kernel_phys_start: u8;
    static __kernel_phys_end: u8;
}

/// Physical extent of the kernel image (from linker.ld).
pub fn kernel_image() -> (u64, u64) {
    (core::ptr::addr_of!(__kernel_phys_start) as u64, core::ptr::addr_of!(__kernel_phys_end) as u64)
}

/// What carving found.
pub struct Carved {
    /// Bytes of RAM in the memory map.
    pub ram_bytes: u64,
    /// Size of the direct map: `max(4 GiB, top of memory)`, in whole GiB.
    pub direct_map_bytes: u64,
}

struct List<const N: usize> {
    items: [(u64, u64); N],
    len: usize,
}

impl<const N: usize> List<N> {
    const fn new() -> Self {
        Self { items: [(0, 0); N], len: 0 }
    }

    fn push(&mut self, start: u64, len: u64) -> Result<(), MmError> {
        if len == 0 {
            return Ok(());
        }
        let end = start.checked_add(len).ok_or(MmError::BadBootRange { start, len })?;
        if self.len == N {
            return Err(MmError::TooManyRanges);
        }
        self.items[self.len] = (start, end);
        self.len += 1;
        Ok(())
    }

    /// Insertion sort by start: lists are tiny and nearly sorted.
    fn sort(&mut self) {
        let items = &mut self.items[..self.len];
        for i in 1..items.len() {
            let mut j = i;
            while j > 0 && items[j - 1].0 > items[j].0 {
                items.swap(j - 1, j);
                j -= 1;
            }
        }
    }

    fn as_slice(&self) -> &[(u64, u64)] {
        &self.items[..self.len]
    }
}

fn is_memory(t: Option<MemType>) -> bool {
    matches!(t, Some(MemType::Ram | MemType::AcpiReclaimable | MemType::AcpiNvs | MemType::Persistent))
}

/// Calls `emit` for each page-aligned piece of `[start, end)` not covered by
/// `reserved` (sorted by start).
fn carve(
    start: u64,
    end: u64,
    reserved: &[(u64, u64)],
    emit: &mut impl FnMut(u64, u64) -> Result<(), MmError>,
) -> Result<(), MmError> {
    let mut cur = align_up(start, PAGE_SIZE);
    let end = align_down(end, PAGE_SIZE);
    for &(rs, re) in reserved {
        if cur >= end || rs >= end {
            break;
        }
        if re <= cur {
            continue;
        }
        let piece_end = align_down(rs, PAGE_SIZE);
        if piece_end > cur {
            emit(cur, piece_end)?;
        }
        cur = cur.max(align_up(re, PAGE_SIZE));
    }
    if cur < end {
        emit(cur, end)?;
    }
    Ok(())
}

/// Feeds the frame allocator and the low pool from the memory map.
pub fn carve_memory(info: &BootInfo) -> Result<Carved, MmError> {
    // BootInfo keeps the map and modules, not where they were: read the
    // addresses from start_info again (it is reserved, so still intact).
    let si = StartInfo::from_bytes(&phys::read_array(info.start_info_paddr)?);

    let mut reserved = List::<MAX_RESERVED>::new();
    let (k_start, k_end) = kernel_image();
    reserved.push(k_start, k_end - k_start)?;
    reserved.push(info.start_info_paddr, StartInfo::SIZE as u64)?;
    reserved.push(si.memmap_paddr, u64::from(si.memmap_entries) * MemmapEntry::SIZE as u64)?;
    if si.nr_modules != 0 {
        reserved.push(si.modlist_paddr, u64::from(si.nr_modules) * ModlistEntry::SIZE as u64)?;
    }
    if info.cmdline_paddr != 0 {
        reserved.push(info.cmdline_paddr, info.cmdline.len() as u64 + 1)?;
    }
    if let Some(rsdp) = info.rsdp_paddr {
        reserved.push(rsdp, 36)?;
    }
    for (i, m) in info.modules().iter().enumerate() {
        reserved.push(m.paddr, m.size)?;
        let pa = si.modlist_paddr + (i * ModlistEntry::SIZE) as u64;
        let e = ModlistEntry::from_bytes(&phys::read_array(pa)?);
        if e.cmdline_paddr != 0 {
            reserved.push(e.cmdline_paddr, MODULE_CMDLINE_KEEP)?;
        }
    }

    let mut ram = List::<MAX_MEMMAP>::new();
    let mut top = 0u64;
    for e in info.memmap() {
        let t = e.mem_type();
        let end = e.addr.saturating_add(e.size);
        if is_memory(t) {
            top = top.max(end);
        }
        if t == Some(MemType::Ram) {
            ram.push(e.addr, e.size)?;
        } else {
            reserved.push(e.addr, e.size)?;
        }
    }
    reserved.sort();
    ram.sort();

    let direct_map_bytes = align_up(top.min(DIRECT_MAP_MAX), HUGE_PAGE_SIZE).max(4 << 30);
    let mut carved = Carved { ram_bytes: 0, direct_map_bytes };
    let mut prev_end = 0u64;
    let mut emit_high = |s: u64, e: u64| {
        if frame::add_range(s, e) {
            Ok(())
        } else {
            Err(MmError::TooManyRanges)
        }
    };
    let mut emit_low = |s: u64, e: u64| {
        frame::low::add_low_range(s, e);
        Ok(())
    };
    for &(start, end) in ram.as_slice() {
        carved.ram_bytes += end - start;
        // Overlapping RAM entries must not yield a frame twice.
        let start = start.max(prev_end);
        if start >= end {
            continue;
        }
        prev_end = end;
        // RAM beyond what the direct map can cover (64 TiB) is ignored.
        let usable_end = end.min(direct_map_bytes);
        if start < LOW_END {
            carve(start, usable_end.min(LOW_END), reserved.as_slice(), &mut emit_low)?;
        }
        if usable_end > LOW_END {
            carve(start.max(LOW_END), usable_end, reserved.as_slice(), &mut emit_high)?;
        }
    }
    Ok(carved)
}
