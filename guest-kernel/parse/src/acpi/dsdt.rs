//! The one thing read from the DSDT: S5's SLP_TYP values in
//! `Name (_S5_, Package () { SLP_TYPa, SLP_TYPb, ... })`.
//!
//! Interpreting AML is far more code and emulated instructions than this
//! needs. The common lean technique is to find the bytes `_S5_` followed by
//! PackageOp and decode the package's first integers, and every VMM we
//! target emits exactly that form:
//! - QEMU q35/pc: `Package (4) { Zero, Zero, Zero, Zero }` (`12 06 04 00 00 00 00`);
//! - QEMU microvm: `Package (1) { 5 }` (`12 04 01 0A 05`);
//! - Cloud Hypervisor: `Package (1) { 5 }`; vmm-harness: `Package (4) { 5, 0, 0, 0 }`.
use super::error::AcpiError;
use super::sdt::{add_block, add_blocks, fold_lanes, halves};
use crate::le;

/// `_S5_` then PackageOp.
const PATTERN: [u8; 5] = *b"_S5_\x12";
/// Offset of `'5'` in [`PATTERN`]: the byte the fast scan looks for.
const KEY_AT: usize = 2;

const ZERO_OP: u8 = 0x00;
const ONE_OP: u8 = 0x01;
const BYTE_PREFIX: u8 = 0x0A;
const WORD_PREFIX: u8 = 0x0B;
const DWORD_PREFIX: u8 = 0x0C;

/// The result of the single pass over the DSDT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scan {
    /// Byte sum of the whole table (0 when valid).
    pub checksum: u8,
    /// Offset of the first `_S5_` followed by PackageOp.
    pub s5: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct S5 {
    pub slp_typ_a: u8,
    pub slp_typ_b: u8,
}

/// Checksums the table and finds `_S5_` in one pass, 16 bytes per step.
///
/// A DSDT is the largest table we touch (8.5 KiB on QEMU q35, several KiB
/// on Cloud Hypervisor), and ring 0 is emulated on our KVM host: two
/// byte-at-a-time passes would cost several instructions per byte. Until
/// `_S5_` is found, each 16-byte block feeds the checksum lanes and a "has
/// a byte equal to '5'" test per word, and only blocks holding a '5' are
/// looked at byte by byte; after that the rest is only summed.
pub fn scan(table: &[u8]) -> Scan {
    // 16 bytes per step: one branch and one lane mask per two words.
    let (blocks, tail) = table.as_chunks::<16>();
    let mut lanes = 0u64;
    let mut s5 = None;
    let mut rest = blocks;
    while let Some((block, after)) = rest.split_first() {
        rest = after;
        let (lo, hi) = halves(block);
        lanes = add_block(lanes, lo, hi);
        if has_key(lo) | has_key(hi) {
            let at = (blocks.len() - rest.len() - 1) * 16;
            s5 = find_key_in(table, at, 16);
            if s5.is_some() {
                break;
            }
        }
    }
    lanes = add_blocks(lanes, rest);
    if s5.is_none() {
        s5 = find_key_in(table, blocks.len() * 16, tail.len());
    }
    let checksum = tail.iter().fold(fold_lanes(lanes), |s, &b| s.wrapping_add(b));
    Scan { checksum, s5 }
}

/// Whether some byte of `v` is the key byte: the zero-byte test on `v ^ keys`,
/// exact about whether there is one.
#[inline(always)]
fn has_key(v: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let x = v ^ (ONES * PATTERN[KEY_AT] as u64);
    x.wrapping_sub(ONES) & !x & HIGHS != 0
}

/// The first match of [`PATTERN`] whose key byte lies in `start..start + n`.
/// Out of line and cold so the scan loop keeps its registers.
#[cold]
#[inline(never)]
fn find_key_in(table: &[u8], start: usize, n: usize) -> Option<usize> {
    (start..start.saturating_add(n)).find_map(|key| {
        let pos = key.checked_sub(KEY_AT)?;
        (table.get(pos..pos.checked_add(PATTERN.len())?)? == PATTERN).then_some(pos)
    })
}

/// Straightforward byte-by-byte search, for the selftest to check [`scan`] against.
pub fn find_slow(table: &[u8]) -> Option<usize> {
    table.windows(PATTERN.len()).position(|w| w == PATTERN)
}

/// Decodes the package after the `_S5_` found at `pos` (as returned by [`scan`]).
/// A one-element package gives SLP_TYPb = SLP_TYPa.
pub fn decode(table: &[u8], pos: usize) -> Result<S5, AcpiError> {
    let err = |why| AcpiError::BadS5 { offset: pos, why };
    // PkgLength (ACPI 6.5 20.2.4): bits 7-6 of the lead byte count the
    // follow-on bytes; with none, bits 5-0 are the length, otherwise bits 3-0
    // are its low nibble. The length counts from the lead byte on.
    let at = pos.checked_add(PATTERN.len()).ok_or(err("truncated package length"))?;
    let lead = le::u8_at(table, at).ok_or(err("truncated package length"))?;
    let extra = usize::from(lead >> 6);
    let mut pkg_len = usize::from(if extra == 0 { lead & 0x3F } else { lead & 0x0F });
    for k in 0..extra {
        let b = le::u8_at(table, at.saturating_add(1 + k)).ok_or(err("truncated package length"))?;
        pkg_len |= usize::from(b) << (4 + 8 * k);
    }
    let pkg = table.get(..at.saturating_add(pkg_len)).ok_or(err("package runs past the table"))?;
    let count_at = at + 1 + extra;
    let count = le::u8_at(pkg, count_at).ok_or(err("package has no element count"))?;
    if count == 0 {
        return Err(err("empty package"));
    }
    let (a, next) = element(pkg, count_at.saturating_add(1)).ok_or(err("SLP_TYPa is not a small integer"))?;
    let b = match count {
        1 => a,
        _ => element(pkg, next).ok_or(err("SLP_TYPb is not a small integer"))?.0,
    };
    Ok(S5 { slp_typ_a: a, slp_typ_b: b })
}

/// One integer element at `p`: its value (it must fit a byte) and the offset after it.
fn element(pkg: &[u8], p: usize) -> Option<(u8, usize)> {
    match le::u8_at(pkg, p)? {
        // `p` indexes a byte of `pkg`, so `p + 5` cannot overflow.
        BYTE_PREFIX => Some((le::u8_at(pkg, p + 1)?, p + 2)),
        WORD_PREFIX => Some((u8::try_from(le::u16_at(pkg, p + 1)?).ok()?, p + 3)),
        DWORD_PREFIX => Some((u8::try_from(le::u32_at(pkg, p + 1)?).ok()?, p + 5)),
        // ZeroOp and OneOp, and the bare small values some firmware emits.
        v @ (ZERO_OP | ONE_OP | 2..=7) => Some((v, p + 1)),
        _ => None,
    }
}
