//! Validation of PVH `hvm_start_info` (v1) into a [`BootInfo`] the rest of
//! the kernel can trust. Anything malformed is a typed error: the kernel
//! reports it and powers off instead of faulting on a wild pointer.
use crate::mm::phys::{self, NotMapped};
use core::fmt;
use pv_abi::pvh::{
    MemType, MemmapEntry, ModlistEntry, StartInfo, START_INFO_MAGIC, START_INFO_VERSION_MEMMAP,
};

/// Memory-map entries we keep; VMMs hand over a handful.
pub const MAX_MEMMAP: usize = 64;
/// Boot modules we keep (the initrd is module 0).
pub const MAX_MODULES: usize = 8;
/// Longest command line accepted (Cloud Hypervisor's limit).
pub const MAX_CMDLINE: usize = pv_abi::pvh::layout::CMDLINE_MAX;

#[derive(Clone, Copy, Debug)]
pub enum BootInfoError {
    NotMapped(NotMapped),
    BadMagic(u32),
    UnsupportedVersion(u32),
    NoMemoryMap,
    TooManyMemmapEntries(u32),
    TooManyModules(u32),
    CmdlineUnterminated,
}

impl From<NotMapped> for BootInfoError {
    fn from(e: NotMapped) -> Self {
        Self::NotMapped(e)
    }
}

impl fmt::Display for BootInfoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotMapped(e) => {
                write!(f, "structure at {:#x} (+{:#x}) is outside mapped memory", e.paddr, e.len)
            }
            Self::BadMagic(m) => {
                write!(f, "bad start_info magic {m:#x} (want {START_INFO_MAGIC:#x}): not a PVH boot")
            }
            Self::UnsupportedVersion(v) => write!(f, "start_info version {v} has no memory map"),
            Self::NoMemoryMap => write!(f, "start_info carries no memory map"),
            Self::TooManyMemmapEntries(n) => {
                write!(f, "{n} memory-map entries (at most {MAX_MEMMAP} supported)")
            }
            Self::TooManyModules(n) => write!(f, "{n} boot modules (at most {MAX_MODULES} supported)"),
            Self::CmdlineUnterminated => {
                write!(f, "command line not NUL-terminated within {MAX_CMDLINE} bytes")
            }
        }
    }
}

/// A boot module (the initrd) as physical range.
#[derive(Clone, Copy, Debug, Default)]
pub struct Module {
    pub paddr: u64,
    pub size: u64,
}

/// The validated boot information.
pub struct BootInfo {
    pub start_info_paddr: u64,
    memmap: [MemmapEntry; MAX_MEMMAP],
    memmap_len: usize,
    modules: [Module; MAX_MODULES],
    modules_len: usize,
    /// Physical address of the command line (0 if none).
    pub cmdline_paddr: u64,
    /// The command line bytes, without the NUL.
    pub cmdline: &'static [u8],
    /// Physical address of the ACPI RSDP, if the VMM supplied one.
    pub rsdp_paddr: Option<u64>,
}

impl BootInfo {
    pub fn parse(start_info_paddr: u64) -> Result<Self, BootInfoError> {
        let si = StartInfo::from_bytes(&phys::read_array(start_info_paddr)?);
        if si.magic != START_INFO_MAGIC {
            return Err(BootInfoError::BadMagic(si.magic));
        }
        if si.version < START_INFO_VERSION_MEMMAP {
            return Err(BootInfoError::UnsupportedVersion(si.version));
        }
        if si.memmap_paddr == 0 || si.memmap_entries == 0 {
            return Err(BootInfoError::NoMemoryMap);
        }
        let n = si.memmap_entries as usize;
        if n > MAX_MEMMAP {
            return Err(BootInfoError::TooManyMemmapEntries(si.memmap_entries));
        }
        // Empty entries carry no information (qboot emits one); drop them so
        // nothing downstream sees a zero-sized range.
        let mut memmap = [MemmapEntry::default(); MAX_MEMMAP];
        let mut kept = 0;
        for i in 0..n {
            let pa = si.memmap_paddr + (i * MemmapEntry::SIZE) as u64;
            let e = MemmapEntry::from_bytes(&phys::read_array(pa)?);
            if e.size != 0 {
                memmap[kept] = e;
                kept += 1;
            }
        }

        let m = si.nr_modules as usize;
        if m > MAX_MODULES {
            return Err(BootInfoError::TooManyModules(si.nr_modules));
        }
        let mut modules = [Module::default(); MAX_MODULES];
        for (i, slot) in modules.iter_mut().take(m).enumerate() {
            let pa = si.modlist_paddr + (i * ModlistEntry::SIZE) as u64;
            let e = ModlistEntry::from_bytes(&phys::read_array(pa)?);
            phys::bytes(e.paddr, e.size as usize)?;
            *slot = Module { paddr: e.paddr, size: e.size };
        }

        let cmdline = if si.cmdline_paddr == 0 { &[][..] } else { read_cstr(si.cmdline_paddr)? };
        Ok(Self {
            start_info_paddr,
            memmap,
            memmap_len: kept,
            modules,
            modules_len: m,
            cmdline_paddr: si.cmdline_paddr,
            cmdline,
            rsdp_paddr: (si.rsdp_paddr != 0).then_some(si.rsdp_paddr),
        })
    }

    pub fn memmap(&self) -> &[MemmapEntry] {
        &self.memmap[..self.memmap_len]
    }

    pub fn modules(&self) -> &[Module] {
        &self.modules[..self.modules_len]
    }

    /// Usable RAM: total bytes and number of ranges.
    pub fn usable_ram(&self) -> (u64, usize) {
        self.memmap()
            .iter()
            .filter(|e| e.mem_type() == Some(MemType::Ram))
            .fold((0, 0), |(bytes, n), e| (bytes + e.size, n + 1))
    }
}

/// Reads a NUL-terminated string, reading the mapped window at most once.
fn read_cstr(paddr: u64) -> Result<&'static [u8], BootInfoError> {
    // The string may end close to the top of mapped memory: look only at
    // what is mapped, up to the limit.
    let mut window = MAX_CMDLINE + 1;
    let bytes = loop {
        match phys::bytes(paddr, window) {
            Ok(b) => break b,
            Err(_) if window > 1 => window /= 2,
            Err(e) => return Err(e.into()),
        }
    };
    bytes
        .iter()
        .position(|&b| b == 0)
        .map(|len| &bytes[..len])
        .ok_or(BootInfoError::CmdlineUnterminated)
}
