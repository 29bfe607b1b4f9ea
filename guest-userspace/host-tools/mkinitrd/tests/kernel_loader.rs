//! The fixtures against the kernel's own loader (`vireo_parse::elf`).
//! Checks the README's table, what a valid image maps and writes, and that
//! no mutation of a valid image makes the loader panic or map something bad.
use mkinitrd::fixtures;
use pv_abi::syscall::{layout, prot, Error};
use std::collections::BTreeMap;
use vireo_parse::elf::{load, Loaded, UserMemory};

const PAGE: u64 = 4096;

/// A fake address space: pages by number, recording every call.
#[derive(Default)]
struct Memory {
    maps: Vec<(u64, u64, u64)>,
    pages: BTreeMap<u64, Vec<u8>>,
    writes: usize,
}

impl UserMemory for Memory {
    fn map_zeroed(&mut self, va: u64, len: u64, prot: u64) -> Result<(), Error> {
        let end = va.checked_add(len).expect("mapping wraps");
        assert!(self.maps.iter().all(|&(s, l, _)| end <= s || va >= s + l), "{va:#x} mapped twice");
        self.maps.push((va, len, prot));
        Ok(())
    }

    fn write(&mut self, va: u64, bytes: &[u8]) -> Result<(), Error> {
        self.writes += 1;
        let end = va.checked_add(bytes.len() as u64).ok_or(Error::Fault)?;
        // Pages appear on first write: mutated images may map terabytes of bss.
        if !self.maps.iter().any(|&(s, l, _)| va >= s && end <= s + l) {
            return Err(Error::Fault);
        }
        for (i, b) in bytes.iter().enumerate() {
            let a = va + i as u64;
            let page = self.pages.entry(a / PAGE).or_insert_with(|| vec![0; PAGE as usize]);
            page[(a % PAGE) as usize] = *b;
        }
        Ok(())
    }
}

impl Memory {
    fn read_u64(&self, va: u64) -> u64 {
        let o = (va % PAGE) as usize;
        self.pages.get(&(va / PAGE)).map_or(0, |page| u64::from_le_bytes(page[o..o + 8].try_into().unwrap()))
    }
}

#[test]
fn every_fixture_gives_its_documented_result() {
    for f in fixtures::all() {
        let mut mem = Memory::default();
        let got = load(&f.image, layout::PROGRAM_BASE, &mut mem).map(|_| ());
        assert_eq!(got, f.expect, "fixture {}", f.name);
        if got.is_err() {
            assert!(mem.maps.is_empty() && mem.writes == 0, "{}: mapped before failing", f.name);
        }
    }
}

#[test]
fn valid_image_maps_fills_and_relocates() {
    let image = fixtures::valid().build();
    let base = layout::PROGRAM_BASE;
    let mut mem = Memory::default();
    let l = load(&image, base, &mut mem).unwrap();
    assert_eq!(l, Loaded { entry: base + 0x1000, image_start: base, image_end: base + 0x4000 });
    assert_eq!(
        mem.maps,
        [
            (base, 0x1000, prot::READ),
            (base + 0x1000, 0x1000, prot::READ | prot::EXEC),
            (base + 0x2000, 0x2000, prot::READ | prot::WRITE),
        ]
    );
    // Three segment copies and one relocation.
    assert_eq!(mem.writes, 4);
    assert_eq!(mem.read_u64(base + 0x2000), base + 0x1000, "relocated pointer");
    assert_eq!(mem.read_u64(base + 0x1000) & 0xff, 0xb8, "code copied");
    assert_eq!(mem.read_u64(base + 0x3000), 0, "bss zero");
    assert_eq!(mem.read_u64(base) & 0xffff_ffff, 0x464c_457f, "headers copied");
}

#[test]
fn base_must_be_page_aligned_and_in_user_space() {
    let image = fixtures::valid().build();
    let load_at = |base| load(&image, base, &mut Memory::default());
    assert_eq!(load_at(layout::PROGRAM_BASE + 1), Err(Error::Invalid));
    assert_eq!(load_at(0), Err(Error::ElfOutOfRange), "page 0 is below PROGRAM_BASE");
    assert_eq!(load_at(layout::USER_END - 0x2000), Err(Error::ElfOutOfRange));
    assert_eq!(load_at(!0xfff), Err(Error::ElfOutOfRange), "wraps");
    assert!(load_at(0x7000_0000_0000).is_ok());
}

#[test]
fn short_and_empty_inputs() {
    let image = fixtures::valid().build();
    let res = |b: &[u8]| load(b, layout::PROGRAM_BASE, &mut Memory::default());
    assert_eq!(res(&[]), Err(Error::ElfBadMagic));
    assert_eq!(res(b"\x7fEL"), Err(Error::ElfBadMagic));
    assert_eq!(res(b"\x7fELF"), Err(Error::ElfTruncated));
    assert_eq!(res(&image[..63]), Err(Error::ElfTruncated));
    // Every prefix fails cleanly; the whole image loads.
    for n in 0..image.len() {
        assert!(res(&image[..n]).is_err(), "prefix {n}");
    }
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const INTERESTING: [u64; 10] =
    [0, 1, 8, 24, 0x1000, 0x7fff_ffff_ffff, 0x8000_0000_0000, u64::MAX, u64::MAX - 0xfff, i64::MAX as u64];

#[test]
fn mutations_never_panic_or_map_badly() {
    let seeds: Vec<Vec<u8>> = fixtures::all().into_iter().map(|f| f.image).collect();
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let (mut ok, mut err) = (0, 0);
    for _ in 0..200_000 {
        let mut img = seeds[rng.below(seeds.len() as u64) as usize].clone();
        for _ in 0..=rng.below(4) {
            let len = img.len() as u64;
            match rng.below(5) {
                // A byte in the headers, program headers or dynamic/RELA area.
                0 => {
                    let at = [rng.below(0x200), 0x2000 + rng.below(0x78)][rng.below(2) as usize];
                    if at < len {
                        img[at as usize] = rng.next() as u8;
                    }
                }
                // An interesting 64-bit value at an aligned header/table field.
                1 | 2 => {
                    let at = [rng.below(0x200 / 8) * 8, 0x2000 + rng.below(0x78 / 8) * 8][rng.below(2) as usize];
                    let v = INTERESTING[rng.below(INTERESTING.len() as u64) as usize];
                    if at + 8 <= len {
                        img[at as usize..at as usize + 8].copy_from_slice(&v.to_le_bytes());
                    }
                }
                3 => img.truncate(rng.below(len + 1) as usize),
                _ => {
                    let at = rng.below(len.max(1));
                    if at < len {
                        img[at as usize] ^= 1 << rng.below(8);
                    }
                }
            }
        }
        let mut mem = Memory::default();
        match load(&img, layout::PROGRAM_BASE, &mut mem) {
            Ok(l) => {
                ok += 1;
                check_mappings(&mem, &l);
            }
            Err(e) => {
                err += 1;
                assert!(mem.maps.is_empty(), "{e:?} after mapping");
                assert_ne!(e, Error::Fault, "a validated write missed the mappings");
            }
        }
    }
    eprintln!("mutations: {ok} ok, {err} err");
    assert!(ok > 1000 && err > 1000, "mutations too weak or too strong: {ok} ok, {err} err");
}

fn check_mappings(mem: &Memory, l: &Loaded) {
    let mut sorted = mem.maps.clone();
    sorted.sort();
    let mut prev_end = 0;
    for &(va, len, p) in &sorted {
        assert!(va % PAGE == 0 && len % PAGE == 0 && len > 0);
        assert!(va >= layout::PROGRAM_BASE && va + len <= layout::USER_END);
        assert!(va >= prev_end, "overlap");
        assert!(p & (prot::WRITE | prot::EXEC) != prot::WRITE | prot::EXEC, "W+X mapped");
        prev_end = va + len;
    }
    assert!(sorted.iter().any(|&(va, len, p)| p & prot::EXEC != 0 && (va..va + len).contains(&l.entry)));
    assert_eq!(l.image_start, sorted[0].0);
    assert_eq!(l.image_end, prev_end);
}

/// One defect at a time on the valid image, for the paths the fixtures do not reach.
#[test]
fn edge_cases_each_give_their_error() {
    use mkinitrd::elf::*;
    use mkinitrd::fixtures::{valid, CODE, CODE_PHDR, DATA, DATA_MEMSZ, DYNAMIC, RELA};
    let case = |f: &dyn Fn(&mut Image)| {
        let mut img = valid();
        f(&mut img);
        load(&img.build(), layout::PROGRAM_BASE, &mut Memory::default()).map(|_| ())
    };
    let dyn_slot = |i: usize| DYNAMIC as usize + i * DYN_SIZE;
    type Case<'a> = (&'a str, &'a dyn Fn(&mut Image), Result<(), Error>);
    let cases: [Case; 21] = [
        ("DT_NEEDED", &|i| i.put(dyn_slot(3), &dyn_entry(1, 0)), Err(Error::ElfDynamic)),
        ("DT_RELR", &|i| i.put(dyn_slot(3), &dyn_entry(36, DATA)), Err(Error::ElfBadRelocation)),
        ("DT_REL", &|i| i.put(dyn_slot(3), &dyn_entry(17, DATA)), Err(Error::ElfBadRelocation)),
        ("RELAENT 16", &|i| i.put(dyn_slot(2), &dyn_entry(DT_RELAENT, 16)), Err(Error::ElfBadRelocation)),
        ("RELASZ 25", &|i| i.put(dyn_slot(1), &dyn_entry(DT_RELASZ, 25)), Err(Error::ElfBadRelocation)),
        ("RELA without RELASZ", &|i| i.put(dyn_slot(1), &dyn_entry(DT_NULL, 0)), Err(Error::ElfBadRelocation)),
        ("RELA past file", &|i| i.put(dyn_slot(1), &dyn_entry(DT_RELASZ, 48)), Err(Error::ElfTruncated)),
        ("RELA in bss", &|i| i.put(dyn_slot(0), &dyn_entry(DT_RELA, DATA + 0x1000)), Err(Error::ElfTruncated)),
        ("target past memsz", &|i| i.put(RELA as usize, &rela(CODE + 0x200, 8, 0)), Err(Error::ElfBadRelocation)),
        (
            "target straddles end",
            &|i| i.put(RELA as usize, &rela(DATA + DATA_MEMSZ - 4, 8, 0)),
            Err(Error::ElfBadRelocation),
        ),
        ("target wraps", &|i| i.put(RELA as usize, &rela(u64::MAX - 2, 8, 0)), Err(Error::ElfBadRelocation)),
        ("R_X86_64_NONE anywhere", &|i| i.put(RELA as usize, &rela(u64::MAX, 0, 0)), Ok(())),
        ("entry in data", &|i| i.entry = DATA, Err(Error::ElfOutOfRange)),
        ("entry past code", &|i| i.entry = CODE + 0x200, Err(Error::ElfOutOfRange)),
        ("filesz > memsz", &|i| i.phdrs[CODE_PHDR].memsz = 0x100, Err(Error::ElfOutOfRange)),
        ("no PT_LOAD", &|i| i.phdrs.retain(|p| p.p_type != PT_LOAD), Err(Error::ElfOutOfRange)),
        ("segments out of order", &|i| i.phdrs.reverse(), Ok(())),
        (
            "17 PT_LOADs",
            &|i| i.phdrs.extend((0..14).map(|k| Phdr::new(PT_LOAD, PF_R, 0, 0x10000 + k * 0x1000, 8, 8))),
            Err(Error::ElfUnsupported),
        ),
        ("e_machine 3", &|i| i.machine = 3, Err(Error::ElfUnsupported)),
        ("ET_REL", &|i| i.e_type = 1, Err(Error::ElfUnsupported)),
        // Position-dependent: loaded at its link addresses, so vaddr 0 is out of range.
        ("ET_EXEC at 0", &|i| i.e_type = 2, Err(Error::ElfOutOfRange)),
    ];
    for (name, f, want) in cases {
        assert_eq!(case(f), want, "{name}");
    }
    // e_phnum claiming 200 headers: the table runs past the end of the file.
    let mut raw = valid().build();
    raw[56..58].copy_from_slice(&200u16.to_le_bytes());
    assert_eq!(load(&raw, layout::PROGRAM_BASE, &mut Memory::default()), Err(Error::ElfTruncated));
}

#[test]
fn et_exec_ignores_base() {
    use mkinitrd::elf::*;
    use mkinitrd::fixtures::{valid, CODE, DATA, DYNAMIC, RELA};
    const LINK: u64 = 0x40_0000;
    let mut img = valid();
    img.e_type = 2;
    img.entry += LINK;
    for p in &mut img.phdrs {
        p.vaddr += LINK;
    }
    img.put(DYNAMIC as usize, &dyn_entry(DT_RELA, RELA + LINK));
    img.put(RELA as usize, &rela(DATA + LINK, R_X86_64_RELATIVE, (CODE + LINK) as i64));
    let mut mem = Memory::default();
    let l = load(&img.build(), 0x1000_0000, &mut mem).unwrap();
    assert_eq!(l.entry, LINK + CODE);
    assert_eq!(mem.read_u64(LINK + DATA), LINK + CODE, "base 0: the addend as is");
}

/// The fuzz run's mutants (mkinitrd::mutate) of the real programs, against
/// the loader on the host: thousands per second, so far more than the VM run
/// spawns. Needs the programs built (`make all`; `make test` builds them).
#[test]
fn real_program_mutants_never_panic_or_map_badly() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let programs = [
        "guest-userspace/target/x86_64-unknown-none/release/hello",
        "guest-userspace/std-programs/target/x86_64-unknown-motor/release/hello-std",
    ];
    for p in programs {
        let Ok(image) = std::fs::read(root.join(p)) else {
            eprintln!("{p} is not built (make all): skipped");
            continue;
        };
        let mut mem = Memory::default();
        let control = load(&image, layout::PROGRAM_BASE, &mut mem).expect("the unmutated program loads");
        check_mappings(&mem, &control);
        let (mut ok, mut err) = (0, 0);
        for m in mkinitrd::mutate::mutants(&image, 0xe1f, 5_000) {
            let mut mem = Memory::default();
            match load(&m, layout::PROGRAM_BASE, &mut mem) {
                Ok(l) => {
                    ok += 1;
                    check_mappings(&mem, &l);
                }
                Err(e) => {
                    err += 1;
                    assert!(mem.maps.is_empty(), "{p}: {e:?} after mapping");
                }
            }
        }
        eprintln!("{p}: 5000 mutants, {ok} load, {err} refused");
        assert!(ok > 100 && err > 100, "{p}: mutants too weak or too strong: {ok} load, {err} refused");
    }
}
