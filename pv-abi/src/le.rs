//! The one little-endian reader, for every parser of guest-shared bytes:
//! fields of ACPI tables, ELF headers and PVH structures (here, at the
//! bottom, so pv-abi's own layouts and `vireo-parse` both use it). Every read is `Option`: a field past the
//! end of a (short, older-revision or malformed) structure reads as absent,
//! and no offset, however large, can make a read panic.

pub fn u8_at(b: &[u8], off: usize) -> Option<u8> {
    b.get(off).copied()
}

pub fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    array(b, off).map(u16::from_le_bytes)
}

pub fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    array(b, off).map(u32::from_le_bytes)
}

pub fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    array(b, off).map(u64::from_le_bytes)
}

pub fn array<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
    b.get(off..off.checked_add(N)?)?.first_chunk::<N>().copied()
}
