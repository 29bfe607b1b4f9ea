//! Bad images: each gives a typed error, never a panic or a hang.

use std::path::Path;

use vireo_fs::{ext4, open, FileSystem, FsError, MountError};
use vireo_fs_tests::*;

fn mount_copy(s: &Scratch, bytes: Vec<u8>) -> Result<ext4::Ext4Fs, MountError> {
    let p = s.path("bad.img");
    std::fs::write(&p, bytes).unwrap();
    let (dev, _) = FileDev::open(&p, false);
    let _w = Watchdog::new(20, "mount");
    ext4::mount(Box::new(dev), "vda").inspect_err(|e| {
        let line = e.to_string();
        assert!(!line.is_empty() && !line.contains('\n'));
    })
}

fn set32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Recomputes the superblock checksum (so rsext4 does not stop at it first).
fn fix_sb_csum(b: &mut [u8]) {
    // crc32c without final inversion, as ext4 stores it.
    let mut crc = !0u32;
    for &x in &b[1024..1024 + 0x3FC] {
        crc ^= u32::from(x);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0x82F6_3B78 } else { crc >> 1 };
        }
    }
    set32(b, 1024 + 0x3FC, crc);
}

#[test]
fn mount_errors_are_typed() {
    let s = Scratch::new("bad");
    let img = image(&s);
    let orig = std::fs::read(&img).unwrap();
    assert!(matches!(mount_copy(&s, vec![0; 4 << 20]), Err(MountError::NotExt4)));
    let mut b = orig.clone();
    set32(&mut b, 1024 + 0x18, 0x7fff_ffff);
    fix_sb_csum(&mut b);
    assert!(matches!(mount_copy(&s, b), Err(MountError::BadSuperblock(_))));
    let mut b = orig.clone();
    set32(&mut b, 1024 + 0x20, 0);
    fix_sb_csum(&mut b);
    assert!(matches!(mount_copy(&s, b), Err(MountError::BadSuperblock(_))));
    let mut b = orig.clone();
    let incompat = u32::from_le_bytes(b[1024 + 0x60..1024 + 0x64].try_into().unwrap());
    set32(&mut b, 1024 + 0x60, incompat | 0x0002_0000);
    fix_sb_csum(&mut b);
    assert_eq!(mount_copy(&s, b).err(), Some(MountError::Unsupported(0x0002_0000)));
    let b = orig[..8 << 20].to_vec();
    assert_eq!(mount_copy(&s, b).err(), Some(MountError::Truncated { blocks: 4096, device_blocks: 2048 }));
    // A superblock whose checksum no longer matches (rsext4 checks it).
    let mut b = orig.clone();
    b[1024 + 0x100] ^= 0xff;
    assert!(mount_copy(&s, b).is_err());
}

fn image_with_many(s: &Scratch) -> std::path::PathBuf {
    let root = stage(&s.0);
    std::fs::create_dir_all(root.join("many")).unwrap();
    for i in 0..30 {
        std::fs::write(root.join(format!("many/f{i:02}")), format!("file {i}\n")).unwrap();
    }
    let img = s.path("many.img");
    mkfs(&img, &root, 16, 4096);
    img
}

fn byte_of(path: &Path, f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut b = std::fs::read(path).unwrap();
    f(&mut b);
    b
}

#[test]
fn corrupt_inode_checksum_is_corrupt_on_access() {
    let s = Scratch::new("inode");
    let img = image_with_many(&s);
    // Images e2fsprogs made pass: every inode of every file read.
    let (dev, _) = FileDev::open(&img, true);
    let mut fs = ext4::mount(Box::new(dev), "vda").unwrap();
    for i in 0..30 {
        assert_eq!(fs.stat_path(&format!("/many/f{i:02}")).unwrap().size, format!("file {i}\n").len() as u64);
    }
    drop(fs);
    let victim = inode_of(&img, "/many/f29");
    assert!(victim > 16, "inode {victim} shares a block with the root");
    for (what, off) in [("size", 0x04usize), ("first extent", 0x28 + 12 + 4)] {
        let b = byte_of(&img, |b| {
            let at = inode_offset(b, victim) + off;
            b[at] ^= 0x5a;
        });
        let mut fs = mount_copy(&s, b).unwrap();
        assert_eq!(fs.stat_path("/many/f29").unwrap_err(), FsError::Corrupt, "{what}");
        assert_eq!(fs.open("/many/f29", open::READ).unwrap_err(), FsError::Corrupt, "{what}");
        assert_eq!(fs.corrupt_inode(), Some(victim as u32));
        // Files whose inodes are in other blocks still read.
        assert_eq!(fs.stat_path("/etc/motd").unwrap().size, 18);
    }
}

#[test]
fn corrupt_directory_blocks_are_typed_errors() {
    let s = Scratch::new("dir");
    let img = image(&s);
    let blocks = |p: &str| -> u64 {
        String::from_utf8(debugfs(&img, &format!("blocks {p}")))
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let bin = blocks("/bin");
    let docs = blocks("/docs");
    let mut rng = Rng::new(7);
    let random = byte_of(&img, |b| {
        for x in &mut b[bin as usize * 4096..(bin as usize + 1) * 4096] {
            *x = rng.next_u64() as u8;
        }
    });
    let rec_len0 = byte_of(&img, |b| {
        let at = docs as usize * 4096 + 4;
        b[at..at + 2].copy_from_slice(&0u16.to_le_bytes());
    });
    for (what, bytes, dir) in [("random /bin", random, "/bin"), ("rec_len 0", rec_len0, "/docs")] {
        let mut fs = mount_copy(&s, bytes).unwrap();
        let _w = Watchdog::new(20, what);
        let list = fs.open(dir, open::READ | open::DIRECTORY).and_then(|(n, _)| fs.readdir(n, 0, &mut |_| true));
        let look = fs.stat_path(&format!("{dir}/hello"));
        let r = (list.err(), look.err());
        eprintln!("{what}: readdir {:?}, lookup {:?}", r.0, r.1);
        assert!(r.0.is_some() && r.1.is_some(), "{what}: {r:?}");
    }
}

#[test]
fn device_errors_are_io() {
    let s = Scratch::new("eio");
    let img = image(&s);
    let (dev, stats) = FileDev::open(&img, false);
    let mut fs = ext4::mount(Box::new(dev), "vda").unwrap();
    let (n, _) = fs.open("/big", open::READ).unwrap();
    stats.lock().unwrap().fail = Some((0, u64::MAX));
    let mut b = vec![0; 4096];
    assert_eq!(fs.read(n, 0, &mut b).unwrap_err(), FsError::Io);
}
