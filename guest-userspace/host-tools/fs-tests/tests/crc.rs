//! Our crc32c (rsext4's hardware/slicing-by-8 code) equals the bitwise
//! definition ext4 uses, for every length and alignment and when chained.

use vireo_fs::crc::{crc32c, crc32c_reference};
use vireo_fs_tests::pattern;

#[test]
fn crc32c_matches_the_bitwise_definition() {
    // The standard check value: crc32c("123456789") = 0xE3069283 (with the
    // usual initial and final inversion).
    assert_eq!(!crc32c(!0, b"123456789"), 0xE306_9283);
    let data = pattern(4096 + 64, 11);
    for start in 0..9 {
        for len in [0, 1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 255, 256, 1024, 4096] {
            let d = &data[start..start + len];
            for seed in [0, !0, 0x1234_5678] {
                assert_eq!(crc32c(seed, d), crc32c_reference(seed, d), "start {start} len {len}");
            }
        }
    }
    // Chaining: the checksum of a whole equals that of its parts in turn.
    let (a, b) = data.split_at(1000);
    assert_eq!(crc32c(crc32c(7, a), b), crc32c(7, &data));
}
