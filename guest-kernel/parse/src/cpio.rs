//! cpio "newc" archives (`070701`, and `070702` whose checksum we do not
//! verify): a 110-byte ASCII-hex header, the NUL-terminated name padded to
//! 4 bytes, the data padded to 4 bytes, up to the entry `TRAILER!!!`.
//!
//! [`Archive::parse`] walks the whole archive once and rejects anything
//! malformed, so lookups afterwards cannot fail.
use core::fmt;

const MAGIC_NEWC: &[u8; 6] = b"070701";
const MAGIC_CRC: &[u8; 6] = b"070702";
const HEADER_LEN: usize = 110;
const TRAILER: &str = "TRAILER!!!";

/// File-type bits of `mode` (`S_IFMT`) and the regular-file type.
const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;

/// The header's 8-digit hex fields after the magic, in order.
const FIELDS: [&str; 13] = [
    "ino",
    "mode",
    "uid",
    "gid",
    "nlink",
    "mtime",
    "filesize",
    "devmajor",
    "devminor",
    "rdevmajor",
    "rdevminor",
    "namesize",
    "check",
];
const MODE: usize = 1;
const FILESIZE: usize = 6;
const NAMESIZE: usize = 11;

/// Why an archive is unusable; `offset` is the byte offset of the entry's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpioError {
    BadMagic {
        offset: usize,
    },
    BadHex {
        offset: usize,
        field: &'static str,
    },
    /// The header, name or data runs past the end of the archive.
    Truncated {
        offset: usize,
    },
    NameNotTerminated {
        offset: usize,
    },
    NameNotUtf8 {
        offset: usize,
    },
    /// The archive ended (cleanly, between entries) without `TRAILER!!!`.
    NoTrailer,
}

impl fmt::Display for CpioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMagic { offset } => write!(f, "entry at {offset:#x}: bad magic (want newc 070701/070702)"),
            Self::BadHex { offset, field } => write!(f, "entry at {offset:#x}: field {field} is not 8 hex digits"),
            Self::Truncated { offset } => write!(f, "entry at {offset:#x} runs past the end of the archive"),
            Self::NameNotTerminated { offset } => write!(f, "entry at {offset:#x}: name is not NUL-terminated"),
            Self::NameNotUtf8 { offset } => write!(f, "entry at {offset:#x}: name is not UTF-8"),
            Self::NoTrailer => write!(f, "archive ends without TRAILER!!!"),
        }
    }
}

/// One archive member.
#[derive(Clone, Copy, Debug)]
pub struct Entry<'a> {
    /// As stored (usually without a leading `/`); see [`normalize`].
    pub name: &'a str,
    pub mode: u32,
    pub data: &'a [u8],
}

impl Entry<'_> {
    pub fn is_file(&self) -> bool {
        self.mode & S_IFMT == S_IFREG
    }
}

/// A validated archive.
#[derive(Clone, Copy, Debug)]
pub struct Archive<'a> {
    /// Up to (not including) the trailer entry.
    bytes: &'a [u8],
    /// Regular files, counted while validating: every walk re-parses the
    /// headers' hex fields, which is most of the initrd's boot cost.
    files: usize,
}

impl<'a> Archive<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<Self, CpioError> {
        Self::parse_with(bytes, |_| {})
    }

    /// [`Archive::parse`], handing each entry before the trailer to `visit`
    /// as it is validated (one pass to validate and index an archive). On an
    /// error, `visit` may have seen the entries before the bad one.
    pub fn parse_with(bytes: &'a [u8], mut visit: impl FnMut(&Entry<'a>)) -> Result<Self, CpioError> {
        let mut offset = 0;
        let mut files = 0;
        loop {
            if offset >= bytes.len() {
                return Err(CpioError::NoTrailer);
            }
            let (entry, next) = parse_entry(bytes, offset)?;
            if entry.name == TRAILER {
                let bytes = bytes.get(..offset).ok_or(CpioError::Truncated { offset })?;
                return Ok(Self { bytes, files });
            }
            files += usize::from(entry.is_file());
            visit(&entry);
            offset = next;
        }
    }

    /// Entries before the trailer (files, directories, anything else).
    pub fn entries(&self) -> Entries<'a> {
        Entries { bytes: self.bytes, offset: 0 }
    }

    /// Number of regular files.
    pub fn file_count(&self) -> usize {
        self.files
    }

    /// Archive bytes up to the trailer.
    pub fn size(&self) -> usize {
        self.bytes.len()
    }

    /// The regular file called `path` (`/init`, `init` and `./init` are the same).
    pub fn find(&self, path: &str) -> Option<&'a [u8]> {
        let path = normalize(path);
        self.entries().find(|e| e.is_file() && normalize(e.name) == path).map(|e| e.data)
    }
}

/// Iterator over validated entries.
pub struct Entries<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Iterator for Entries<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        // `bytes` ends where the trailer began and every entry in it was
        // parsed once already, so `ok()` only ever stops at the end.
        let (entry, next) = parse_entry(self.bytes, self.offset).ok()?;
        self.offset = next;
        Some(entry)
    }
}

/// `path` without leading `/` and `./` (cpio tools store either or neither).
pub fn normalize(mut path: &str) -> &str {
    loop {
        if let Some(rest) = path.strip_prefix("./") {
            path = rest;
        } else if let Some(rest) = path.strip_prefix('/') {
            path = rest;
        } else {
            return path;
        }
    }
}

/// Parses the entry at `offset`; returns it and the offset of the next one.
fn parse_entry(bytes: &[u8], offset: usize) -> Result<(Entry<'_>, usize), CpioError> {
    let truncated = CpioError::Truncated { offset };
    let header = offset.checked_add(HEADER_LEN).and_then(|end| bytes.get(offset..end)).ok_or(truncated)?;
    let magic = header.get(..6).ok_or(truncated)?;
    if magic != MAGIC_NEWC && magic != MAGIC_CRC {
        return Err(CpioError::BadMagic { offset });
    }
    let mut fields = [0u32; FIELDS.len()];
    for (i, (value, name)) in fields.iter_mut().zip(FIELDS).enumerate() {
        let at = 6 + 8 * i;
        let digits = header.get(at..at + 8).ok_or(truncated)?;
        *value = parse_hex(digits).ok_or(CpioError::BadHex { offset, field: name })?;
    }
    let field = |i: usize| fields.get(i).map_or(0, |&v| v as usize);

    // The header's end: `header` above proved it does not overflow.
    let name_start = offset + HEADER_LEN;
    let name_end = name_start.checked_add(field(NAMESIZE)).ok_or(truncated)?;
    let name = bytes.get(name_start..name_end).ok_or(truncated)?;
    let Some((&0, name)) = name.split_last() else {
        return Err(CpioError::NameNotTerminated { offset });
    };
    let name = core::str::from_utf8(name).map_err(|_| CpioError::NameNotUtf8 { offset })?;

    let data_start = align4(name_end).ok_or(truncated)?;
    let size = field(FILESIZE);
    // An empty entry needs no bytes past its name: the trailer's padding
    // is often missing at the very end of an archive.
    let data = if size == 0 {
        &[][..]
    } else {
        data_start.checked_add(size).and_then(|end| bytes.get(data_start..end)).ok_or(truncated)?
    };
    let next = data_start.checked_add(size).and_then(align4).ok_or(truncated)?;
    Ok((Entry { name, mode: fields.get(MODE).copied().unwrap_or(0), data }, next))
}

fn align4(n: usize) -> Option<usize> {
    Some(n.checked_add(3)? & !3)
}

/// Eight ASCII hex digits (either case), decoded eight at a time in one
/// u64: the initrd is validated on every boot, and ring 0 may run emulated,
/// so its cost is counted in instructions (a digit-at-a-time loop made the
/// headers most of the initrd's boot cost).
fn parse_hex(digits: &[u8]) -> Option<u32> {
    const fn rep(b: u8) -> u64 {
        u64::from_ne_bytes([b; 8])
    }
    /// 0x80 in each byte of `x` (all bytes below 0x80) within `lo..=hi`.
    const fn in_range(x: u64, lo: u8, hi: u8) -> u64 {
        let at_least_lo = x + rep(0x80 - lo);
        let above_hi = x + rep(0x80 - hi - 1);
        at_least_lo & !above_hi & rep(0x80)
    }
    let x = u64::from_le_bytes(digits.try_into().ok()?);
    if x & rep(0x80) != 0 {
        return None;
    }
    let hex = in_range(x, b'0', b'9') | in_range(x, b'A', b'F') | in_range(x, b'a', b'f');
    if hex != rep(0x80) {
        return None;
    }
    // Letters have bit 6 set; their low nibble is 1..6, so add 9.
    let letters = (x & rep(0x40)) >> 6;
    let nibbles = (x & rep(0x0f)) + letters * 9;
    // The first digit is the lowest byte and the most significant nibble:
    // fold pairs of bytes, then of 16-bit and 32-bit lanes, high part first.
    let bytes = ((nibbles << 4) | (nibbles >> 8)) & 0x00ff_00ff_00ff_00ff;
    let words = ((bytes << 8) | (bytes >> 16)) & 0x0000_ffff_0000_ffff;
    Some((((words << 16) | (words >> 32)) & 0xffff_ffff) as u32)
}

#[cfg(test)]
mod hex_tests {
    use super::parse_hex;

    fn slow(d: &[u8]) -> Option<u32> {
        if d.len() != 8 {
            return None;
        }
        d.iter().try_fold(0u32, |acc, &c| Some(acc << 4 | char::from(c).to_digit(16)?))
    }

    #[test]
    fn decodes_like_the_digit_loop() {
        for s in [&b"00000000"[..], b"FFFFFFFF", b"ffffffff", b"0123abcd", b"89ABCDEF", b"0000006e", b"12345678"] {
            assert_eq!(parse_hex(s), slow(s), "{}", core::str::from_utf8(s).unwrap());
        }
        assert_eq!(parse_hex(b"0123abcd"), Some(0x0123_abcd));
    }

    #[test]
    fn refuses_every_non_hex_byte_in_every_position() {
        for pos in 0..8 {
            for b in 0..=255u8 {
                let mut d = *b"0123abcd";
                d[pos] = b;
                assert_eq!(parse_hex(&d), slow(&d), "byte {b:#x} at {pos}");
            }
        }
        assert_eq!(parse_hex(b"1234567"), None);
    }
}
