//! Guest RAM: layout (with a PCI hole at 3..4 GiB for big guests), the PVH
//! memory map, and the host mapping registered with KVM.

use kvm_ioctls::VmFd;
use pv_abi::pvh::layout::{HIGH_RAM_START, LOW_RAM_END};
use pv_abi::pvh::{MemType, MemmapEntry};
use vm_memory::{Address, GuestAddress, GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion};

use crate::error::{Error, Result};

pub const MIB: u64 = 1 << 20;
/// 32-bit device window (Cloud Hypervisor puts its MMIO/ECAM area here).
pub const PCI_HOLE_START: u64 = 3 << 30;
pub const PCI_HOLE_END: u64 = 4 << 30;
/// Host huge-page size; the first one holds all boot structures and the
/// kernel's first pages, so it is left to small pages (see `advise_huge_pages`).
const HUGE_PAGE: u64 = 2 * MIB;

/// Where guest RAM is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RamLayout {
    /// `--mem` in MiB.
    pub mem_mib: u64,
    /// End of the RAM that starts at GPA 0 (at most 3 GiB).
    pub low_end: u64,
    /// End of the RAM above 4 GiB, if `--mem` exceeds 3 GiB.
    pub high_end: Option<u64>,
}

impl RamLayout {
    pub fn new(mem_mib: u64) -> Self {
        let total = mem_mib.saturating_mul(MIB);
        if total <= PCI_HOLE_START {
            RamLayout { mem_mib, low_end: total, high_end: None }
        } else {
            let high = total - PCI_HOLE_START;
            RamLayout { mem_mib, low_end: PCI_HOLE_START, high_end: Some(PCI_HOLE_END + high) }
        }
    }

    /// RAM regions as `(start, length)`.
    pub fn regions(&self) -> Vec<(u64, u64)> {
        let mut v = vec![(0, self.low_end)];
        if let Some(end) = self.high_end {
            v.push((PCI_HOLE_END, end - PCI_HOLE_END));
        }
        v
    }

    /// Is `[start, end)` entirely inside one RAM region?
    pub fn contains(&self, start: u64, end: u64) -> bool {
        start <= end && self.regions().iter().any(|&(s, len)| start >= s && end <= s + len)
    }

    /// The `--mem` (MiB) that would make RAM reach `end` (an address outside the hole).
    pub fn mib_needed_to_reach(end: u64) -> u64 {
        let bytes = if end > PCI_HOLE_END { end - (PCI_HOLE_END - PCI_HOLE_START) } else { end };
        bytes.div_ceil(MIB)
    }

    /// The PVH memory map: low RAM, the reserved legacy/ACPI area, RAM from 1 MiB.
    pub fn memmap(&self) -> Vec<MemmapEntry> {
        let e = |addr: u64, end: u64, t: MemType| MemmapEntry { addr, size: end - addr, type_: t as u32, reserved: 0 };
        let mut v = vec![e(0, LOW_RAM_END, MemType::Ram), e(LOW_RAM_END, HIGH_RAM_START, MemType::Reserved)];
        if self.low_end > HIGH_RAM_START {
            v.push(e(HIGH_RAM_START, self.low_end, MemType::Ram));
        }
        if let Some(end) = self.high_end {
            v.push(e(PCI_HOLE_END, end, MemType::Ram));
        }
        v
    }
}

/// Map guest RAM (lazily populated, so nothing is zeroed here) and ask for
/// transparent huge pages.
pub fn map(layout: &RamLayout) -> Result<GuestMemoryMmap> {
    let mut ranges = Vec::new();
    for (start, len) in layout.regions() {
        let len = usize::try_from(len).map_err(|_| Error::Memory("size overflows".into()))?;
        ranges.push((GuestAddress(start), len));
    }
    let mem: GuestMemoryMmap = GuestMemoryMmap::from_ranges(&ranges)
        .map_err(|e| Error::Memory(format!("cannot map {} MiB: {e}", layout.mem_mib)))?;
    for region in mem.iter() {
        let host = host_address(&mem, region.start_addr())?;
        advise_huge_pages(host, region.start_addr().raw_value(), region.len());
    }
    Ok(mem)
}

/// Register every RAM region with KVM, one memory slot each. This waits for an
/// SRCU grace period in the kernel (0.15-3 ms here), so `vm` runs it on a
/// helper thread while it loads the guest.
pub fn register(vm: &VmFd, mem: &GuestMemoryMmap) -> Result<()> {
    for (slot, region) in mem.iter().enumerate() {
        let r = kvm_bindings::kvm_userspace_memory_region {
            slot: slot as u32,
            flags: 0,
            guest_phys_addr: region.start_addr().raw_value(),
            memory_size: region.len(),
            userspace_addr: host_address(mem, region.start_addr())? as u64,
        };
        // SAFETY: the range is a live mapping owned by `mem`, which stays alive
        // for as long as the VM runs (until the process exits).
        unsafe { vm.set_user_memory_region(r) }.map_err(Error::kvm("KVM_SET_USER_MEMORY_REGION"))?;
    }
    Ok(())
}

fn host_address(mem: &GuestMemoryMmap, addr: GuestAddress) -> Result<*mut u8> {
    mem.get_host_address(addr).map_err(|e| Error::Memory(e.to_string()))
}

/// madvise(MADV_HUGEPAGE) on a region (guest first touch is ~10x cheaper with
/// THP here), except its part below 2 MiB: the harness itself writes a handful
/// of boot pages there, and faulting one zeroed 2 MiB page costs more than that.
fn advise_huge_pages(host: *mut u8, gpa: u64, len: u64) {
    let skip = if gpa < HUGE_PAGE { (HUGE_PAGE - gpa).min(len) } else { 0 };
    if len <= skip {
        return;
    }
    // mmap returns page-aligned memory and `skip` is 0 or a page multiple, so
    // the range stays page-aligned; `skip < len`, and both fit in usize because
    // the region was mapped.
    let start = host.wrapping_add(skip as usize);
    let len = (len - skip) as usize;
    // SAFETY: madvise only changes paging hints for this range, which lies inside
    // the mapping owned by `GuestMemoryMmap`; failure is harmless and ignored.
    unsafe { libc::madvise(start.cast(), len, libc::MADV_HUGEPAGE) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_guest_layout_and_memmap() {
        let l = RamLayout::new(256);
        assert_eq!(l.regions(), vec![(0, 256 * MIB)]);
        let m = l.memmap();
        assert_eq!(m.len(), 3);
        assert_eq!((m[0].addr, m[0].size, m[0].type_), (0, 0xA0000, 1));
        assert_eq!((m[1].addr, m[1].size, m[1].type_), (0xA0000, 0x60000, 2));
        assert_eq!((m[2].addr, m[2].size, m[2].type_), (MIB, 255 * MIB, 1));
        assert!(l.contains(MIB, 256 * MIB));
        assert!(!l.contains(MIB, 256 * MIB + 1));
    }

    #[test]
    fn big_guest_splits_around_pci_hole() {
        let l = RamLayout::new(5 * 1024);
        assert_eq!(l.regions(), vec![(0, 3 << 30), (4 << 30, 2 << 30)]);
        let m = l.memmap();
        assert_eq!(m.len(), 4);
        assert_eq!((m[2].addr, m[2].addr + m[2].size), (MIB, 3 << 30));
        assert_eq!((m[3].addr, m[3].addr + m[3].size, m[3].type_), (4 << 30, 6 << 30, 1));
        assert!(!l.contains((3 << 30) - 4096, (3 << 30) + 4096));
        assert!(l.contains(4 << 30, 6 << 30));
        assert_eq!(RamLayout::mib_needed_to_reach((4 << 30) + MIB), 3 * 1024 + 1);
    }

    #[test]
    fn exactly_three_gib_has_no_high_part() {
        let l = RamLayout::new(3 * 1024);
        assert_eq!(l.high_end, None);
        assert_eq!(l.memmap().len(), 3);
    }

    #[test]
    fn tiny_guest_has_no_high_ram_entry() {
        let l = RamLayout::new(1);
        assert_eq!(l.memmap().len(), 2);
        assert_eq!(RamLayout::mib_needed_to_reach(MIB + 1), 2);
    }
}
