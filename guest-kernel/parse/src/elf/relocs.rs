//! Relocations of a static PIE: the RELA tables PT_DYNAMIC names, holding
//! only `R_X86_64_RELATIVE` (write `base + addend`) and `NONE`. Anything
//! that needs symbols (a dynamic linker's job) is refused.
use super::header::{self as elf, Rela};
use super::segments::Segments;
use crate::le;
use pv_abi::syscall::Error;

/// The RELA tables: `.rela.dyn` (DT_RELA) and `.rela.plt` (DT_JMPREL).
/// They are read from the image, never from user memory, so a relocation
/// cannot rewrite the relocations that follow it.
pub struct Relocations<'a> {
    tables: [&'a [u8]; 2],
}

/// What PT_DYNAMIC says, before it is checked.
#[derive(Default)]
struct DynTags {
    needed: bool,
    rela: Option<u64>,
    relasz: Option<u64>,
    relaent: Option<u64>,
    jmprel: Option<u64>,
    pltrelsz: Option<u64>,
    pltrel: Option<u64>,
    rel: Option<u64>,
    relsz: Option<u64>,
    relr: Option<u64>,
    relrsz: Option<u64>,
}

impl<'a> Relocations<'a> {
    pub const NONE: Self = Self { tables: [&[], &[]] };

    /// Reads the dynamic array (the file bytes of PT_DYNAMIC) up to DT_NULL
    /// and locates the tables in the segments' file images.
    pub fn from_dynamic(dynamic: &[u8], segs: &Segments<'a>) -> Result<Self, Error> {
        let mut t = DynTags::default();
        for d in dynamic.chunks_exact(elf::DYN_SIZE) {
            let (Some(tag), Some(val)) = (le::u64_at(d, 0), le::u64_at(d, 8)) else { break };
            match tag {
                elf::DT_NULL => break,
                elf::DT_NEEDED => t.needed = true,
                elf::DT_RELA => t.rela = Some(val),
                elf::DT_RELASZ => t.relasz = Some(val),
                elf::DT_RELAENT => t.relaent = Some(val),
                elf::DT_JMPREL => t.jmprel = Some(val),
                elf::DT_PLTRELSZ => t.pltrelsz = Some(val),
                elf::DT_PLTREL => t.pltrel = Some(val),
                elf::DT_REL => t.rel = Some(val),
                elf::DT_RELSZ => t.relsz = Some(val),
                elf::DT_RELR => t.relr = Some(val),
                elf::DT_RELRSZ => t.relrsz = Some(val),
                _ => {}
            }
        }
        if t.needed {
            // Shared-library dependencies: only a dynamic linker can satisfy them.
            return Err(Error::ElfDynamic);
        }
        // REL (implicit addends) and RELR (packed relative) tables are
        // formats we do not apply; ignoring them would leave pointers unrelocated.
        let nonempty = |table: Option<u64>, size: Option<u64>| table.is_some() && size != Some(0);
        if nonempty(t.rel, t.relsz) || nonempty(t.relr, t.relrsz) {
            return Err(Error::ElfBadRelocation);
        }
        if t.relaent.is_some_and(|e| e != elf::RELA_SIZE as u64) {
            return Err(Error::ElfBadRelocation);
        }
        if t.pltrelsz.is_some_and(|s| s != 0) && t.pltrel != Some(elf::DT_RELA) {
            return Err(Error::ElfBadRelocation);
        }
        Ok(Self { tables: [table(segs, t.rela, t.relasz)?, table(segs, t.jmprel, t.pltrelsz)?] })
    }

    /// Checks every entry: its type, and that its 8-byte target lies in a
    /// segment's memory.
    pub fn validate(&self, segs: &Segments<'_>, base: u64) -> Result<(), Error> {
        let mut hint = 0;
        for r in self.entries() {
            match r.r_type {
                elf::R_X86_64_NONE => {}
                elf::R_X86_64_RELATIVE => {
                    let target = base.checked_add(r.offset).ok_or(Error::ElfBadRelocation)?;
                    segs.find(target, 8, &mut hint).ok_or(Error::ElfBadRelocation)?;
                }
                _ => return Err(Error::ElfBadRelocation),
            }
        }
        Ok(())
    }

    /// All entries of both tables. Table sizes were checked to be whole
    /// entries, so `chunks_exact` leaves nothing out.
    pub fn entries(&self) -> impl Iterator<Item = Rela> + '_ {
        self.tables.iter().flat_map(|t| t.chunks_exact(elf::RELA_SIZE)).filter_map(Rela::parse)
    }
}

/// One table from its (address, size) tags: both or neither must be given.
fn table<'a>(segs: &Segments<'a>, addr: Option<u64>, size: Option<u64>) -> Result<&'a [u8], Error> {
    match (addr, size) {
        (_, Some(0)) | (None, None) => Ok(&[]),
        (Some(addr), Some(size)) if size % elf::RELA_SIZE as u64 == 0 => {
            segs.file_bytes_at(addr, size).ok_or(Error::ElfTruncated)
        }
        _ => Err(Error::ElfBadRelocation),
    }
}
