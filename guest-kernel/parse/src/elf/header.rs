//! ELF64 little-endian structures, read field by field out of untrusted
//! bytes. Every read goes through [`crate::le`] and returns `None` past the
//! end, so no input can make this module panic.
use crate::le::{u16_at, u32_at, u64_at};

/// `\x7fELF`.
pub const MAGIC: [u8; 4] = *b"\x7fELF";
pub const EHDR_SIZE: usize = 64;
pub const PHDR_SIZE: usize = 56;
pub const DYN_SIZE: usize = 16;
pub const RELA_SIZE: usize = 24;

const EI_CLASS: usize = 4;
const EI_DATA: usize = 5;
const EI_NIDENT: usize = 16;
pub const ELFCLASS64: u8 = 2;
const ELFDATA2LSB: u8 = 1;
pub const EM_X86_64: u16 = 62;
pub const ET_EXEC: u16 = 2;
pub const ET_DYN: u16 = 3;

pub const PT_LOAD: u32 = 1;
pub const PT_DYNAMIC: u32 = 2;
pub const PT_INTERP: u32 = 3;
pub const PT_NOTE: u32 = 4;
pub const PT_TLS: u32 = 7;

pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;

pub const DT_NULL: u64 = 0;
pub const DT_NEEDED: u64 = 1;
pub const DT_PLTRELSZ: u64 = 2;
pub const DT_RELA: u64 = 7;
pub const DT_RELASZ: u64 = 8;
pub const DT_RELAENT: u64 = 9;
pub const DT_REL: u64 = 17;
pub const DT_RELSZ: u64 = 18;
pub const DT_PLTREL: u64 = 20;
pub const DT_JMPREL: u64 = 23;
pub const DT_RELRSZ: u64 = 35;
pub const DT_RELR: u64 = 36;

pub const R_X86_64_NONE: u32 = 0;
pub const R_X86_64_RELATIVE: u32 = 8;

/// Why a header is unusable, before it is mapped to a pv-abi error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    BadMagic,
    Unsupported,
    Truncated,
}

/// The fields of the ELF header the loader uses.
#[derive(Clone, Copy, Debug)]
pub struct Ehdr {
    pub e_type: u16,
    pub entry: u64,
    pub phoff: u64,
    pub phnum: u16,
}

impl Ehdr {
    /// Checks identification, then the 64-bit header. The class and byte
    /// order are checked before the length so a short ELF32 file is
    /// reported as unsupported, not truncated.
    pub fn parse(image: &[u8]) -> Result<Self, HeaderError> {
        if image.get(..MAGIC.len()) != Some(&MAGIC[..]) {
            return Err(HeaderError::BadMagic);
        }
        let ident = image.get(..EI_NIDENT).ok_or(HeaderError::Truncated)?;
        if ident.get(EI_CLASS) != Some(&ELFCLASS64) || ident.get(EI_DATA) != Some(&ELFDATA2LSB) {
            return Err(HeaderError::Unsupported);
        }
        let h = image.get(..EHDR_SIZE).ok_or(HeaderError::Truncated)?;
        let field16 = |off| u16_at(h, off).ok_or(HeaderError::Truncated);
        let field64 = |off| u64_at(h, off).ok_or(HeaderError::Truncated);
        let e_type = field16(16)?;
        let machine = field16(18)?;
        let phentsize = field16(54)?;
        if machine != EM_X86_64 || !(e_type == ET_DYN || e_type == ET_EXEC) || usize::from(phentsize) != PHDR_SIZE {
            return Err(HeaderError::Unsupported);
        }
        Ok(Self { e_type, entry: field64(24)?, phoff: field64(32)?, phnum: field16(56)? })
    }
}

/// One program header.
#[derive(Clone, Copy, Debug)]
pub struct Phdr {
    pub p_type: u32,
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
}

impl Phdr {
    /// `b` is one `PHDR_SIZE` entry of the table.
    pub fn parse(b: &[u8]) -> Option<Self> {
        Some(Self {
            p_type: u32_at(b, 0)?,
            flags: u32_at(b, 4)?,
            offset: u64_at(b, 8)?,
            vaddr: u64_at(b, 16)?,
            filesz: u64_at(b, 32)?,
            memsz: u64_at(b, 40)?,
        })
    }
}

/// One `Elf64_Rela`.
#[derive(Clone, Copy, Debug)]
pub struct Rela {
    pub offset: u64,
    pub r_type: u32,
    pub addend: u64,
}

impl Rela {
    pub fn parse(b: &[u8]) -> Option<Self> {
        let info = u64_at(b, 8)?;
        Some(Self {
            offset: u64_at(b, 0)?,
            // ELF64_R_TYPE: the low 32 bits (the symbol is the high 32).
            r_type: info as u32,
            addend: u64_at(b, 16)?,
        })
    }
}

/// `len` bytes at file offset `off`, both untrusted 64-bit values.
pub fn file_range(image: &[u8], off: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(off).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    image.get(start..end)
}
