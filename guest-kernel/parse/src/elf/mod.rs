//! The program loader: static-PIE ELF64 executables for x86-64, as
//! `x86_64-unknown-motor` and `x86_64-unknown-none` (`-C relocation-model=pie`)
//! produce them, placed in a user address space.
//!
//! The image is untrusted (it comes from the initrd, later from anywhere),
//! so the whole of it is validated before anything is mapped: a bad image
//! costs no memory and leaves nothing to undo. Every check maps to one
//! pv-abi `Elf*` error. Work is O(program headers + dynamic entries +
//! relocations); nothing is allocated and the image is never copied except
//! segment by segment into the target through [`UserMemory::write`].
//!
//! The address space is behind [`UserMemory`], so this runs unchanged in
//! host tests (`guest-userspace/host-tools/mkinitrd/tests`) and the `elf` fuzz target.
pub mod header;
pub mod note;
mod relocs;
mod segments;

use header::{self as elf, Ehdr, HeaderError, Phdr};
use pv_abi::syscall::Error;
use relocs::Relocations;
use segments::{Segments, PAGE_SIZE};

/// What the loader needs from the address space it loads into (the kernel implements it for processes).
pub trait UserMemory {
    /// Map zero-filled pages covering [va, va+len) (page-rounded) with pv_abi::syscall::prot bits.
    fn map_zeroed(&mut self, va: u64, len: u64, prot: u64) -> Result<(), Error>;
    /// Write bytes at va (must be inside something map_zeroed; ignores protection: the kernel writes through the direct map).
    fn write(&mut self, va: u64, bytes: &[u8]) -> Result<(), Error>;
}

/// A loaded program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loaded {
    /// Where the first instruction is (`base + e_entry`).
    pub entry: u64,
    /// The page-rounded extent of everything mapped: the lowest segment's
    /// first page to the end of the highest segment's last page.
    pub image_start: u64,
    pub image_end: u64,
}

/// Validates the whole image first (nothing is mapped if it is bad), then maps and fills segments at `base + p_vaddr`, applies relocations, and returns the entry.
///
/// `base` must be page-aligned (`Invalid` otherwise) and applies to ET_DYN
/// images; an ET_EXEC image is position-dependent, so it is loaded at its
/// link addresses (base 0) whatever `base` says. An error from `mem` after
/// validation (e.g. `NoMemory`) is returned as it is, with some segments
/// possibly mapped: the caller discards the address space.
pub fn load(image: &[u8], base: u64, mem: &mut dyn UserMemory) -> Result<Loaded, Error> {
    let plan = Plan::new(image, base)?;
    plan.apply(mem)
}

/// A fully validated image: what to map, write and relocate.
struct Plan<'a> {
    base: u64,
    entry: u64,
    segments: Segments<'a>,
    relocations: Relocations<'a>,
}

impl<'a> Plan<'a> {
    fn new(image: &'a [u8], base: u64) -> Result<Self, Error> {
        let ehdr = Ehdr::parse(image).map_err(|e| match e {
            HeaderError::BadMagic => Error::ElfBadMagic,
            HeaderError::Unsupported => Error::ElfUnsupported,
            HeaderError::Truncated => Error::ElfTruncated,
        })?;
        let base = if ehdr.e_type == elf::ET_EXEC { 0 } else { base };
        if base % PAGE_SIZE != 0 {
            return Err(Error::Invalid);
        }
        let table_len = u64::from(ehdr.phnum) * elf::PHDR_SIZE as u64;
        let table = elf::file_range(image, ehdr.phoff, table_len).ok_or(Error::ElfTruncated)?;

        let mut segments = Segments::new();
        let mut dynamic = None;
        for ph in table.chunks_exact(elf::PHDR_SIZE).map(Phdr::parse) {
            let ph = ph.ok_or(Error::ElfTruncated)?;
            match ph.p_type {
                elf::PT_LOAD => segments.push(image, &ph, base)?,
                elf::PT_INTERP => return Err(Error::ElfDynamic),
                elf::PT_TLS => return Err(Error::ElfTls),
                elf::PT_DYNAMIC => {
                    let bytes = elf::file_range(image, ph.offset, ph.filesz).ok_or(Error::ElfTruncated)?;
                    dynamic.get_or_insert(bytes);
                }
                // PT_PHDR, PT_GNU_STACK, PT_GNU_RELRO, PT_NOTE, ...: nothing to do.
                _ => {}
            }
        }
        if segments.first().is_none() {
            return Err(Error::ElfOutOfRange);
        }
        segments.sort_and_check_disjoint()?;

        let entry = base.checked_add(ehdr.entry).ok_or(Error::ElfOutOfRange)?;
        if !segments.iter().any(|s| s.is_exec() && s.contains(entry, 1)) {
            return Err(Error::ElfOutOfRange);
        }

        let relocations = match dynamic {
            Some(d) => Relocations::from_dynamic(d, &segments)?,
            None => Relocations::NONE,
        };
        relocations.validate(&segments, base)?;
        Ok(Self { base, entry, segments, relocations })
    }

    /// Maps and fills the segments, then relocates. Only `mem` can fail here.
    fn apply(&self, mem: &mut dyn UserMemory) -> Result<Loaded, Error> {
        for s in self.segments.iter() {
            mem.map_zeroed(s.page_start, s.page_end.saturating_sub(s.page_start), s.prot)?;
            if !s.file.is_empty() {
                mem.write(s.start, s.file)?;
            }
        }
        for r in self.relocations.entries().filter(|r| r.r_type == elf::R_X86_64_RELATIVE) {
            // Validated: the target is inside a segment, so this cannot wrap.
            let target = self.base.wrapping_add(r.offset);
            // The value is the program's own business: wrapping is its bug, not ours.
            mem.write(target, &self.base.wrapping_add(r.addend).to_le_bytes())?;
        }
        let (Some(first), Some(last)) = (self.segments.first(), self.segments.last()) else {
            return Err(Error::ElfOutOfRange);
        };
        Ok(Loaded { entry: self.entry, image_start: first.page_start, image_end: last.page_end })
    }
}
