//! What both guests serve, from the same ext4 image (a virtio-blk disk for
//! each): `/srv/bench/index.html` (612 bytes, the size of nginx's default
//! page) and `/srv/bench/bulk-64m.bin` (64 MiB of a fixed xorshift sequence,
//! not zeros, which `mkfs.ext4 -d` would store as holes). The image is
//! `make disk`'s tree (build/disk-root, when it exists) plus these two,
//! made with the file-system benchmark's `mkfs.ext4` options.

use std::fs;
use std::path::Path;
use std::process::Command;

use super::super::fs::image;

/// Directory served, in the image.
pub const DIR: &str = "srv/bench";
pub const SMALL: &str = "index.html";
pub const SMALL_LEN: usize = 612;
pub const BULK: &str = "bulk-64m.bin";
pub const BULK_LEN: usize = 64 << 20;

/// The small page, padded with spaces before `</body>` to [`SMALL_LEN`].
pub fn small() -> Vec<u8> {
    let head = "<!DOCTYPE html>\n<html>\n<head>\n<title>Vireo benchmark page</title>\n<style>\n\
                body { width: 35em; margin: 0 auto; font-family: sans-serif; }\n</style>\n</head>\n<body>\n\
                <h1>It works</h1>\n<p>This page is what <code>make bench-http</code> asks for: the same \
                612 bytes from Vireo's httpd and from busybox httpd on Linux, on the same disk image.</p>\n\
                <p><em>Served for a benchmark.</em></p>\n";
    let tail = "</body>\n</html>\n";
    let pad = SMALL_LEN.saturating_sub(head.len() + tail.len());
    format!("{head}{}\n{tail}", " ".repeat(pad.saturating_sub(1))).into_bytes()
}

/// The bulk file's bytes.
pub fn bulk() -> Vec<u8> {
    let mut x: u64 = 0x5eed_b01c_0064_0001;
    let mut v = Vec::with_capacity(BULK_LEN);
    while v.len() < BULK_LEN {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(BULK_LEN);
    v
}

/// Makes the base image at `out`: a copy of `disk_root` (if any) plus the site.
pub fn make_image(out: &Path, disk_root: &Path) -> Result<(), String> {
    let stage = out.with_extension("root");
    let _ = fs::remove_dir_all(&stage);
    fs::create_dir_all(&stage).map_err(|e| format!("{}: {e}", stage.display()))?;
    if disk_root.is_dir() {
        let ok = Command::new("cp").arg("-a").arg(disk_root.join(".")).arg(&stage).status().is_ok_and(|s| s.success());
        if !ok {
            return Err(format!("cannot copy {} to {}", disk_root.display(), stage.display()));
        }
    }
    let dir = stage.join(DIR);
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    fs::write(dir.join(SMALL), small()).map_err(|e| format!("{SMALL}: {e}"))?;
    fs::write(dir.join(BULK), bulk()).map_err(|e| format!("{BULK}: {e}"))?;
    let r = image::make_base(out, &stage);
    let _ = fs::remove_dir_all(&stage);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_have_their_sizes() {
        let s = small();
        assert_eq!(s.len(), SMALL_LEN);
        assert!(s.ends_with(b"</body>\n</html>\n"));
        let b = bulk();
        assert_eq!(b.len(), BULK_LEN);
        // No all-zero 4 KiB block (it would become a hole in the image).
        assert!(b.chunks(4096).all(|c| c.iter().any(|&x| x != 0)));
        assert_eq!(b[..8], bulk()[..8]);
    }
}
