//! What the runner checks about the program before booting anything: an
//! x86-64 ELF64 static PIE without an interpreter or TLS segment, which is
//! what rustc makes for x86_64-unknown-motor and what Vireo's loader takes
//! (a Linux build has PT_INTERP, a static Linux build PT_TLS or ET_EXEC).
//! And whether it is a libtest harness (`cargo test`), which gets
//! `--nocapture`.

const ET_DYN: u16 = 3;
const EM_X86_64: u16 = 62;
const PT_INTERP: u32 = 3;
const PT_TLS: u32 = 7;

#[derive(Debug, PartialEq, Eq)]
pub enum Problem {
    NotElf,
    WrongTarget(&'static str),
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(off..off + 8)?.try_into().ok()?))
}

pub fn check(image: &[u8]) -> Result<(), Problem> {
    if image.get(..4) != Some(b"\x7fELF") {
        return Err(Problem::NotElf);
    }
    if image.get(4) != Some(&2) || image.get(5) != Some(&1) {
        return Err(Problem::WrongTarget("not a little-endian ELF64"));
    }
    let header = || -> Option<(u16, u16, u64, u16, u16)> {
        Some((u16_at(image, 16)?, u16_at(image, 18)?, u64_at(image, 32)?, u16_at(image, 54)?, u16_at(image, 56)?))
    };
    let (kind, machine, phoff, phentsize, phnum) = header().ok_or(Problem::NotElf)?;
    if machine != EM_X86_64 {
        return Err(Problem::WrongTarget("not x86-64"));
    }
    if kind != ET_DYN {
        return Err(Problem::WrongTarget("not a static PIE"));
    }
    for i in 0..u64::from(phnum) {
        let off =
            phoff.checked_add(i * u64::from(phentsize)).and_then(|o| usize::try_from(o).ok()).ok_or(Problem::NotElf)?;
        match u32_at(image, off).ok_or(Problem::NotElf)? {
            PT_INTERP => return Err(Problem::WrongTarget("it asks for an ELF interpreter: a Linux build?")),
            PT_TLS => return Err(Problem::WrongTarget("it has a TLS segment")),
            _ => {}
        }
    }
    Ok(())
}

/// libtest reads this variable, and no other std program mentions it: its
/// name is in every test harness and in nothing else cargo builds.
const LIBTEST_MARK: &[u8] = b"RUST_TEST_THREADS";

pub fn is_libtest_harness(image: &[u8]) -> bool {
    image.windows(LIBTEST_MARK.len()).any(|w| w == LIBTEST_MARK)
}

/// The arguments with `--nocapture` added for a harness, unless they say
/// how to capture already.
pub fn harness_args(args: &[String]) -> Vec<String> {
    let mut out = args.to_vec();
    if !args.iter().any(|a| a == "--nocapture" || a == "--no-capture") {
        out.push("--nocapture".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elf(kind: u16, phdr_types: &[u32]) -> Vec<u8> {
        let mut b = vec![0u8; 64 + 56 * phdr_types.len()];
        b[..6].copy_from_slice(b"\x7fELF\x02\x01");
        b[16..18].copy_from_slice(&kind.to_le_bytes());
        b[18..20].copy_from_slice(&EM_X86_64.to_le_bytes());
        b[32..40].copy_from_slice(&64u64.to_le_bytes());
        b[54..56].copy_from_slice(&56u16.to_le_bytes());
        b[56..58].copy_from_slice(&(phdr_types.len() as u16).to_le_bytes());
        for (i, t) in phdr_types.iter().enumerate() {
            b[64 + 56 * i..68 + 56 * i].copy_from_slice(&t.to_le_bytes());
        }
        b
    }

    #[test]
    fn motor_static_pie_passes_linux_builds_do_not() {
        assert_eq!(check(&elf(ET_DYN, &[1, 1, 4])), Ok(()));
        assert!(matches!(check(&elf(ET_DYN, &[6, PT_INTERP, 1])), Err(Problem::WrongTarget(_))));
        assert!(matches!(check(&elf(ET_DYN, &[1, PT_TLS])), Err(Problem::WrongTarget(_))));
        assert!(matches!(check(&elf(2, &[1])), Err(Problem::WrongTarget(_))));
        assert_eq!(check(b"#!/bin/sh\n"), Err(Problem::NotElf));
        let mut truncated = elf(ET_DYN, &[1, 1]);
        truncated.truncate(80);
        assert_eq!(check(&truncated), Err(Problem::NotElf));
    }

    #[test]
    fn harness_gets_nocapture_once() {
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(harness_args(&a(&["filter"])), a(&["filter", "--nocapture"]));
        assert_eq!(harness_args(&a(&["--no-capture"])), a(&["--no-capture"]));
        assert!(is_libtest_harness(b"..RUST_TEST_THREADS.."));
        assert!(!is_libtest_harness(b"hello world"));
    }
}
