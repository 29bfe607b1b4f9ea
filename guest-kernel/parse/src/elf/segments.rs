//! The PT_LOAD segments of an image, validated and placed at their final
//! addresses: inside user space, page-disjoint, never writable and
//! executable at once.
use super::header::{self as elf, Phdr, PF_R, PF_W, PF_X};
use pv_abi::syscall::{layout, prot, Error};

pub use pv_abi::PAGE_SIZE;

/// PT_LOADs we place. Linkers emit 2-5; a fixed table keeps the loader
/// allocation-free and every lookup O(1) in the number of relocations.
pub const MAX_SEGMENTS: usize = 16;

/// A PT_LOAD at its load address.
#[derive(Clone, Copy, Debug)]
pub struct Segment<'a> {
    /// The link-time `p_vaddr` (dynamic-table addresses are in these terms).
    pub vaddr: u64,
    /// `base + p_vaddr`: where the first file byte goes.
    pub start: u64,
    /// `start + p_memsz`.
    pub end: u64,
    /// Page-rounded `[start, end)`: what gets mapped.
    pub page_start: u64,
    pub page_end: u64,
    /// The `p_filesz` bytes copied to `start`; the rest stays zero.
    pub file: &'a [u8],
    pub prot: u64,
}

impl Segment<'_> {
    pub fn is_exec(&self) -> bool {
        self.prot & prot::EXEC != 0
    }

    /// Whether `[addr, addr+len)` lies inside the segment's memory (not page-rounded).
    pub fn contains(&self, addr: u64, len: u64) -> bool {
        addr >= self.start && addr.checked_add(len).is_some_and(|e| e <= self.end)
    }
}

/// Up to `MAX_SEGMENTS` segments, sorted by address once complete.
pub struct Segments<'a> {
    items: [Option<Segment<'a>>; MAX_SEGMENTS],
    len: usize,
}

impl<'a> Segments<'a> {
    pub const fn new() -> Self {
        Self { items: [None; MAX_SEGMENTS], len: 0 }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Segment<'a>> {
        self.items.iter().take(self.len).flatten()
    }

    pub fn first(&self) -> Option<&Segment<'a>> {
        self.iter().next()
    }

    pub fn last(&self) -> Option<&Segment<'a>> {
        self.iter().last()
    }

    /// Validates one PT_LOAD and adds it (zero-sized ones map nothing and are dropped).
    pub fn push(&mut self, image: &'a [u8], ph: &Phdr, base: u64) -> Result<(), Error> {
        if ph.filesz > ph.memsz {
            return Err(Error::ElfOutOfRange);
        }
        let file = elf::file_range(image, ph.offset, ph.filesz).ok_or(Error::ElfTruncated)?;
        if ph.flags & PF_W != 0 && ph.flags & PF_X != 0 {
            return Err(Error::ElfWriteExec);
        }
        if ph.memsz == 0 {
            return Ok(());
        }
        let start = base.checked_add(ph.vaddr).ok_or(Error::ElfOutOfRange)?;
        let end = start.checked_add(ph.memsz).ok_or(Error::ElfOutOfRange)?;
        let page_start = start & !(PAGE_SIZE - 1);
        let page_end = end.checked_add(PAGE_SIZE - 1).ok_or(Error::ElfOutOfRange)? & !(PAGE_SIZE - 1);
        if page_start < layout::PROGRAM_BASE || page_end > layout::USER_END {
            return Err(Error::ElfOutOfRange);
        }
        let slot = self.items.get_mut(self.len).ok_or(Error::ElfUnsupported)?;
        *slot = Some(Segment { vaddr: ph.vaddr, start, end, page_start, page_end, file, prot: prot_of(ph.flags) });
        self.len += 1;
        Ok(())
    }

    /// Sorts by address (the ELF spec asks linkers for ascending order but
    /// nothing enforces it) and rejects any two sharing a page.
    pub fn sort_and_check_disjoint(&mut self) -> Result<(), Error> {
        let items = self.items.get_mut(..self.len).unwrap_or_default();
        items.sort_unstable_by_key(|s| s.map_or(u64::MAX, |s| s.page_start));
        let mut prev_end = 0;
        for s in items.iter().flatten() {
            if s.page_start < prev_end {
                return Err(Error::ElfOverlap);
            }
            prev_end = s.page_end;
        }
        Ok(())
    }

    /// The segment whose memory holds `[addr, addr+len)`, trying `hint`
    /// first: relocations come in address order, so it almost always hits.
    pub fn find(&self, addr: u64, len: u64, hint: &mut usize) -> Option<&Segment<'a>> {
        if let Some(s) = self.iter().nth(*hint).filter(|s| s.contains(addr, len)) {
            return Some(s);
        }
        let (i, s) = self.iter().enumerate().find(|(_, s)| s.contains(addr, len))?;
        *hint = i;
        Some(s)
    }

    /// The file bytes at link-time address `vaddr` (dynamic tables name
    /// addresses, not offsets), if one segment's file image holds them all.
    pub fn file_bytes_at(&self, vaddr: u64, len: u64) -> Option<&'a [u8]> {
        self.iter().find_map(|s| {
            let off = vaddr.checked_sub(s.vaddr)?;
            let end = off.checked_add(len)?;
            let (off, end) = (usize::try_from(off).ok()?, usize::try_from(end).ok()?);
            s.file.get(off..end)
        })
    }
}

fn prot_of(flags: u32) -> u64 {
    let mut p = 0;
    if flags & PF_R != 0 {
        p |= prot::READ;
    }
    if flags & PF_W != 0 {
        p |= prot::WRITE;
    }
    if flags & PF_X != 0 {
        p |= prot::EXEC;
    }
    p
}
