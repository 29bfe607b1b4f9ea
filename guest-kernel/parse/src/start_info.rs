//! Validation of PVH `hvm_start_info` (v1) into a [`BootInfo`] the rest of
//! the kernel can trust. Anything malformed is a typed error: the kernel
//! reports it and powers off instead of faulting on a wild pointer.
use crate::PhysMem;
use core::fmt;
use pv_abi::pvh::{MemType, MemmapEntry, ModlistEntry, StartInfo, START_INFO_MAGIC, START_INFO_VERSION_MEMMAP};

/// Memory-map entries we keep; VMMs hand over a handful.
pub const MAX_MEMMAP: usize = 64;
/// Boot modules we keep (the initrd is module 0).
pub const MAX_MODULES: usize = 8;
/// Longest command line accepted (Cloud Hypervisor's limit).
pub const MAX_CMDLINE: usize = pv_abi::pvh::layout::CMDLINE_MAX;

/// A structure (or part of one) outside readable memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotMapped {
    pub paddr: u64,
    pub len: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// `len` bytes at `paddr`, each of which must be readable.
fn bytes<'a>(mem: &impl PhysMem<'a>, paddr: u64, len: usize) -> Result<&'a [u8], NotMapped> {
    mem.bytes(paddr, len).ok_or(NotMapped { paddr, len: len as u64 })
}

/// The `N`-byte structure at `paddr`.
fn array<'a, const N: usize>(mem: &impl PhysMem<'a>, paddr: u64) -> Result<&'a [u8; N], NotMapped> {
    bytes(mem, paddr, N)?.first_chunk::<N>().ok_or(NotMapped { paddr, len: N as u64 })
}

/// The `i`th `size`-byte entry of the table at `base`.
fn entry_addr(base: u64, i: usize, size: usize) -> Result<u64, NotMapped> {
    (i as u64)
        .checked_mul(size as u64)
        .and_then(|off| base.checked_add(off))
        .ok_or(NotMapped { paddr: base, len: u64::MAX })
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

/// The validated boot information; `'a` is the lifetime of the memory it
/// was read from (the command line is borrowed from it).
pub struct BootInfo<'a> {
    pub start_info_paddr: u64,
    memmap: [MemmapEntry; MAX_MEMMAP],
    memmap_len: usize,
    modules: [Module; MAX_MODULES],
    modules_len: usize,
    /// Physical address of the command line (0 if none).
    pub cmdline_paddr: u64,
    /// The command line bytes, without the NUL.
    pub cmdline: &'a [u8],
    /// Physical address of the ACPI RSDP, if the VMM supplied one.
    pub rsdp_paddr: Option<u64>,
}

impl<'a> BootInfo<'a> {
    /// Reads and checks the `hvm_start_info` at `start_info_paddr` and the
    /// memory map, module list and command line it points at.
    pub fn parse(mem: &impl PhysMem<'a>, start_info_paddr: u64) -> Result<Self, BootInfoError> {
        let si = StartInfo::from_bytes(array(mem, start_info_paddr)?);
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
            let pa = entry_addr(si.memmap_paddr, i, MemmapEntry::SIZE)?;
            let e = MemmapEntry::from_bytes(array(mem, pa)?);
            if e.size != 0 {
                if let Some(slot) = memmap.get_mut(kept) {
                    *slot = e;
                    kept += 1;
                }
            }
        }

        let m = si.nr_modules as usize;
        if m > MAX_MODULES {
            return Err(BootInfoError::TooManyModules(si.nr_modules));
        }
        let mut modules = [Module::default(); MAX_MODULES];
        for (i, slot) in modules.iter_mut().take(m).enumerate() {
            let pa = entry_addr(si.modlist_paddr, i, ModlistEntry::SIZE)?;
            let e = ModlistEntry::from_bytes(array(mem, pa)?);
            let size = usize::try_from(e.size).map_err(|_| NotMapped { paddr: e.paddr, len: e.size })?;
            bytes(mem, e.paddr, size)?;
            *slot = Module { paddr: e.paddr, size: e.size };
        }

        let cmdline = if si.cmdline_paddr == 0 { &[][..] } else { read_cstr(mem, si.cmdline_paddr)? };
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
        self.memmap.get(..self.memmap_len).unwrap_or_default()
    }

    pub fn modules(&self) -> &[Module] {
        self.modules.get(..self.modules_len).unwrap_or_default()
    }

    /// Usable RAM: total bytes and number of ranges.
    pub fn usable_ram(&self) -> (u64, usize) {
        self.memmap()
            .iter()
            .filter(|e| e.mem_type() == Some(MemType::Ram))
            .fold((0, 0), |(bytes, n), e| (bytes.saturating_add(e.size), n + 1))
    }
}

/// Reads a NUL-terminated string, reading the mapped window at most once.
fn read_cstr<'a>(mem: &impl PhysMem<'a>, paddr: u64) -> Result<&'a [u8], BootInfoError> {
    // The string may end close to the top of mapped memory: look only at
    // what is mapped, up to the limit.
    let mut window = MAX_CMDLINE + 1;
    let bytes = loop {
        match bytes(mem, paddr, window) {
            Ok(b) => break b,
            Err(_) if window > 1 => window /= 2,
            Err(e) => return Err(e.into()),
        }
    };
    bytes.iter().position(|&b| b == 0).and_then(|len| bytes.get(..len)).ok_or(BootInfoError::CmdlineUnterminated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{start_info_memory, START_INFO_BASE};
    use crate::SliceMem;
    use pv_abi::pvh::StartInfo;

    fn parse(bytes: &[u8]) -> Result<BootInfo<'_>, BootInfoError> {
        BootInfo::parse(&SliceMem { base: START_INFO_BASE, bytes }, START_INFO_BASE)
    }

    fn with(f: impl FnOnce(&mut StartInfo)) -> std::vec::Vec<u8> {
        let mut mem = start_info_memory(b"console=ttyS0");
        let mut si = StartInfo::from_bytes(mem[..StartInfo::SIZE].try_into().unwrap());
        f(&mut si);
        mem[..StartInfo::SIZE].copy_from_slice(&si.to_bytes());
        mem
    }

    #[test]
    fn valid_start_info() {
        let mem = start_info_memory(b"console=ttyS0");
        let info = parse(&mem).unwrap();
        assert_eq!(info.cmdline, b"console=ttyS0");
        assert_eq!(info.memmap().len(), 2, "the empty entry is dropped");
        assert_eq!(info.usable_ram(), (0xA_0000 + 0x1000_0000, 2));
        assert_eq!(info.modules().len(), 1);
        assert_eq!(info.modules()[0].size, 0x40);
        assert_eq!(info.rsdp_paddr, Some(0xA_0000));
    }

    #[test]
    fn malformed_start_info_gives_typed_errors() {
        assert_eq!(parse(&with(|s| s.magic = 1)).err(), Some(BootInfoError::BadMagic(1)));
        assert_eq!(parse(&with(|s| s.version = 0)).err(), Some(BootInfoError::UnsupportedVersion(0)));
        assert_eq!(parse(&with(|s| s.memmap_entries = 0)).err(), Some(BootInfoError::NoMemoryMap));
        assert_eq!(parse(&with(|s| s.memmap_entries = 65)).err(), Some(BootInfoError::TooManyMemmapEntries(65)));
        assert_eq!(parse(&with(|s| s.nr_modules = 9)).err(), Some(BootInfoError::TooManyModules(9)));
        assert!(matches!(parse(&with(|s| s.memmap_entries = 64)), Err(BootInfoError::NotMapped(_))));
        assert!(matches!(parse(&with(|s| s.memmap_paddr = u64::MAX - 8)), Err(BootInfoError::NotMapped(_))));
        assert!(matches!(parse(&with(|s| s.modlist_paddr = u64::MAX)), Err(BootInfoError::NotMapped(_))));
        assert!(matches!(parse(&with(|s| s.cmdline_paddr = u64::MAX)), Err(BootInfoError::NotMapped(_))));
        assert!(matches!(parse(&[0u8; 10]), Err(BootInfoError::NotMapped(_))));
        // The command line runs to the end of memory without a NUL.
        let mut mem = start_info_memory(b"x");
        let len = mem.len();
        mem[0x100..].fill(b'a');
        assert_eq!(parse(&mem[..len]).err(), Some(BootInfoError::CmdlineUnterminated));
    }
}
