//! Finds Vireo's raw-ABI note (`pv_abi::motor::raw_note`) in an ELF image's
//! PT_NOTE segments: the one thing that tells the kernel a program is one
//! of Vireo's own raw-ABI programs rather than a Rust std program.
//!
//! It reads only the ELF header's program-header fields and the PT_NOTE
//! segments, not the section headers, so stripping a binary changes
//! nothing. Fuzzed with the other ELF paths (`parse/fuzz`, target `elf`).
use pv_abi::motor::raw_note::{DESC_LEN, NAME, TYPE_RAW_ABI};
use pv_abi::syscall::Error;

use super::header::{PHDR_SIZE, PT_NOTE};
use crate::le::{u16_at, u32_at, u64_at};

/// `namesz`, `descsz`, `n_type`.
const NOTE_HEADER: usize = 12;

fn range(b: &[u8], off: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(off).ok()?;
    b.get(start..start.checked_add(usize::try_from(len).ok()?)?)
}

/// Whether `image` carries the raw-ABI note. Headers or a PT_NOTE past the
/// end of the file are `ElfTruncated`; a note that overruns its segment, or
/// a raw-ABI note with the wrong desc size, is `ElfBadNote`.
pub fn has_raw_abi_note(image: &[u8]) -> Result<bool, Error> {
    let phoff = u64_at(image, 0x20).ok_or(Error::ElfTruncated)?;
    let phnum = u16_at(image, 0x38).ok_or(Error::ElfTruncated)?;
    let table = range(image, phoff, u64::from(phnum) * PHDR_SIZE as u64).ok_or(Error::ElfTruncated)?;
    let mut found = false;
    for ph in table.chunks_exact(PHDR_SIZE).filter(|ph| u32_at(ph, 0) == Some(PT_NOTE)) {
        let (off, size, align) = (u64_at(ph, 8), u64_at(ph, 32), u64_at(ph, 48));
        let (Some(off), Some(size), Some(align)) = (off, size, align) else { return Err(Error::ElfTruncated) };
        let notes = range(image, off, size).ok_or(Error::ElfTruncated)?;
        found |= segment_has_raw_abi_note(notes, align)?;
    }
    Ok(found)
}

/// Walks one PT_NOTE segment. The desc and the next note start at the
/// segment's alignment, 4 or 8 (GNU ld emits `.note.gnu.property` in an
/// 8-aligned PT_NOTE), counted from the note's start as readelf does.
fn segment_has_raw_abi_note(mut notes: &[u8], align: u64) -> Result<bool, Error> {
    let pad = if align == 8 { 8 } else { 4 };
    let up = |n: usize| n.checked_next_multiple_of(pad).ok_or(Error::ElfBadNote);
    let mut found = false;
    while !notes.is_empty() {
        let (Some(namesz), Some(descsz), Some(n_type)) = (u32_at(notes, 0), u32_at(notes, 4), u32_at(notes, 8)) else {
            return Err(Error::ElfBadNote);
        };
        let (namesz, descsz) = (namesz as usize, descsz as usize);
        let name =
            NOTE_HEADER.checked_add(namesz).and_then(|end| notes.get(NOTE_HEADER..end)).ok_or(Error::ElfBadNote)?;
        let desc_at = up(NOTE_HEADER + namesz)?;
        // The last desc's padding may be missing from the segment's size.
        let desc_end = desc_at.checked_add(descsz).filter(|&e| e <= notes.len()).ok_or(Error::ElfBadNote)?;
        if name == NAME && n_type == TYPE_RAW_ABI {
            if descsz != DESC_LEN as usize {
                return Err(Error::ElfBadNote);
            }
            found = true;
        }
        notes = notes.get(up(desc_end)?..).unwrap_or(&[]);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pv_abi::motor::raw_note::RAW_ABI_VERSION;
    use std::vec;
    use std::vec::Vec;

    fn note(name: &[u8], n_type: u32, desc: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend((name.len() as u32).to_le_bytes());
        v.extend((desc.len() as u32).to_le_bytes());
        v.extend(n_type.to_le_bytes());
        v.extend(name);
        v.resize(v.len().next_multiple_of(4), 0);
        v.extend(desc);
        v.resize(v.len().next_multiple_of(4), 0);
        v
    }

    fn raw() -> Vec<u8> {
        note(NAME, TYPE_RAW_ABI, &RAW_ABI_VERSION.to_le_bytes())
    }

    fn build_id() -> Vec<u8> {
        note(b"GNU\0", 3, &[0xab; 20])
    }

    /// An ELF header whose program headers (at most 3) are one PT_NOTE per
    /// entry of `segments` (offset, size, align), then `body` at 0x100.
    fn image(segments: &[(u64, u64, u64)], body: &[u8]) -> Vec<u8> {
        let mut v = vec![0u8; 0x100];
        v[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
        v[0x38..0x3a].copy_from_slice(&(segments.len() as u16).to_le_bytes());
        for (i, &(off, size, align)) in segments.iter().enumerate() {
            let ph = &mut v[64 + i * PHDR_SIZE..][..PHDR_SIZE];
            ph[0..4].copy_from_slice(&PT_NOTE.to_le_bytes());
            ph[8..16].copy_from_slice(&off.to_le_bytes());
            ph[32..40].copy_from_slice(&size.to_le_bytes());
            ph[48..56].copy_from_slice(&align.to_le_bytes());
        }
        v.extend(body);
        v
    }

    fn one(body: &[u8]) -> Vec<u8> {
        image(&[(0x100, body.len() as u64, 4)], body)
    }

    #[test]
    fn finds_the_raw_abi_note_alone_or_after_others() {
        assert_eq!(has_raw_abi_note(&one(&raw())), Ok(true));
        assert_eq!(has_raw_abi_note(&one(&[build_id(), raw()].concat())), Ok(true));
        let two = [build_id(), raw()];
        let (a, b) = (two[0].len() as u64, two[1].len() as u64);
        assert_eq!(has_raw_abi_note(&image(&[(0x100, a, 4), (0x100 + a, b, 4)], &two.concat())), Ok(true));
    }

    #[test]
    fn std_programs_have_none() {
        assert_eq!(has_raw_abi_note(&image(&[], &[])), Ok(false));
        assert_eq!(has_raw_abi_note(&one(&build_id())), Ok(false));
        // Same name, another type; another name, same type: not the raw-ABI note.
        assert_eq!(has_raw_abi_note(&one(&note(NAME, 2, &[0; 4]))), Ok(false));
        assert_eq!(has_raw_abi_note(&one(&note(b"Vire\0", TYPE_RAW_ABI, &[0; 4]))), Ok(false));
        assert_eq!(has_raw_abi_note(&one(&[])), Ok(false));
    }

    #[test]
    fn eight_aligned_segments_pad_to_8() {
        // GNU property note: desc at 16, 12 bytes, next note at 32.
        let mut body = note(b"GNU\0", 5, &[1; 12]);
        body.resize(32, 0);
        // The raw-ABI note laid out for 8: "Vireo\0" ends at 18, desc at 24.
        let mut r = raw()[..18].to_vec();
        r.resize(24, 0);
        r.extend(RAW_ABI_VERSION.to_le_bytes());
        body.extend(&r);
        assert_eq!(has_raw_abi_note(&image(&[(0x100, body.len() as u64, 8)], &body)), Ok(true));
        // The same bytes read with 4-byte padding put the desc at 20: not the note.
        assert_eq!(has_raw_abi_note(&image(&[(0x100, body.len() as u64, 4)], &body)), Err(Error::ElfBadNote));
    }

    #[test]
    fn malformed_notes_are_typed_errors() {
        let mut r = raw();
        r[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(has_raw_abi_note(&one(&r)), Err(Error::ElfBadNote), "namesz past the segment");
        let mut r = raw();
        r[4..8].copy_from_slice(&0x1000u32.to_le_bytes());
        assert_eq!(has_raw_abi_note(&one(&r)), Err(Error::ElfBadNote), "descsz past the segment");
        assert_eq!(has_raw_abi_note(&one(&raw()[..10])), Err(Error::ElfBadNote), "header cut short");
        let wrong = note(NAME, TYPE_RAW_ABI, &[0; 8]);
        assert_eq!(has_raw_abi_note(&one(&wrong)), Err(Error::ElfBadNote), "raw-ABI desc of 8 bytes");
        let body = raw();
        let past = image(&[(0x100, body.len() as u64 + 1, 4)], &body);
        assert_eq!(has_raw_abi_note(&past), Err(Error::ElfTruncated), "segment past the file");
        let huge = image(&[(u64::MAX, 8, 4)], &body);
        assert_eq!(has_raw_abi_note(&huge), Err(Error::ElfTruncated));
        let mut no_table = one(&body);
        no_table[0x20..0x28].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(has_raw_abi_note(&no_table), Err(Error::ElfTruncated));
        assert_eq!(has_raw_abi_note(&[0x7f, b'E']), Err(Error::ElfTruncated));
    }

    #[test]
    fn no_input_panics() {
        let base = one(&[build_id(), raw()].concat());
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..100_000 {
            let mut img = base.clone();
            for _ in 0..4 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let at = (x as usize) % img.len();
                img[at] = (x >> 32) as u8;
            }
            let _ = has_raw_abi_note(&img);
        }
    }
}
