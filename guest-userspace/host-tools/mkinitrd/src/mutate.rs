//! Mutated ELF images for the fuzz run (docs/fuzzing.md): copies of a real
//! program with one to three structural defects each (header fields,
//! program-header fields, PT_DYNAMIC entries, relocations, truncation, stray
//! bytes in code or data). Mutant `i` of seed `s` depends only on `(s, i)`
//! and the input, so any one can be rebuilt from the seed in the log.
use crate::elf::{DYN_SIZE, EHDR_SIZE, PHDR_SIZE, PT_DYNAMIC, PT_INTERP, PT_LOAD, PT_TLS, RELA_SIZE};

/// xorshift64* seeded through splitmix64 (the guest fuzzer's generator).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Self((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick(&mut self, v: &[u64]) -> u64 {
        v[self.below(v.len() as u64) as usize]
    }
}

fn get(b: &[u8], at: usize, n: usize) -> u64 {
    b.get(at..at + n).map_or(0, |s| s.iter().rev().fold(0, |a, &x| (a << 8) | x as u64))
}

fn put(b: &mut [u8], at: usize, n: usize, v: u64) {
    if let Some(s) = b.get_mut(at..at + n) {
        s.copy_from_slice(&v.to_le_bytes()[..n]);
    }
}

/// Values around every limit the loader checks: zero, ones, the top of
/// user space (relative to the load base 4 MiB), the kernel half, the file size.
fn boundary(r: &mut Rng, file_len: u64, old: u64) -> u64 {
    const BASE: u64 = 0x40_0000;
    const USER_END: u64 = 0x8000_0000_0000;
    match r.below(12) {
        0 => 0,
        1 => u64::MAX,
        2 => USER_END - BASE - 0x1000,
        3 => USER_END - BASE,
        4 => 0xffff_8000_0000_0000,
        5 => file_len,
        6 => file_len + 1 + r.below(0x1000),
        7 => old.wrapping_add(0x1000),
        8 => old.wrapping_sub(0x1000),
        9 => old ^ (1 << r.below(64)),
        10 => 1 << 63,
        _ => r.next(),
    }
}

/// The program headers' file offsets, if the header's table lies in the file.
fn phdrs(b: &[u8]) -> Vec<usize> {
    let off = get(b, 0x20, 8) as usize;
    let n = get(b, 0x38, 2) as usize;
    (0..n.min(64)).map(|i| off.saturating_add(i * PHDR_SIZE)).filter(|&p| p + PHDR_SIZE <= b.len()).collect()
}

/// The file offset of link address `va`, through the PT_LOAD headers.
fn file_offset(b: &[u8], va: u64) -> Option<usize> {
    phdrs(b).into_iter().find_map(|p| {
        let (off, vaddr, filesz) = (get(b, p + 8, 8), get(b, p + 16, 8), get(b, p + 32, 8));
        (get(b, p, 4) as u32 == PT_LOAD && va >= vaddr && va - vaddr < filesz).then(|| (off + va - vaddr) as usize)
    })
}

fn mutate_once(b: &mut Vec<u8>, r: &mut Rng) {
    let len = b.len() as u64;
    let ph = phdrs(b);
    match r.below(10) {
        // A bit of the ELF header.
        0 => {
            let at = r.below(EHDR_SIZE as u64) as usize;
            b[at] ^= 1 << r.below(8);
        }
        // A program-header field set to a boundary value.
        1..=3 if !ph.is_empty() => {
            let p = ph[r.below(ph.len() as u64) as usize];
            let (field, size) =
                *[(4, 4), (8, 8), (16, 8), (32, 8), (40, 8), (48, 8)].get(r.below(6) as usize).unwrap_or(&(8, 8));
            let old = get(b, p + field, size);
            put(b, p + field, size, boundary(r, len, old));
        }
        // A program header's type or flags.
        4 if !ph.is_empty() => {
            let p = ph[r.below(ph.len() as u64) as usize];
            if r.below(2) == 0 {
                let any = r.next() & 0xffff_ffff;
                let t =
                    r.pick(&[PT_LOAD as u64, PT_DYNAMIC as u64, PT_INTERP as u64, PT_TLS as u64, 0, 0x6474_e550, any]);
                put(b, p, 4, t);
            } else {
                put(b, p + 4, 4, r.below(8));
            }
        }
        // The entry point, the program-header table's place, size or count.
        5 => {
            let (at, size) =
                *[(0x18, 8), (0x20, 8), (0x36, 2), (0x38, 2)].get(r.below(4) as usize).unwrap_or(&(0x18, 8));
            let old = get(b, at, size);
            let v = if size == 2 {
                r.pick(&[0, 1, 0xffff, old + 1, old.saturating_sub(1), 57])
            } else {
                boundary(r, len, old)
            };
            put(b, at, size, v);
        }
        // A PT_DYNAMIC entry's tag or value, or a relocation it points to.
        6 => {
            let Some(dynamic) =
                ph.iter().find(|&&p| get(b, p, 4) as u32 == PT_DYNAMIC).map(|&p| get(b, p + 8, 8) as usize)
            else {
                return mutate_once(b, r);
            };
            let entries = (b.len().saturating_sub(dynamic) / DYN_SIZE).min(32) as u64;
            if entries == 0 {
                return mutate_once(b, r);
            }
            let rela = (0..entries as usize)
                .map(|i| dynamic + i * DYN_SIZE)
                .find(|&e| get(b, e, 8) == crate::elf::DT_RELA)
                .and_then(|e| file_offset(b, get(b, e + 8, 8)));
            match (rela, r.below(2)) {
                (Some(rela), 0) => {
                    let at = rela + RELA_SIZE * r.below(64) as usize;
                    let field = 8 * r.below(3) as usize;
                    let old = get(b, at + field, 8);
                    put(b, at + field, 8, boundary(r, len, old));
                }
                _ => {
                    let e = dynamic + DYN_SIZE * r.below(entries) as usize;
                    let field = 8 * r.below(2) as usize;
                    let old = get(b, e + field, 8);
                    let any = r.next();
                    let v = if field == 0 { r.pick(&[0, 7, 8, 9, 1, 0x6fff_fff9, any]) } else { boundary(r, len, old) };
                    put(b, e + field, 8, v);
                }
            }
        }
        // Cut the file short.
        7 => {
            let keep = r.below(len);
            b.truncate(keep as usize);
        }
        // Stray bytes anywhere (in code: a program that runs and crashes).
        _ => {
            let at = r.below(len) as usize;
            for k in 0..1 + r.below(8) as usize {
                if let Some(x) = b.get_mut(at + k) {
                    *x = r.next() as u8;
                }
            }
        }
    }
}

/// Mutant `index` of `image` for `seed`: one to three defects, never the
/// image unchanged.
pub fn mutant(image: &[u8], seed: u64, index: u64) -> Vec<u8> {
    let mut r = Rng::new(seed ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut b = image.to_vec();
    for _ in 0..1 + r.below(3) {
        if b.len() < 2 {
            break;
        }
        mutate_once(&mut b, &mut r);
    }
    if b == image {
        b.truncate(image.len() / 2);
    }
    b
}

/// `count` mutants of `image` for `seed`.
pub fn mutants(image: &[u8], seed: u64, count: u64) -> Vec<Vec<u8>> {
    (0..count).map(|i| mutant(image, seed, i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutants_are_reproducible_and_differ_from_the_input() {
        let img = crate::fixtures::valid().build();
        let a = mutants(&img, 42, 200);
        assert_eq!(a, mutants(&img, 42, 200), "same seed, same mutants");
        assert_ne!(a, mutants(&img, 43, 200), "another seed, other mutants");
        assert!(a.iter().all(|m| *m != img), "a mutant equal to its input");
        assert_eq!(mutant(&img, 42, 17), a[17], "a mutant depends only on (seed, index)");
    }

    #[test]
    fn most_mutants_keep_the_elf_magic() {
        // A mutant the loader refuses at the magic tests nothing behind it.
        let img = crate::fixtures::valid().build();
        let keep = mutants(&img, 7, 300).iter().filter(|m| m.starts_with(b"\x7fELF")).count();
        assert!(keep > 250, "{keep} of 300 keep the magic");
    }
}
