//! Writing cpio "newc" archives (magic `070701`), the format the kernel's
//! `initrd` module reads: a 110-byte header of 8-digit hex fields, the
//! NUL-terminated name, the data, each padded to 4 bytes, then `TRAILER!!!`.
//!
//! Output is reproducible: inode numbers count up from 1, times and owners are 0.
use std::collections::BTreeSet;
use std::fmt;

const MAGIC: &str = "070701";
const HEADER_LEN: usize = 110;
pub const TRAILER: &str = "TRAILER!!!";
/// Regular file, rwxr-xr-x: every file in the initrd is a program or test image.
pub const FILE_MODE: u32 = 0o100_755;
pub const DIR_MODE: u32 = 0o040_755;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CpioError {
    /// Empty, or with an empty, `.` or `..` component.
    BadPath(String),
    /// The same path twice, or a file where a directory is implied (or the reverse).
    Duplicate(String),
    /// newc sizes are 32-bit.
    TooLarge(String),
}

impl fmt::Display for CpioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadPath(p) => write!(f, "bad archive path {p:?} (empty, '.' or '..' component)"),
            Self::Duplicate(p) => write!(f, "{p:?} is in the archive twice (or is both a file and a directory)"),
            Self::TooLarge(p) => write!(f, "{p:?} is larger than 4 GiB, newc's limit"),
        }
    }
}

impl std::error::Error for CpioError {}

/// An archive being written. Parent directories are added implicitly,
/// each once, before the first file under them.
#[derive(Default)]
pub struct Writer {
    out: Vec<u8>,
    next_ino: u32,
    dirs: BTreeSet<String>,
    files: BTreeSet<String>,
}

impl Writer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a regular file at `path` (a leading `/` or `./` is dropped: cpio names are relative).
    pub fn add_file(&mut self, path: &str, data: &[u8]) -> Result<(), CpioError> {
        let path = normalize(path)?;
        if self.files.contains(&path) || self.dirs.contains(&path) {
            return Err(CpioError::Duplicate(path));
        }
        let size = u32::try_from(data.len()).map_err(|_| CpioError::TooLarge(path.clone()))?;
        let mut parent = String::new();
        for component in path.split('/').rev().skip(1).collect::<Vec<_>>().into_iter().rev() {
            if !parent.is_empty() {
                parent.push('/');
            }
            parent.push_str(component);
            if self.files.contains(&parent) {
                return Err(CpioError::Duplicate(parent));
            }
            if self.dirs.insert(parent.clone()) {
                self.entry(&parent, DIR_MODE, 2, &[], 0);
            }
        }
        self.entry(&path, FILE_MODE, 1, data, size);
        self.files.insert(path);
        Ok(())
    }

    /// Appends the trailer and returns the archive.
    pub fn finish(mut self) -> Vec<u8> {
        self.entry(TRAILER, 0, 1, &[], 0);
        self.out
    }

    fn entry(&mut self, name: &str, mode: u32, nlink: u32, data: &[u8], size: u32) {
        let ino = if name == TRAILER { 0 } else { self.next_ino + 1 };
        self.next_ino = self.next_ino.max(ino);
        // The name and its NUL; names are short, the cast cannot truncate.
        let namesize = name.len() as u32 + 1;
        let fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, namesize, 0];
        let start = self.out.len();
        self.out.extend_from_slice(MAGIC.as_bytes());
        for v in fields {
            self.out.extend_from_slice(format!("{v:08X}").as_bytes());
        }
        debug_assert_eq!(self.out.len() - start, HEADER_LEN);
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        self.pad4();
        self.out.extend_from_slice(data);
        self.pad4();
    }

    fn pad4(&mut self) {
        while !self.out.len().is_multiple_of(4) {
            self.out.push(0);
        }
    }
}

/// `path` as stored: relative, no empty, `.` or `..` components.
pub fn normalize(path: &str) -> Result<String, CpioError> {
    let mut p = path;
    while let Some(rest) = p.strip_prefix("./").or_else(|| p.strip_prefix('/')) {
        p = rest;
    }
    let ok = !p.is_empty() && p.split('/').all(|c| !c.is_empty() && c != "." && c != "..") && p != TRAILER;
    if ok {
        Ok(p.to_string())
    } else {
        Err(CpioError::BadPath(path.to_string()))
    }
}

/// One entry read back (for tests and `--list`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub mode: u32,
    pub data: Vec<u8>,
}

/// Reads an archive this module wrote (strict, panic-free; the kernel has its own reader).
pub fn read(bytes: &[u8]) -> Option<Vec<Member>> {
    let mut out = Vec::new();
    let mut off = 0usize;
    loop {
        let header = bytes.get(off..off.checked_add(HEADER_LEN)?)?;
        if header.get(..6)? != MAGIC.as_bytes() {
            return None;
        }
        let field = |i: usize| -> Option<u32> {
            let digits = std::str::from_utf8(header.get(6 + 8 * i..14 + 8 * i)?).ok()?;
            u32::from_str_radix(digits, 16).ok()
        };
        let (mode, size, namesize) = (field(1)?, field(6)? as usize, field(11)? as usize);
        let name_start = off + HEADER_LEN;
        let name = bytes.get(name_start..name_start.checked_add(namesize)?)?;
        let name = std::str::from_utf8(name.strip_suffix(&[0])?).ok()?.to_string();
        let data_start = (name_start + namesize).next_multiple_of(4);
        if name == TRAILER {
            return Some(out);
        }
        let data = bytes.get(data_start..data_start.checked_add(size)?)?.to_vec();
        off = (data_start + size).next_multiple_of(4);
        out.push(Member { name, mode, data });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_archive_is_just_the_trailer() {
        let a = Writer::new().finish();
        assert!(a.starts_with(b"070701"));
        assert_eq!(a.len() % 4, 0);
        assert_eq!(read(&a), Some(vec![]));
        // 110-byte header + "TRAILER!!!\0" (11) padded to 124.
        assert_eq!(a.len(), 124);
    }

    #[test]
    fn header_fields_are_8_hex_digits() {
        let mut w = Writer::new();
        w.add_file("init", b"abc").unwrap();
        let a = w.finish();
        let h = std::str::from_utf8(&a[..HEADER_LEN]).unwrap();
        assert_eq!(&h[6..14], "00000001", "ino");
        assert_eq!(&h[14..22], "000081ED", "mode 0100755");
        assert_eq!(&h[54..62], "00000003", "filesize");
        assert_eq!(&h[94..102], "00000005", "namesize includes the NUL");
        // Name at 110, padded to 116; data at 116, padded to 120.
        assert_eq!(&a[110..115], b"init\0");
        assert_eq!(&a[116..119], b"abc");
        assert_eq!(a[119], 0);
        assert_eq!(&a[120..126], b"070701");
    }

    #[test]
    fn round_trip_with_implied_directories() {
        let mut w = Writer::new();
        w.add_file("/init", b"\x7fELF init").unwrap();
        w.add_file("test/elf/tls", &[1, 2, 3, 4, 5]).unwrap();
        w.add_file("./test/elf/overlap", &[]).unwrap();
        w.add_file("bin/sh", &vec![0xaa; 4097]).unwrap();
        let m = read(&w.finish()).unwrap();
        let names: Vec<_> = m.iter().map(|m| (m.name.as_str(), m.mode)).collect();
        assert_eq!(
            names,
            [
                ("init", FILE_MODE),
                ("test", DIR_MODE),
                ("test/elf", DIR_MODE),
                ("test/elf/tls", FILE_MODE),
                ("test/elf/overlap", FILE_MODE),
                ("bin", DIR_MODE),
                ("bin/sh", FILE_MODE),
            ]
        );
        assert_eq!(m[0].data, b"\x7fELF init");
        assert_eq!(m[3].data, [1, 2, 3, 4, 5]);
        assert!(m[4].data.is_empty());
        assert_eq!(m[6].data.len(), 4097);
    }

    #[test]
    fn bad_and_duplicate_paths_are_refused() {
        let mut w = Writer::new();
        for bad in ["", "/", "a//b", "a/../b", "a/./b", "a/", "TRAILER!!!"] {
            assert_eq!(w.add_file(bad, b""), Err(CpioError::BadPath(bad.into())), "{bad:?}");
        }
        w.add_file("a/b", b"").unwrap();
        assert_eq!(w.add_file("/a/b", b""), Err(CpioError::Duplicate("a/b".into())));
        assert_eq!(w.add_file("a", b""), Err(CpioError::Duplicate("a".into())));
        assert_eq!(w.add_file("a/b/c", b""), Err(CpioError::Duplicate("a/b".into())));
    }

    #[test]
    fn output_is_reproducible() {
        let build = || {
            let mut w = Writer::new();
            w.add_file("x/y", b"1").unwrap();
            w.finish()
        };
        assert_eq!(build(), build());
    }
}
