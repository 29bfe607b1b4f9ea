//! CRC32C (Castagnoli) as ext4 uses it: reflected, no final inversion
//! (`crc32c_le` in Linux), so checksums chain by passing the last value on.
//!
//! rsext4's own implementation does the work: SSE4.2 `crc32` when the CPU has
//! it (runtime cpuid check), else slicing-by-8. Our inode checks run it over
//! every in-use inode of every inode-table block read, so a bytewise table
//! loop here cost several times more per block.

/// Continues `crc` over `data`.
pub fn crc32c(crc: u32, data: &[u8]) -> u32 {
    rsext4::crc32c::crc32c_append(crc, data)
}

/// The plain bytewise definition, to check [`crc32c`] against.
#[doc(hidden)]
pub fn crc32c_reference(mut crc: u32, data: &[u8]) -> u32 {
    const POLY: u32 = 0x82F6_3B78;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ POLY } else { crc >> 1 };
        }
    }
    crc
}
