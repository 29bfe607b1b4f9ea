//! SipHash-2-4 over whole 64-bit words: the keyed PRF that turns the
//! per-boot key into per-process seeds, and that condenses timing samples
//! into a key. Depends only on `core`, so a host test checks it against
//! std's own SipHash (`guest-userspace/host-tools/mkinitrd/tests/kernel_siphash.rs`).

fn round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13) ^ v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16) ^ v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21) ^ v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17) ^ v[2];
    v[2] = v[2].rotate_left(32);
}

fn compress(v: &mut [u64; 4], m: u64) {
    v[3] ^= m;
    round(v);
    round(v);
    v[0] ^= m;
}

/// SipHash-2-4 of `words` (as their little-endian bytes) under key (k0, k1).
pub fn siphash24(k0: u64, k1: u64, words: &[u64]) -> u64 {
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    for &m in words {
        compress(&mut v, m);
    }
    // The final block: no tail bytes, the message length (mod 256) on top.
    compress(&mut v, ((words.len() as u64).wrapping_mul(8) & 0xff) << 56);
    v[2] ^= 0xff;
    for _ in 0..4 {
        round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(deprecated)]
    fn std_siphash(k0: u64, k1: u64, words: &[u64]) -> u64 {
        use std::hash::Hasher;
        let mut h = std::hash::SipHasher::new_with_keys(k0, k1);
        for w in words {
            h.write(&w.to_le_bytes());
        }
        h.finish()
    }

    #[test]
    fn reference_vector() {
        // The SipHash paper's key 00 01 .. 0f, empty message.
        let (k0, k1) = (0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908);
        assert_eq!(siphash24(k0, k1, &[]), 0x726f_db47_dd0e_0e31);
    }

    #[test]
    fn matches_std_siphash_2_4() {
        let mut x = 0x0123_4567_89ab_cdefu64;
        for len in 0..40 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let (k0, k1) = (x, x.rotate_left(29) ^ 0x55);
            let words: Vec<u64> = (0..len as u64).map(|i| x ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).collect();
            assert_eq!(siphash24(k0, k1, &words), std_siphash(k0, k1, &words), "{len} words");
        }
    }
}
