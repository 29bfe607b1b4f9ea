//! Data patterns and error-kind expectations shared by the checks.
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, ErrorKind, Read};
use std::path::Path;

/// A value from std's per-process random keys (no crate needed).
pub fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(0x5eed);
    h.finish()
}

/// splitmix64: a cheap, well-mixed function of its input.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The byte at file offset `pos` of the pattern named by `seed`: any chunk of
/// a file can be checked without the rest.
pub fn pattern_byte(seed: u64, pos: u64) -> u8 {
    (mix(seed ^ (pos >> 3).wrapping_mul(0x100_0000_01b3)) >> ((pos & 7) * 8)) as u8
}

/// Fills `buf` with the pattern bytes at offsets `pos..pos + buf.len()`.
pub fn fill(seed: u64, pos: u64, buf: &mut [u8]) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b = pattern_byte(seed, pos + i as u64);
    }
}

/// `len` bytes of pattern `seed` from offset 0.
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0; len];
    fill(seed, 0, &mut v);
    v
}

/// The first offset where `got` differs from pattern `seed` at `pos`, if any.
pub fn mismatch(seed: u64, pos: u64, got: &[u8]) -> Option<u64> {
    got.iter().enumerate().find(|&(i, &b)| b != pattern_byte(seed, pos + i as u64)).map(|(i, _)| pos + i as u64)
}

/// FNV-1a over `data`, continuing from `h`.
pub fn fnv(mut h: u64, data: &[u8]) -> u64 {
    for &b in data {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    h
}

pub const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// `r` must be an error of kind `kind`.
pub fn want_kind<T: std::fmt::Debug>(r: io::Result<T>, kind: ErrorKind, what: &str) -> Result<(), String> {
    match r {
        Err(e) if e.kind() == kind => Ok(()),
        Err(e) => Err(format!("{what}: want {kind:?}, got {:?} ({e})", e.kind())),
        Ok(v) => Err(format!("{what}: want {kind:?}, got success ({v:?})")),
    }
}

/// `r` must be some error (a kind moto-rt v16 cannot express); returns the
/// kind that came back, for the report.
pub fn want_err<T: std::fmt::Debug>(r: io::Result<T>, what: &str) -> Result<String, String> {
    match r {
        Err(e) => Ok(format!("{what}: {:?}", e.kind())),
        Ok(v) => Err(format!("{what}: want an error, got success ({v:?})")),
    }
}

/// Wraps an io error with what was being done.
pub fn ctx<T>(r: io::Result<T>, what: impl std::fmt::Display) -> Result<T, String> {
    r.map_err(|e| format!("{what}: {e} ({:?})", e.kind()))
}

/// The whole content of `path`, read through a `File`.
pub fn read_all(path: &Path) -> Result<Vec<u8>, String> {
    let mut f = ctx(std::fs::File::open(path), format!("open {}", path.display()))?;
    let mut v = Vec::new();
    ctx(f.read_to_end(&mut v), format!("read {}", path.display()))?;
    Ok(v)
}

/// True on the Linux host build, where a root user bypasses file permissions
/// and some kinds differ; the Vireo build is strict.
pub const ON_HOST: bool = cfg!(target_os = "linux");
