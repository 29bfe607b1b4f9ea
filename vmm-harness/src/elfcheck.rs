//! Pre-validation of a PVH ELF kernel, reading only its headers and notes,
//! so that every bad image gets one precise error instead of whatever
//! linux-loader (which checks little and skips bss segments) would say.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use pv_abi::pvh::layout::HIGH_RAM_START;
use pv_abi::pvh::{XEN_ELFNOTE_NAME, XEN_ELFNOTE_PHYS32_ENTRY};

use crate::error::ElfError;
use crate::memory::{RamLayout, PCI_HOLE_END, PCI_HOLE_START};

const EHDR_SIZE: u64 = 64;
const PHDR_SIZE: u64 = 56;
const ELFCLASS32: u8 = 1;
const ELFCLASS64: u8 = 2;
const ELFDATA2LSB: u8 = 1;
const EM_X86_64: u16 = 62;
const PT_LOAD: u32 = 1;
const PT_NOTE: u32 = 4;

/// Random access to an image (a file, or bytes in tests).
pub trait Image {
    fn size(&self) -> u64;
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
}

/// A file with its size, asked for once (a `statx` per [`Image::size`]
/// call was 15 system calls before the first KVM_RUN).
pub struct SizedFile<'a> {
    pub file: &'a File,
    pub size: u64,
}

impl Image for SizedFile<'_> {
    fn size(&self) -> u64 {
        self.size
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.file.read_exact_at(buf, offset)
    }
}

impl Image for [u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let src = usize::try_from(offset)
            .ok()
            .and_then(|o| self.get(o..o.checked_add(buf.len())?))
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// What the harness needs to know about a valid kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelInfo {
    /// PVH 32-bit entry point (from the Xen note).
    pub pvh_entry: u64,
    /// End of the highest PT_LOAD including its bss (`p_paddr + p_memsz`).
    pub image_end: u64,
}

/// Errors while reading are reported as truncation of the part being read.
fn read<const N: usize>(img: &(impl Image + ?Sized), off: u64, what: &'static str) -> Result<[u8; N], ElfError> {
    let mut b = [0u8; N];
    let end = off.checked_add(N as u64).ok_or(ElfError::Truncated(what))?;
    if end > img.size() {
        return Err(ElfError::Truncated(what));
    }
    img.read_at(&mut b, off).map_err(|_| ElfError::Truncated(what))?;
    Ok(b)
}

fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}
fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}
fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

/// Validate `img` as a PVH ELF kernel that fits in `ram`.
pub fn check(img: &(impl Image + ?Sized), ram: &RamLayout) -> Result<KernelInfo, ElfError> {
    if img.size() < 4 {
        return Err(ElfError::BadMagic);
    }
    let magic: [u8; 4] = read(img, 0, "ELF magic")?;
    if magic != *b"\x7fELF" {
        return Err(ElfError::BadMagic);
    }
    let eh: [u8; EHDR_SIZE as usize] = read(img, 0, "the ELF header")?;
    match eh[4] {
        ELFCLASS64 => {}
        ELFCLASS32 => return Err(ElfError::Elf32),
        c => return Err(ElfError::BadClass(c)),
    }
    if eh[5] != ELFDATA2LSB {
        return Err(ElfError::BigEndian);
    }
    let machine = u16_at(&eh, 18);
    if machine != EM_X86_64 {
        return Err(ElfError::NotX86_64(machine));
    }
    let entry = u64_at(&eh, 24);
    let phoff = u64_at(&eh, 32);
    let phentsize = u16_at(&eh, 54);
    let phnum = u64::from(u16_at(&eh, 56));
    if u64::from(phentsize) != PHDR_SIZE {
        return Err(ElfError::BadPhentsize(phentsize));
    }
    if phoff < EHDR_SIZE {
        return Err(ElfError::BadPhoff(phoff));
    }
    let ph_end = phnum.checked_mul(PHDR_SIZE).and_then(|n| n.checked_add(phoff));
    if ph_end.is_none_or(|e| e > img.size()) {
        return Err(ElfError::Truncated("the program header table"));
    }

    // First pass: structure and notes; placement is judged only for a PVH kernel.
    let mut segments = Vec::new(); // (start, end incl. bss, end of file contents)
    let mut pvh: Option<Result<u64, ElfError>> = None;
    let mut pvh_seen = false;
    for i in 0..phnum {
        let ph: [u8; PHDR_SIZE as usize] = read(img, phoff + i * PHDR_SIZE, "a program header")?;
        let p_type = u32_at(&ph, 0);
        let offset = u64_at(&ph, 8);
        let paddr = u64_at(&ph, 24);
        let filesz = u64_at(&ph, 32);
        let memsz = u64_at(&ph, 40);
        match p_type {
            PT_LOAD => {
                let size = filesz.max(memsz);
                if size == 0 {
                    continue;
                }
                if offset.checked_add(filesz).is_none_or(|e| e > img.size()) {
                    return Err(ElfError::Truncated("a PT_LOAD segment's contents"));
                }
                let end = paddr.checked_add(size).ok_or(ElfError::SegmentOverflow)?;
                segments.push((paddr, end, paddr + filesz));
            }
            PT_NOTE => {
                // linux-loader keeps only the last PT_NOTE's verdict.
                let found = find_pvh_note(img, offset, filesz)?;
                pvh_seen |= found.is_some();
                pvh = found;
            }
            _ => {}
        }
    }
    let pvh_entry = match pvh {
        Some(r) => r?,
        None if pvh_seen => return Err(ElfError::PvhNoteShadowed),
        None => return Err(ElfError::PvhEntryNotPresent),
    };
    if !segments.iter().any(|&(s, _, file_end)| file_end > s) {
        return Err(ElfError::NoLoadSegment);
    }
    if entry < HIGH_RAM_START {
        return Err(ElfError::EntryBelowHighMem(entry));
    }
    if !segments.iter().any(|&(s, _, file_end)| pvh_entry >= s && pvh_entry < file_end) {
        return Err(ElfError::PvhEntryOutside(pvh_entry));
    }
    let mut image_end = 0u64;
    for &(start, end, _) in &segments {
        check_segment(start, end, ram)?;
        image_end = image_end.max(end);
    }
    Ok(KernelInfo { pvh_entry, image_end })
}

fn check_segment(start: u64, end: u64, ram: &RamLayout) -> Result<(), ElfError> {
    if start < HIGH_RAM_START {
        return Err(ElfError::SegmentBelowHighMem(start));
    }
    if start < PCI_HOLE_END && end > PCI_HOLE_START {
        return Err(ElfError::SegmentInPciHole { start, end });
    }
    if !ram.contains(start, end) {
        let needs_mib = RamLayout::mib_needed_to_reach(end);
        return Err(ElfError::TooBig { needs_mib, mem_mib: ram.mem_mib });
    }
    Ok(())
}

/// Walk the notes of one PT_NOTE segment the way linux-loader does. Returns
/// `None` if it has no PVH note, `Some(Err)` for a malformed PVH note.
fn find_pvh_note(
    img: &(impl Image + ?Sized),
    seg_off: u64,
    seg_size: u64,
) -> Result<Option<Result<u64, ElfError>>, ElfError> {
    const WHAT: &str = "a PT_NOTE segment";
    if seg_off.checked_add(seg_size).is_none_or(|e| e > img.size()) {
        return Err(ElfError::Truncated(WHAT));
    }
    let mut pos = 0u64;
    while pos < seg_size {
        let nh: [u8; 12] = read(img, seg_off + pos, WHAT)?;
        let (namesz, descsz, n_type) = (u32_at(&nh, 0), u32_at(&nh, 4), u32_at(&nh, 8));
        let name_off = seg_off + pos + 12;
        if n_type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 {
            let name: [u8; 4] = read(img, name_off, WHAT)?;
            if name == *XEN_ELFNOTE_NAME {
                if descsz < 4 {
                    return Ok(Some(Err(ElfError::BadPvhNote(descsz))));
                }
                let desc: [u8; 4] = read(img, name_off + 4, WHAT)?;
                return Ok(Some(Ok(u64::from(u32::from_le_bytes(desc)))));
            }
        }
        let skip = 12 + u64::from(namesz).next_multiple_of(4) + u64::from(descsz).next_multiple_of(4);
        pos += skip;
    }
    Ok(None)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal ELF64 with one PT_LOAD at `paddr` holding `code`, plus
    /// `notes` PT_NOTE segments (each a PVH note with `entry`, unless `None`).
    pub fn build(paddr: u64, code: &[u8], memsz: u64, notes: &[Option<u32>]) -> Vec<u8> {
        let phnum = 1 + notes.len();
        let data_off = 64 + 56 * phnum;
        let mut note_bytes = Vec::new();
        let mut note_ranges = Vec::new();
        for n in notes {
            let start = data_off + note_bytes.len();
            let (ty, desc) = match n {
                Some(e) => (18u32, *e),
                None => (1u32, 0),
            };
            note_bytes.extend_from_slice(&4u32.to_le_bytes());
            note_bytes.extend_from_slice(&4u32.to_le_bytes());
            note_bytes.extend_from_slice(&ty.to_le_bytes());
            note_bytes.extend_from_slice(if ty == 18 { b"Xen\0" } else { b"GNU\0" });
            note_bytes.extend_from_slice(&desc.to_le_bytes());
            note_ranges.push((start, 20));
        }
        let code_off = data_off + note_bytes.len();
        let mut v = vec![0u8; 64];
        v[..4].copy_from_slice(b"\x7fELF");
        v[4] = 2;
        v[5] = 1;
        v[6] = 1;
        v[16..18].copy_from_slice(&2u16.to_le_bytes());
        v[18..20].copy_from_slice(&62u16.to_le_bytes());
        v[20..24].copy_from_slice(&1u32.to_le_bytes());
        v[24..32].copy_from_slice(&paddr.to_le_bytes());
        v[32..40].copy_from_slice(&64u64.to_le_bytes());
        v[52..54].copy_from_slice(&64u16.to_le_bytes());
        v[54..56].copy_from_slice(&56u16.to_le_bytes());
        v[56..58].copy_from_slice(&(phnum as u16).to_le_bytes());
        let mut ph = |ty: u32, off: usize, addr: u64, filesz: u64, memsz: u64| {
            let mut p = [0u8; 56];
            p[0..4].copy_from_slice(&ty.to_le_bytes());
            p[4..8].copy_from_slice(&5u32.to_le_bytes());
            p[8..16].copy_from_slice(&(off as u64).to_le_bytes());
            p[16..24].copy_from_slice(&addr.to_le_bytes());
            p[24..32].copy_from_slice(&addr.to_le_bytes());
            p[32..40].copy_from_slice(&filesz.to_le_bytes());
            p[40..48].copy_from_slice(&memsz.to_le_bytes());
            p[48..56].copy_from_slice(&4096u64.to_le_bytes());
            v.extend_from_slice(&p);
        };
        ph(1, code_off, paddr, code.len() as u64, memsz.max(code.len() as u64));
        for (start, len) in &note_ranges {
            ph(4, *start, 0, *len as u64, *len as u64);
        }
        v.extend_from_slice(&note_bytes);
        v.extend_from_slice(code);
        v
    }

    fn ram() -> RamLayout {
        RamLayout::new(256)
    }

    #[test]
    fn accepts_a_pvh_image() {
        let img = build(0x10_0000, &[0xeb, 0xfe], 0x2000, &[Some(0x10_0000)]);
        let k = check(&img[..], &ram()).unwrap();
        assert_eq!(k, KernelInfo { pvh_entry: 0x10_0000, image_end: 0x10_2000 });
    }

    #[test]
    fn rejects_bad_magic_and_short_files() {
        assert_eq!(check(&b""[..], &ram()), Err(ElfError::BadMagic));
        assert_eq!(check(&b"MZ\x90\x00 not elf"[..], &ram()), Err(ElfError::BadMagic));
        let img = build(0x10_0000, &[0xeb, 0xfe], 0, &[Some(0x10_0000)]);
        assert!(matches!(check(&img[..40], &ram()), Err(ElfError::Truncated(_))));
        assert!(matches!(check(&img[..100], &ram()), Err(ElfError::Truncated(_))));
        assert!(matches!(check(&img[..img.len() - 1], &ram()), Err(ElfError::Truncated(_))));
    }

    #[test]
    fn rejects_wrong_class_endianness_machine() {
        let good = build(0x10_0000, &[0xeb, 0xfe], 0, &[Some(0x10_0000)]);
        let mut img = good.clone();
        img[4] = 1;
        assert_eq!(check(&img[..], &ram()), Err(ElfError::Elf32));
        img[4] = 9;
        assert_eq!(check(&img[..], &ram()), Err(ElfError::BadClass(9)));
        let mut img = good.clone();
        img[5] = 2;
        assert_eq!(check(&img[..], &ram()), Err(ElfError::BigEndian));
        let mut img = good.clone();
        img[18] = 3;
        assert_eq!(check(&img[..], &ram()), Err(ElfError::NotX86_64(3)));
        let mut img = good;
        img[54] = 32;
        assert_eq!(check(&img[..], &ram()), Err(ElfError::BadPhentsize(32)));
    }

    #[test]
    fn a_missing_pvh_note_is_reported_before_placement() {
        // Like an ordinary PIE executable: segments at 0, no PVH note.
        let img = build(0, &[0xeb, 0xfe], 0, &[None]);
        assert_eq!(check(&img[..], &ram()), Err(ElfError::PvhEntryNotPresent));
    }

    #[test]
    fn rejects_missing_or_shadowed_pvh_note() {
        let img = build(0x10_0000, &[0xeb, 0xfe], 0, &[]);
        assert_eq!(check(&img[..], &ram()), Err(ElfError::PvhEntryNotPresent));
        let img = build(0x10_0000, &[0xeb, 0xfe], 0, &[None]);
        assert_eq!(check(&img[..], &ram()), Err(ElfError::PvhEntryNotPresent));
        let img = build(0x10_0000, &[0xeb, 0xfe], 0, &[Some(0x10_0000), None]);
        assert_eq!(check(&img[..], &ram()), Err(ElfError::PvhNoteShadowed));
        let img = build(0x10_0000, &[0xeb, 0xfe], 0, &[None, Some(0x10_0000)]);
        assert!(check(&img[..], &ram()).is_ok());
        let img = build(0x10_0000, &[0xeb, 0xfe], 0, &[Some(0x20_0000)]);
        assert_eq!(check(&img[..], &ram()), Err(ElfError::PvhEntryOutside(0x20_0000)));
    }

    #[test]
    fn rejects_images_larger_than_ram_counting_bss() {
        // 2 bytes of code but 300 MiB of bss: linux-loader would load it happily.
        let img = build(0x10_0000, &[0xeb, 0xfe], 300 << 20, &[Some(0x10_0000)]);
        assert_eq!(check(&img[..], &ram()), Err(ElfError::TooBig { needs_mib: 301, mem_mib: 256 }));
        assert!(check(&img[..], &RamLayout::new(301)).is_ok());
        let img = build(0x8000, &[0xeb, 0xfe], 0, &[Some(0x8000)]);
        assert_eq!(check(&img[..], &ram()), Err(ElfError::EntryBelowHighMem(0x8000)));
        // A PVH kernel with a good entry plus a second PT_LOAD below 1 MiB:
        // append a copy of the PT_LOAD header (moved to 0x8000) and a new
        // program header table [low, PT_LOAD, PT_NOTE] at the end of the file.
        let mut img = build(0x10_0000, &[0xeb, 0xfe], 0, &[Some(0x10_0000)]);
        let mut table = img[64..120].to_vec();
        table[24..32].copy_from_slice(&0x8000u64.to_le_bytes()); // p_paddr
        table.extend_from_slice(&img[64..176]);
        let phoff = img.len() as u64;
        img.extend_from_slice(&table);
        img[32..40].copy_from_slice(&phoff.to_le_bytes());
        img[56..58].copy_from_slice(&3u16.to_le_bytes());
        assert_eq!(check(&img[..], &ram()), Err(ElfError::SegmentBelowHighMem(0x8000)));
        let img = build(0xBFFF_F000, &[0; 0x2000], 0, &[Some(0xBFFF_F000)]);
        assert!(matches!(check(&img[..], &RamLayout::new(8192)), Err(ElfError::SegmentInPciHole { .. })));
    }
}
