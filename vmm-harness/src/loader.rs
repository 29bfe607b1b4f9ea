//! Putting the guest into RAM: the kernel (linux-loader), the initrd (PVH
//! module 0), the PVH start_info / modlist / memmap / cmdline, where Cloud
//! Hypervisor puts them, and the ACPI tables.

use std::fs::File;

use linux_loader::loader::elf::{Elf, PvhBootCapability};
use linux_loader::loader::KernelLoader;
use pv_abi::pvh::layout::{CMDLINE, HIGH_RAM_START, MEMMAP, MODLIST, START_INFO};
use pv_abi::pvh::{MemmapEntry, ModlistEntry, StartInfo, START_INFO_MAGIC, START_INFO_VERSION_MEMMAP};
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

use crate::acpi;
use crate::error::{Error, Result};
use crate::memory::RamLayout;

use pv_abi::PAGE_SIZE as PAGE;

/// Load the (pre-validated) kernel at its physical addresses; returns the PVH entry.
pub fn load_kernel(mem: &GuestMemoryMmap, file: &mut File) -> Result<u64> {
    let r = Elf::load(mem, None, file, Some(GuestAddress(HIGH_RAM_START))).map_err(Error::Load)?;
    match r.pvh_boot_cap {
        PvhBootCapability::PvhEntryPresent(entry) => Ok(entry.0),
        other => Err(Error::NoPvhAfterLoad(other.to_string())),
    }
}

/// An initrd opened and sized before the VM is built.
pub struct Initrd {
    pub path: String,
    pub file: File,
    pub size: u64,
}

impl Initrd {
    pub fn open(path: &std::path::Path) -> Result<Initrd> {
        let name = path.display().to_string();
        let io = |source| Error::InitrdIo { path: name.clone(), source };
        let file = File::open(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        if !meta.is_file() {
            return Err(io(std::io::Error::other("not a regular file")));
        }
        Ok(Initrd { path: name, file, size: meta.len() })
    }

    /// Where the initrd goes: page-aligned, as high as possible in the RAM
    /// below 3 GiB (like Cloud Hypervisor), above the kernel image and its bss.
    pub fn placement(&self, image_end: u64, layout: &RamLayout) -> Result<u64> {
        initrd_addr(self.size, image_end, layout).ok_or_else(|| Error::InitrdTooBig {
            path: self.path.clone(),
            size: self.size,
            kernel_end: image_end,
            limit: layout.low_end,
        })
    }

    /// Copy the initrd to `addr`; returns its module entry.
    pub fn load(&mut self, mem: &GuestMemoryMmap, addr: u64) -> Result<ModlistEntry> {
        let len = usize::try_from(self.size).map_err(|_| Error::Memory("initrd too large".into()))?;
        if len > 0 {
            mem.read_exact_volatile_from(GuestAddress(addr), &mut self.file, len).map_err(|e| Error::InitrdIo {
                path: self.path.clone(),
                source: std::io::Error::other(e.to_string()),
            })?;
        }
        Ok(ModlistEntry { paddr: addr, size: self.size, cmdline_paddr: 0, reserved: 0 })
    }
}

pub fn initrd_addr(size: u64, image_end: u64, layout: &RamLayout) -> Option<u64> {
    let addr = layout.low_end.checked_sub(size)? & !(PAGE - 1);
    let floor = image_end.max(HIGH_RAM_START).next_multiple_of(PAGE);
    (addr >= floor).then_some(addr)
}

/// The PVH start_info for this boot.
pub fn start_info(memmap_entries: usize, has_module: bool) -> StartInfo {
    StartInfo {
        magic: START_INFO_MAGIC,
        version: START_INFO_VERSION_MEMMAP,
        flags: 0,
        nr_modules: u32::from(has_module),
        modlist_paddr: if has_module { MODLIST } else { 0 },
        cmdline_paddr: CMDLINE,
        rsdp_paddr: acpi::RSDP_ADDR,
        memmap_paddr: MEMMAP,
        memmap_entries: memmap_entries as u32,
        reserved: 0,
    }
}

/// Write start_info, the module list, the memory map, the NUL-terminated
/// command line and the ACPI tables (with an MCFG for `ecam`, if given).
pub fn write_boot_info(
    mem: &GuestMemoryMmap,
    layout: &RamLayout,
    cmdline: &[u8],
    module: Option<&ModlistEntry>,
    cpus: u32,
    ecam: Option<u64>,
) -> Result<()> {
    let memmap = layout.memmap();
    let si = start_info(memmap.len(), module.is_some());
    mem.write_slice(&si.to_bytes(), GuestAddress(START_INFO)).map_err(Error::write("start_info"))?;
    if let Some(m) = module {
        mem.write_slice(&m.to_bytes(), GuestAddress(MODLIST)).map_err(Error::write("the module list"))?;
    }
    let mut mm = Vec::with_capacity(memmap.len() * MemmapEntry::SIZE);
    for e in &memmap {
        mm.extend_from_slice(&e.to_bytes());
    }
    mem.write_slice(&mm, GuestAddress(MEMMAP)).map_err(Error::write("the memory map"))?;
    let mut cl = Vec::with_capacity(cmdline.len() + 1);
    cl.extend_from_slice(cmdline);
    cl.push(0);
    mem.write_slice(&cl, GuestAddress(CMDLINE)).map_err(Error::write("the command line"))?;
    mem.write_slice(&acpi::build_with(cpus, ecam), GuestAddress(acpi::RSDP_ADDR))
        .map_err(Error::write("the ACPI tables"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MIB;
    use pv_abi::pvh::layout::{CMDLINE_MAX, LOW_RAM_END};

    #[test]
    fn initrd_goes_high_and_page_aligned() {
        let l = RamLayout::new(256);
        assert_eq!(initrd_addr(5000, 2 * MIB, &l), Some(256 * MIB - 8192));
        assert_eq!(initrd_addr(0, 2 * MIB, &l), Some(256 * MIB));
        assert_eq!(initrd_addr(254 * MIB, 2 * MIB, &l), Some(2 * MIB));
        assert_eq!(initrd_addr(254 * MIB + 1, 2 * MIB, &l), None);
        assert_eq!(initrd_addr(u64::MAX, 2 * MIB, &l), None);
        // Big guests: still below 3 GiB.
        let big = RamLayout::new(8192);
        assert_eq!(initrd_addr(MIB, 2 * MIB, &big), Some((3 << 30) - MIB));
    }

    #[test]
    fn start_info_points_at_everything() {
        let si = start_info(3, true);
        assert_eq!(si.magic, 0x336E_C578);
        assert_eq!(si.version, 1);
        assert_eq!((si.nr_modules, si.modlist_paddr), (1, 0x6040));
        assert_eq!((si.memmap_paddr, si.memmap_entries), (0x7000, 3));
        assert_eq!(si.cmdline_paddr, 0x20000);
        assert_eq!(si.rsdp_paddr, 0xA0000);
        let si = start_info(3, false);
        assert_eq!((si.nr_modules, si.modlist_paddr), (0, 0));
    }

    #[test]
    fn boot_structures_do_not_overlap() {
        // start_info, modlist, memmap (room for 8 entries), cmdline, ACPI.
        assert!(START_INFO + StartInfo::SIZE as u64 <= MODLIST);
        assert!(MODLIST + ModlistEntry::SIZE as u64 <= MEMMAP);
        assert!(MEMMAP + 8 * MemmapEntry::SIZE as u64 <= CMDLINE);
        // The command line plus its NUL ends before the ACPI area.
        assert!(CMDLINE + (CMDLINE_MAX as u64) < LOW_RAM_END);
        assert_eq!(acpi::RSDP_ADDR, LOW_RAM_END);
    }
}
