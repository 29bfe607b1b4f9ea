//! The initial RAM disk: PVH boot module 0, a cpio "newc" archive holding
//! the programs `Spawn` starts (`/init` first). It is validated once at boot
//! and then read in place: file data are borrowed from the module's memory,
//! which `mm` reserves for the kernel's lifetime, never copied.
use vireo_parse::cpio;

pub use cpio::CpioError;

use crate::boot::start_info::BootInfo;
use crate::mm::phys;
use alloc::vec::Vec;
use core::fmt;
use spin::Once;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitrdError {
    /// Module 0 is not inside the direct map.
    NotMapped { paddr: u64, len: u64 },
    /// The archive is malformed.
    Format(CpioError),
}

impl From<CpioError> for InitrdError {
    fn from(e: CpioError) -> Self {
        Self::Format(e)
    }
}

impl fmt::Display for InitrdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotMapped { paddr, len } => write!(f, "module at {paddr:#x} (+{len:#x}) is outside mapped memory"),
            Self::Format(e) => write!(f, "not a cpio newc archive: {e}"),
        }
    }
}

/// A validated archive, borrowed from boot-module memory, with an index of
/// its regular files built in the same pass: `Spawn` then finds a program
/// without walking (and re-decoding) every header before it.
#[derive(Debug)]
pub struct Initrd {
    archive: cpio::Archive<'static>,
    files: Vec<(&'static str, &'static [u8])>,
    /// Where the archive lies in physical memory (`InitrdMap` lends it).
    paddr: u64,
    len: u64,
}

impl Initrd {
    /// The archive `bytes`, which are the physical memory at `paddr`.
    pub fn new(paddr: u64, bytes: &'static [u8]) -> Result<Self, InitrdError> {
        let mut files = Vec::new();
        let archive = cpio::Archive::parse_with(bytes, |e| {
            if e.is_file() {
                files.push((cpio::normalize(e.name), e.data));
            }
        })?;
        Ok(Self { archive, files, paddr, len: bytes.len() as u64 })
    }

    /// The archive's physical address and length in bytes. The memory is
    /// reserved for the kernel's lifetime and never written.
    pub fn phys_range(&self) -> (u64, u64) {
        (self.paddr, self.len)
    }

    /// The regular file at `path`: `/init`, `init` and `./init` are the same file.
    pub fn find(&self, path: &str) -> Option<&'static [u8]> {
        let path = cpio::normalize(path);
        self.files.iter().find(|(name, _)| *name == path).map(|&(_, data)| data)
    }
}

impl fmt::Display for Initrd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} files, {} KiB", self.archive.file_count(), self.archive.size().div_ceil(1024))
    }
}

/// The initrd from boot module 0: `None` if the VMM passed no module.
pub fn from_boot_info(info: &BootInfo) -> Option<Result<Initrd, InitrdError>> {
    let m = info.modules().first()?;
    let not_mapped = InitrdError::NotMapped { paddr: m.paddr, len: m.size };
    let Ok(len) = usize::try_from(m.size) else { return Some(Err(not_mapped)) };
    Some(phys::bytes(m.paddr, len).map_err(|_| not_mapped).and_then(|b| Initrd::new(m.paddr, b)))
}

static INITRD: Once<Initrd> = Once::new();

/// Publishes the boot initrd (the first call wins; later ones return it).
pub fn init(initrd: Initrd) -> &'static Initrd {
    INITRD.call_once(|| initrd)
}

/// The initrd, once [`init`] ran.
pub fn get() -> Option<&'static Initrd> {
    INITRD.get()
}
