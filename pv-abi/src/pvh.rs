//! The PVH boot protocol (Xen `docs/misc/pvh.pandoc`, `arch/x86/include/xen/hvm/start_info.h`)
//! as the guest reads it and a VMM writes it.
//!
//! Layouts are `repr(C)` and pinned by const asserts. Both sides (de)serialise
//! through explicit little-endian byte arrays so that neither needs `unsafe`
//! to move a structure across the guest-physical boundary.

/// ELF note name for PVH.
pub const XEN_ELFNOTE_NAME: &[u8; 4] = b"Xen\0";
/// ELF note type carrying the 32-bit physical entry point.
pub const XEN_ELFNOTE_PHYS32_ENTRY: u32 = 18;

/// `hvm_start_info.magic`.
pub const START_INFO_MAGIC: u32 = 0x336E_C578;
/// The start-info version that carries the memory map.
pub const START_INFO_VERSION_MEMMAP: u32 = 1;

/// Where Cloud Hypervisor, Firecracker and vmm-harness put the boot structures.
pub mod layout {
    pub const START_INFO: u64 = 0x6000;
    pub const MODLIST: u64 = 0x6040;
    pub const MEMMAP: u64 = 0x7000;
    pub const CMDLINE: u64 = 0x2_0000;
    /// Largest command line Cloud Hypervisor accepts (bytes, NUL excluded).
    pub const CMDLINE_MAX: usize = 0x1_0000 - 1;
    /// Low RAM ends here (EBDA/VGA hole above).
    pub const LOW_RAM_END: u64 = 0xA_0000;
    /// Where high RAM starts and the kernel is loaded.
    pub const HIGH_RAM_START: u64 = 0x10_0000;
}

/// `struct hvm_start_info` (version 1).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StartInfo {
    pub magic: u32,
    pub version: u32,
    pub flags: u32,
    pub nr_modules: u32,
    pub modlist_paddr: u64,
    pub cmdline_paddr: u64,
    pub rsdp_paddr: u64,
    pub memmap_paddr: u64,
    pub memmap_entries: u32,
    pub reserved: u32,
}

/// `struct hvm_modlist_entry`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModlistEntry {
    pub paddr: u64,
    pub size: u64,
    pub cmdline_paddr: u64,
    pub reserved: u64,
}

/// `struct hvm_memmap_table_entry`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemmapEntry {
    pub addr: u64,
    pub size: u64,
    pub type_: u32,
    pub reserved: u32,
}

/// E820-style memory types used in the PVH memory map.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemType {
    Ram = 1,
    Reserved = 2,
    AcpiReclaimable = 3,
    AcpiNvs = 4,
    Unusable = 5,
    Disabled = 6,
    Persistent = 7,
}

impl MemType {
    pub const fn from_raw(raw: u32) -> Option<Self> {
        Some(match raw {
            1 => Self::Ram,
            2 => Self::Reserved,
            3 => Self::AcpiReclaimable,
            4 => Self::AcpiNvs,
            5 => Self::Unusable,
            6 => Self::Disabled,
            7 => Self::Persistent,
            _ => return None,
        })
    }

    pub const fn name(self) -> &'static str {
        match self {
            Self::Ram => "ram",
            Self::Reserved => "reserved",
            Self::AcpiReclaimable => "acpi",
            Self::AcpiNvs => "acpi-nvs",
            Self::Unusable => "unusable",
            Self::Disabled => "disabled",
            Self::Persistent => "pmem",
        }
    }
}

const _: () = {
    use core::mem::{offset_of, size_of};
    assert!(size_of::<StartInfo>() == 56);
    assert!(offset_of!(StartInfo, nr_modules) == 12);
    assert!(offset_of!(StartInfo, modlist_paddr) == 16);
    assert!(offset_of!(StartInfo, cmdline_paddr) == 24);
    assert!(offset_of!(StartInfo, rsdp_paddr) == 32);
    assert!(offset_of!(StartInfo, memmap_paddr) == 40);
    assert!(offset_of!(StartInfo, memmap_entries) == 48);
    assert!(size_of::<ModlistEntry>() == 32);
    assert!(offset_of!(ModlistEntry, cmdline_paddr) == 16);
    assert!(size_of::<MemmapEntry>() == 24);
    assert!(offset_of!(MemmapEntry, type_) == 16);
};

/// Fields of a fixed-size array: the offsets are within it by construction,
/// so the reader's `None` (never returned here) reads as 0.
struct Le<'a>(&'a [u8]);

impl Le<'_> {
    fn u32(&self, off: usize) -> u32 {
        crate::le::u32_at(self.0, off).unwrap_or(0)
    }
    fn u64(&self, off: usize) -> u64 {
        crate::le::u64_at(self.0, off).unwrap_or(0)
    }
}

fn put(out: &mut [u8], off: usize, bytes: &[u8]) {
    out[off..off + bytes.len()].copy_from_slice(bytes);
}

impl StartInfo {
    pub const SIZE: usize = 56;

    pub fn from_bytes(b: &[u8; Self::SIZE]) -> Self {
        let r = Le(b);
        Self {
            magic: r.u32(0),
            version: r.u32(4),
            flags: r.u32(8),
            nr_modules: r.u32(12),
            modlist_paddr: r.u64(16),
            cmdline_paddr: r.u64(24),
            rsdp_paddr: r.u64(32),
            memmap_paddr: r.u64(40),
            memmap_entries: r.u32(48),
            reserved: r.u32(52),
        }
    }

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut o = [0u8; Self::SIZE];
        put(&mut o, 0, &self.magic.to_le_bytes());
        put(&mut o, 4, &self.version.to_le_bytes());
        put(&mut o, 8, &self.flags.to_le_bytes());
        put(&mut o, 12, &self.nr_modules.to_le_bytes());
        put(&mut o, 16, &self.modlist_paddr.to_le_bytes());
        put(&mut o, 24, &self.cmdline_paddr.to_le_bytes());
        put(&mut o, 32, &self.rsdp_paddr.to_le_bytes());
        put(&mut o, 40, &self.memmap_paddr.to_le_bytes());
        put(&mut o, 48, &self.memmap_entries.to_le_bytes());
        put(&mut o, 52, &self.reserved.to_le_bytes());
        o
    }
}

impl ModlistEntry {
    pub const SIZE: usize = 32;

    pub fn from_bytes(b: &[u8; Self::SIZE]) -> Self {
        let r = Le(b);
        Self { paddr: r.u64(0), size: r.u64(8), cmdline_paddr: r.u64(16), reserved: r.u64(24) }
    }

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut o = [0u8; Self::SIZE];
        put(&mut o, 0, &self.paddr.to_le_bytes());
        put(&mut o, 8, &self.size.to_le_bytes());
        put(&mut o, 16, &self.cmdline_paddr.to_le_bytes());
        put(&mut o, 24, &self.reserved.to_le_bytes());
        o
    }
}

impl MemmapEntry {
    pub const SIZE: usize = 24;

    pub fn from_bytes(b: &[u8; Self::SIZE]) -> Self {
        let r = Le(b);
        Self { addr: r.u64(0), size: r.u64(8), type_: r.u32(16), reserved: r.u32(20) }
    }

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut o = [0u8; Self::SIZE];
        put(&mut o, 0, &self.addr.to_le_bytes());
        put(&mut o, 8, &self.size.to_le_bytes());
        put(&mut o, 16, &self.type_.to_le_bytes());
        put(&mut o, 20, &self.reserved.to_le_bytes());
        o
    }

    pub fn mem_type(&self) -> Option<MemType> {
        MemType::from_raw(self.type_)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_info_round_trips() {
        let si = StartInfo {
            magic: START_INFO_MAGIC,
            version: 1,
            flags: 0,
            nr_modules: 1,
            modlist_paddr: layout::MODLIST,
            cmdline_paddr: layout::CMDLINE,
            rsdp_paddr: 0xA0000,
            memmap_paddr: layout::MEMMAP,
            memmap_entries: 3,
            reserved: 0,
        };
        let b = si.to_bytes();
        assert_eq!(&b[0..4], &START_INFO_MAGIC.to_le_bytes());
        assert_eq!(StartInfo::from_bytes(&b), si);
    }

    #[test]
    fn memmap_and_modlist_round_trip() {
        let e = MemmapEntry { addr: 0x10_0000, size: 0x1000_0000, type_: 1, reserved: 0 };
        assert_eq!(MemmapEntry::from_bytes(&e.to_bytes()), e);
        assert_eq!(e.mem_type(), Some(MemType::Ram));
        assert_eq!(MemmapEntry { type_: 99, ..e }.mem_type(), None);
        let m = ModlistEntry { paddr: 0x80_0000, size: 4096, cmdline_paddr: 0, reserved: 0 };
        assert_eq!(ModlistEntry::from_bytes(&m.to_bytes()), m);
    }
}
