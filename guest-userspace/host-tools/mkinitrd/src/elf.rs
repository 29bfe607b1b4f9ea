//! A small ELF64 writer: an ELF header, a program-header table and file
//! bytes placed at chosen offsets. Enough to build static-PIE test images
//! with exactly the defects the fixtures want; it checks nothing on purpose.

// The numbers the loader reads, from the loader's own definitions.
pub use vireo_parse::elf::header::{
    DT_NULL, DT_RELA, DT_RELAENT, DT_RELASZ, DYN_SIZE, EHDR_SIZE, ELFCLASS64, EM_X86_64, ET_DYN, PF_R, PF_W, PF_X,
    PHDR_SIZE, PT_DYNAMIC, PT_INTERP, PT_LOAD, PT_NOTE, PT_TLS, RELA_SIZE, R_X86_64_RELATIVE,
};

// Only the writer needs these: the loader refuses or ignores them.
pub const ELFCLASS32: u8 = 1;
pub const PT_GNU_STACK: u32 = 0x6474_e551;
pub const R_X86_64_64: u32 = 1;

/// One program header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Phdr {
    pub p_type: u32,
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
    pub align: u64,
}

impl Phdr {
    /// A segment whose file bytes are at `offset` and memory at `vaddr`.
    pub fn new(p_type: u32, flags: u32, offset: u64, vaddr: u64, filesz: u64, memsz: u64) -> Self {
        let align = if p_type == PT_LOAD { 0x1000 } else { 8 };
        Self { p_type, flags, offset, vaddr, filesz, memsz, align }
    }

    fn bytes(&self) -> [u8; PHDR_SIZE] {
        let mut b = [0u8; PHDR_SIZE];
        b[0..4].copy_from_slice(&self.p_type.to_le_bytes());
        b[4..8].copy_from_slice(&self.flags.to_le_bytes());
        b[8..16].copy_from_slice(&self.offset.to_le_bytes());
        b[16..24].copy_from_slice(&self.vaddr.to_le_bytes());
        b[24..32].copy_from_slice(&self.vaddr.to_le_bytes()); // p_paddr = p_vaddr
        b[32..40].copy_from_slice(&self.filesz.to_le_bytes());
        b[40..48].copy_from_slice(&self.memsz.to_le_bytes());
        b[48..56].copy_from_slice(&self.align.to_le_bytes());
        b
    }
}

/// An image being built: header fields, program headers and the file body.
#[derive(Clone, Debug)]
pub struct Image {
    pub magic: [u8; 4],
    pub class: u8,
    pub e_type: u16,
    pub machine: u16,
    pub entry: u64,
    pub phdrs: Vec<Phdr>,
    /// The whole file; the header and program-header table are written
    /// over its start by [`Image::build`], so keep offset 0..0x400 free.
    pub body: Vec<u8>,
}

impl Image {
    /// An x86-64 ET_DYN with no segments and an empty body.
    pub fn new() -> Self {
        Self {
            magic: *b"\x7fELF",
            class: ELFCLASS64,
            e_type: ET_DYN,
            machine: EM_X86_64,
            entry: 0,
            phdrs: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Places `bytes` at file offset `offset`, growing the body with zeros.
    pub fn put(&mut self, offset: usize, bytes: &[u8]) {
        let end = offset + bytes.len();
        if self.body.len() < end {
            self.body.resize(end, 0);
        }
        self.body[offset..end].copy_from_slice(bytes);
    }

    /// The file: body with the ELF header at 0 and the program headers at 64.
    pub fn build(&self) -> Vec<u8> {
        let mut out = self.clone();
        out.put(0, &self.ehdr());
        for (i, ph) in self.phdrs.iter().enumerate() {
            out.put(EHDR_SIZE + i * PHDR_SIZE, &ph.bytes());
        }
        out.body
    }

    fn ehdr(&self) -> [u8; EHDR_SIZE] {
        let mut h = [0u8; EHDR_SIZE];
        h[0..4].copy_from_slice(&self.magic);
        h[4] = self.class;
        h[5] = 1; // ELFDATA2LSB
        h[6] = 1; // EV_CURRENT
        h[16..18].copy_from_slice(&self.e_type.to_le_bytes());
        h[18..20].copy_from_slice(&self.machine.to_le_bytes());
        h[20..24].copy_from_slice(&1u32.to_le_bytes()); // e_version
        h[24..32].copy_from_slice(&self.entry.to_le_bytes());
        let phoff = if self.phdrs.is_empty() { 0 } else { EHDR_SIZE as u64 };
        h[32..40].copy_from_slice(&phoff.to_le_bytes());
        // e_shoff 0, e_flags 0: no section headers.
        h[52..54].copy_from_slice(&(EHDR_SIZE as u16).to_le_bytes());
        h[54..56].copy_from_slice(&(PHDR_SIZE as u16).to_le_bytes());
        h[56..58].copy_from_slice(&(self.phdrs.len() as u16).to_le_bytes());
        h[58..60].copy_from_slice(&64u16.to_le_bytes()); // e_shentsize
        h
    }
}

impl Default for Image {
    fn default() -> Self {
        Self::new()
    }
}

/// An `Elf64_Dyn`.
pub fn dyn_entry(tag: u64, val: u64) -> [u8; DYN_SIZE] {
    let mut b = [0u8; DYN_SIZE];
    b[..8].copy_from_slice(&tag.to_le_bytes());
    b[8..].copy_from_slice(&val.to_le_bytes());
    b
}

/// An `Elf64_Rela` with symbol 0.
pub fn rela(offset: u64, r_type: u32, addend: i64) -> [u8; RELA_SIZE] {
    let mut b = [0u8; RELA_SIZE];
    b[..8].copy_from_slice(&offset.to_le_bytes());
    b[8..16].copy_from_slice(&u64::from(r_type).to_le_bytes());
    b[16..].copy_from_slice(&addend.to_le_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u16_at(b: &[u8], o: usize) -> u16 {
        u16::from_le_bytes(b[o..o + 2].try_into().unwrap())
    }
    fn u64_at(b: &[u8], o: usize) -> u64 {
        u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
    }

    #[test]
    fn header_layout() {
        let mut img = Image::new();
        img.entry = 0x1234;
        img.phdrs.push(Phdr::new(PT_LOAD, PF_R | PF_X, 0x1000, 0x1000, 4, 8));
        img.put(0x1000, &[0xc3, 0, 0, 0]);
        let b = img.build();
        assert_eq!(&b[..4], b"\x7fELF");
        assert_eq!((b[4], b[5], b[6]), (ELFCLASS64, 1, 1));
        assert_eq!(u16_at(&b, 16), ET_DYN);
        assert_eq!(u16_at(&b, 18), EM_X86_64);
        assert_eq!(u64_at(&b, 24), 0x1234);
        assert_eq!(u64_at(&b, 32), 64, "phoff");
        assert_eq!(u16_at(&b, 54), 56, "phentsize");
        assert_eq!(u16_at(&b, 56), 1, "phnum");
        let ph = &b[64..120];
        assert_eq!(u32::from_le_bytes(ph[0..4].try_into().unwrap()), PT_LOAD);
        assert_eq!(u32::from_le_bytes(ph[4..8].try_into().unwrap()), PF_R | PF_X);
        assert_eq!((u64_at(ph, 8), u64_at(ph, 16), u64_at(ph, 32), u64_at(ph, 40)), (0x1000, 0x1000, 4, 8));
        assert_eq!(u64_at(ph, 48), 0x1000, "p_align");
        assert_eq!(b.len(), 0x1004);
        assert_eq!(b[0x1000], 0xc3);
    }

    #[test]
    fn dynamic_and_rela_encoding() {
        assert_eq!(dyn_entry(DT_RELASZ, 24), [8, 0, 0, 0, 0, 0, 0, 0, 24, 0, 0, 0, 0, 0, 0, 0]);
        let r = rela(0x2000, R_X86_64_RELATIVE, -8);
        assert_eq!(u64_at(&r, 0), 0x2000);
        assert_eq!(u64_at(&r, 8), 8, "r_info: symbol 0, type RELATIVE");
        assert_eq!(u64_at(&r, 16), (-8i64) as u64);
    }

    #[test]
    fn put_grows_and_overwrites() {
        let mut img = Image::new();
        img.put(4, &[1, 2]);
        img.put(0, &[9]);
        assert_eq!(img.body, [9, 0, 0, 0, 1, 2]);
    }
}
