//! A minimal writer for the "newc" cpio format that Linux unpacks as an
//! initramfs (no compression: the kernel takes the plain archive).

/// An archive being built in memory.
#[derive(Default)]
pub struct Cpio {
    bytes: Vec<u8>,
    next_ino: u32,
}

impl Cpio {
    fn entry(&mut self, name: &str, mode: u32, nlink: u32, data: &[u8]) {
        self.next_ino += 1;
        let fields = [self.next_ino, mode, 0, 0, nlink, 0, data.len() as u32, 0, 0, 0, 0, name.len() as u32 + 1, 0];
        self.bytes.extend_from_slice(b"070701");
        for f in fields {
            self.bytes.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.bytes.extend_from_slice(name.as_bytes());
        self.bytes.push(0);
        self.pad();
        self.bytes.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.bytes.len().is_multiple_of(4) {
            self.bytes.push(0);
        }
    }

    /// A directory (`name` without a leading slash).
    pub fn dir(&mut self, name: &str) {
        self.entry(name, 0o040_755, 2, &[]);
    }

    /// A regular file with permission bits `perm`.
    pub fn file(&mut self, name: &str, perm: u32, data: &[u8]) {
        self.entry(name, 0o100_000 | (perm & 0o7777), 1, data);
    }

    /// The archive with its trailer.
    pub fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, 1, &[]);
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newc_layout() {
        let mut c = Cpio::default();
        c.dir("bin");
        c.file("init", 0o755, b"#!x\n");
        let b = c.finish();
        assert_eq!(&b[..6], b"070701");
        // Header 110 bytes + "bin\0" = 114, padded to 116.
        assert_eq!(&b[110..114], b"bin\0");
        assert_eq!(&b[116..122], b"070701");
        let init = 116 + 110;
        assert_eq!(&b[init..init + 5], b"init\0");
        // mode field (second) of the file entry: 0o100755.
        assert_eq!(&b[116 + 14..116 + 22], format!("{:08x}", 0o100_755).as_bytes());
        assert!(b.len().is_multiple_of(4));
        assert!(b.windows(10).any(|w| w == b"TRAILER!!!"));
    }
}
