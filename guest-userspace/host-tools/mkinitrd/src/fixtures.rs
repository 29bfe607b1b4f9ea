//! Malformed ELF test images for the kernel's loader. Each is the valid
//! static PIE [`valid`] with exactly one defect, so exactly one check can
//! fire; `ok` is that image unchanged, the control that proves the rest
//! of each fixture is valid. Results assume the kernel loads programs at
//! `layout::PROGRAM_BASE`. README.md has the same table.
use crate::elf::*;
use pv_abi::syscall::{layout, Error};

/// Where fixtures go in the initrd.
pub const DIR: &str = "test/elf";

pub struct Fixture {
    pub name: &'static str,
    /// What `loader::load(image, PROGRAM_BASE, ..)` must return.
    pub expect: Result<(), Error>,
    pub image: Vec<u8>,
}

// The valid image's layout (file offset = link address, like lld's output):
//   0x0000  R   headers (PT_LOAD covering the first page)
//   0x1000  RX  code: exit(0) through Vireo's `Exit` system call
//   0x2000  RW  a pointer relocated to the code, PT_DYNAMIC, the RELA table, then bss
pub const CODE: u64 = 0x1000;
pub const DATA: u64 = 0x2000;
pub const DYNAMIC: u64 = DATA + 0x10;
pub const RELA: u64 = DATA + 0x60;
pub const DATA_FILESZ: u64 = 0x78;
pub const DATA_MEMSZ: u64 = 0x1800;
/// Unused by the valid image; the `interp` fixture's PT_INTERP names it.
const INTERP_PATH: u64 = CODE + 0x100;
/// Vireo's raw-ABI note (in the header page, after the headers): fixtures
/// are raw programs, so the kernel gives them no std runtime.
pub const NOTE: u64 = 0x400;

/// `mov eax, 2 (Sys::Exit); xor edi, edi; syscall; ud2`.
const EXIT0: [u8; 11] = [0xb8, 0x02, 0x00, 0x00, 0x00, 0x31, 0xff, 0x0f, 0x05, 0x0f, 0x0b];

/// Index of the RX segment in [`valid`]'s program headers.
pub const CODE_PHDR: usize = 1;

/// Vireo's raw-ABI note as `vireo-rt` emits it (`pv_abi::motor::raw_note`).
fn raw_abi_note() -> Vec<u8> {
    use pv_abi::motor::raw_note::NOTE as N;
    let header = [N.namesz, N.descsz, N.n_type].map(u32::to_le_bytes);
    [&header.concat()[..], &N.name, &N.desc.to_le_bytes()].concat()
}

/// A valid static PIE: 3 PT_LOADs, PT_DYNAMIC with one R_X86_64_RELATIVE,
/// PT_GNU_STACK, and a PT_NOTE with Vireo's raw-ABI note.
pub fn valid() -> Image {
    let mut img = Image::new();
    let note = raw_abi_note();
    img.entry = CODE;
    img.phdrs = vec![
        Phdr::new(PT_LOAD, PF_R, 0, 0, 0x1000, 0x1000),
        Phdr::new(PT_LOAD, PF_R | PF_X, CODE, CODE, 0x200, 0x200),
        Phdr::new(PT_LOAD, PF_R | PF_W, DATA, DATA, DATA_FILESZ, DATA_MEMSZ),
        Phdr::new(PT_DYNAMIC, PF_R | PF_W, DYNAMIC, DYNAMIC, 0x40, 0x40),
        Phdr::new(PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0),
        Phdr { align: 4, ..Phdr::new(PT_NOTE, PF_R, NOTE, NOTE, note.len() as u64, note.len() as u64) },
    ];
    img.put(NOTE as usize, &note);
    img.put(CODE as usize, &EXIT0);
    img.put(INTERP_PATH as usize, b"/lib/ld-linux-x86-64.so.2\0");
    let dynamic = [
        dyn_entry(DT_RELA, RELA),
        dyn_entry(DT_RELASZ, RELA_SIZE as u64),
        dyn_entry(DT_RELAENT, RELA_SIZE as u64),
        dyn_entry(DT_NULL, 0),
    ];
    img.put(DYNAMIC as usize, &dynamic.concat());
    // The pointer at DATA becomes base + CODE.
    img.put(RELA as usize, &rela(DATA, R_X86_64_RELATIVE, CODE as i64));
    debug_assert_eq!(img.body.len() as u64, DATA + DATA_FILESZ);
    img
}

/// An extra read-only PT_LOAD of 16 code bytes at `vaddr`.
fn extra_load(vaddr: u64) -> Phdr {
    Phdr::new(PT_LOAD, PF_R, CODE, vaddr, 0x10, 0x10)
}

/// All fixtures, in the README's order.
pub fn all() -> Vec<Fixture> {
    let fixture = |name, expect, image: Vec<u8>| Fixture { name, expect, image };
    let with = |f: &dyn Fn(&mut Image)| {
        let mut img = valid();
        f(&mut img);
        img.build()
    };
    let mut truncated = valid().build();
    // Cut inside the RW segment's file bytes (and PT_DYNAMIC's).
    truncated.truncate(DATA as usize + 0x40);
    vec![
        fixture("ok", Ok(()), valid().build()),
        // Valid too: a segment with no access at all must still be filled
        // by the loader (found by the mutated-ELF fuzz run).
        fixture("no-access-headers", Ok(()), with(&|i| i.phdrs[0].flags = 0)),
        fixture("bad-magic", Err(Error::ElfBadMagic), with(&|i| i.magic = *b"\x7fBAD")),
        fixture("elf32", Err(Error::ElfUnsupported), with(&|i| i.class = ELFCLASS32)),
        fixture("truncated", Err(Error::ElfTruncated), truncated),
        // Shares the code segment's page.
        fixture("overlap", Err(Error::ElfOverlap), with(&|i| i.phdrs.push(extra_load(CODE + 0x800)))),
        // Kernel half: above USER_END.
        fixture("out-of-range", Err(Error::ElfOutOfRange), with(&|i| i.phdrs.push(extra_load(0xffff_8000_0000_0000)))),
        // Code in the last page below the canonical boundary: a `syscall`
        // in its last bytes would return to a non-canonical address.
        fixture(
            "last-page",
            Err(Error::ElfOutOfRange),
            with(&|i| {
                let top = layout::LOWER_HALF_END - layout::PROGRAM_BASE;
                i.phdrs.push(Phdr::new(PT_LOAD, PF_R | PF_X, CODE, top - 0x10, 0x10, 0x10))
            }),
        ),
        fixture(
            "bad-reloc",
            Err(Error::ElfBadRelocation),
            with(&|i| i.put(RELA as usize, &rela(DATA, R_X86_64_64, CODE as i64))),
        ),
        fixture("tls", Err(Error::ElfTls), with(&|i| i.phdrs.push(Phdr::new(PT_TLS, PF_R, DATA, DATA, 8, 16)))),
        fixture("write-exec", Err(Error::ElfWriteExec), with(&|i| i.phdrs[CODE_PHDR].flags = PF_R | PF_W | PF_X)),
        fixture(
            "interp",
            Err(Error::ElfDynamic),
            with(&|i| i.phdrs.insert(0, Phdr::new(PT_INTERP, PF_R, INTERP_PATH, INTERP_PATH, 26, 26))),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_each_differs_from_ok() {
        let all = all();
        let ok = &all[0].image;
        for (i, f) in all.iter().enumerate() {
            assert!(all[..i].iter().all(|g| g.name != f.name), "{} twice", f.name);
            assert!(i == 0 || &f.image != ok, "{} is the control image", f.name);
        }
        assert_eq!(all.len(), 12);
    }

    #[test]
    fn valid_image_layout() {
        let b = valid().build();
        assert_eq!(b.len() as u64, DATA + DATA_FILESZ);
        assert_eq!(&b[CODE as usize..CODE as usize + EXIT0.len()], EXIT0);
        let r = &b[RELA as usize..RELA as usize + RELA_SIZE];
        assert_eq!(r, rela(DATA, R_X86_64_RELATIVE, CODE as i64));
        // The header plus 6 program headers (7 in `interp`) come before the note.
        const { assert!(EHDR_SIZE + 7 * PHDR_SIZE <= NOTE as usize) };
    }
}
