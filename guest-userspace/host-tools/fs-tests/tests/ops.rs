//! Every FileSystem op against an image mkfs.ext4 made; then `e2fsck -fn`
//! must be clean and debugfs and ext4-view must read back what was written.

use vireo_fs::{ext4, open, FileSystem, FsError};
use vireo_fs_tests::*;
use vireo_io_channel::{kind, Status};

const RW: u64 = open::READ | open::WRITE;

fn now() -> u64 {
    1_750_000_000_123_000_000
}

fn list(fs: &mut dyn FileSystem, dir: &str) -> Vec<(String, u8)> {
    let (node, _) = fs.open(dir, open::READ | open::DIRECTORY).unwrap();
    let mut out = Vec::new();
    let mut cursor = 0;
    loop {
        // Room for 3 entries per call, to exercise resumption.
        let mut room = 3;
        let (next, end) = fs
            .readdir(node, cursor, &mut |e| {
                if room == 0 {
                    return false;
                }
                room -= 1;
                out.push((String::from_utf8(e.name.to_vec()).unwrap(), e.kind));
                true
            })
            .unwrap();
        cursor = next;
        if end {
            break;
        }
    }
    fs.close(node).unwrap();
    out.sort();
    out
}

#[test]
fn every_op_then_e2fsck_debugfs_and_ext4_view() {
    let s = Scratch::new("ops");
    let img = image(&s);
    let (dev, _) = FileDev::open(&img, false);
    let mut fs = ext4::mount(Box::new(dev), "vda").unwrap();
    fs.set_clock(now);
    assert_eq!(fs.describe(), "ext4 on vda, 16 MiB, read-write");
    assert!(!fs.read_only());

    // Reading what mkfs wrote.
    let (hello, a) = fs.open("/bin/hello", open::READ).unwrap();
    assert_eq!((a.size, a.kind, a.mode), (20 * 1024, kind::FILE, 0o644));
    let mut buf = vec![0; 32 * 1024];
    assert_eq!(fs.read(hello, 0, &mut buf).unwrap(), 20 * 1024);
    assert_eq!(&buf[..20 * 1024], &pattern(20 * 1024, 7)[..]);
    assert_eq!(fs.read(hello, 20 * 1024, &mut buf).unwrap(), 0);
    fs.close(hello).unwrap();
    let root = list(&mut fs, "/");
    for n in ["bin", "etc", "docs", "big", "lost+found"] {
        assert!(root.iter().any(|(e, _)| e == n), "{n} missing from / {root:?}");
    }
    assert!(!root.iter().any(|(e, _)| e == "." || e == ".."));

    // Open flag rules.
    assert_eq!(fs.open("/bin", open::READ).unwrap_err(), FsError::IsADirectory);
    assert_eq!(fs.open("/bin", open::WRITE | open::DIRECTORY).unwrap_err(), FsError::IsADirectory);
    assert_eq!(fs.open("/etc/motd", open::READ | open::DIRECTORY).unwrap_err(), FsError::NotADirectory);
    assert_eq!(fs.open("/n", open::READ | open::CREATE).unwrap_err(), FsError::InvalidArgument);
    assert_eq!(fs.open("/etc/motd", open::READ | open::TRUNCATE).unwrap_err(), FsError::InvalidArgument);
    assert_eq!(fs.open("/etc/motd/x", open::READ).unwrap_err(), FsError::NotADirectory);
    assert_eq!(fs.open("/nope", open::READ).unwrap_err(), FsError::NotFound);
    let long = format!("/{}", "x".repeat(256));
    assert_eq!(fs.open(&long, RW | open::CREATE).unwrap_err(), FsError::InvalidName);
    assert_eq!(fs.open("/etc/motd", RW | open::CREATE | open::EXCLUSIVE).unwrap_err(), FsError::AlreadyExists);

    // Create, write, append, stat, times.
    let (f, a) = fs.open("/new.txt", RW | open::CREATE | open::EXCLUSIVE).unwrap();
    assert_eq!(a.size, 0);
    assert_eq!(fs.write(f, 0, b"hello ").unwrap(), 6);
    assert_eq!(fs.append(f, b"world").unwrap(), (5, 11));
    let a = fs.stat(f).unwrap();
    assert_eq!(a.size, 11);
    assert_eq!(a.modified_ns, now() / 1_000_000_000 * 1_000_000_000, "mtime from the caller's clock");
    let mut b = [0u8; 16];
    assert_eq!(fs.read(f, 0, &mut b).unwrap(), 11);
    assert_eq!(&b[..11], b"hello world");
    // A write far out leaves a hole.
    fs.write(f, 100_000, b"tail").unwrap();
    assert_eq!(fs.stat(f).unwrap().size, 100_004);
    fs.truncate(f, 11).unwrap();
    assert_eq!(fs.stat_path("/new.txt").unwrap().size, 11);
    fs.set_mode(f, 0o600).unwrap();
    assert_eq!(fs.stat(f).unwrap().mode, 0o600);
    assert_eq!(fs.set_mode(f, 0o170000).unwrap_err(), FsError::InvalidArgument);
    fs.sync(f, false).unwrap();
    fs.close(f).unwrap();
    // Truncate on open.
    let (t, a) = fs.open("/docs/a.txt", RW | open::TRUNCATE).unwrap();
    assert_eq!(a.size, 0);
    fs.write(t, 0, b"beta\n").unwrap();
    fs.close(t).unwrap();

    // Directories.
    fs.mkdir("/d", 0o750).unwrap();
    assert_eq!(fs.mkdir("/d", 0o750).unwrap_err(), FsError::AlreadyExists);
    assert_eq!(fs.stat_path("/d").unwrap().mode, 0o750);
    fs.mkdir("/d/e", 0o755).unwrap();
    for i in 0..40 {
        let (n, _) = fs.open(&format!("/d/f{i:02}"), RW | open::CREATE).unwrap();
        fs.write(n, 0, format!("file {i}\n").as_bytes()).unwrap();
        fs.close(n).unwrap();
    }
    let listed = list(&mut fs, "/d");
    assert_eq!(listed.len(), 41, "{listed:?}");
    assert!(listed.contains(&("e".into(), kind::DIRECTORY)));
    assert_eq!(fs.rmdir("/d").unwrap_err(), FsError::DirectoryNotEmpty);
    assert_eq!(fs.rmdir("/d/f00").unwrap_err(), FsError::NotADirectory);
    assert_eq!(fs.unlink("/d/e").unwrap_err(), FsError::IsADirectory);
    fs.set_mode_path("/d/e", 0o700).unwrap();
    assert_eq!(fs.stat_path("/d/e").unwrap().mode, 0o700);

    // Rename: plain, replacing (atomic), no-replace, file over dir, dir over non-empty dir.
    fs.rename("/d/f00", "/d/g00", false).unwrap();
    assert_eq!(fs.stat_path("/d/f00").unwrap_err(), FsError::NotFound);
    fs.rename("/d/f01", "/d/g00", false).unwrap();
    assert_eq!(fs.rename("/d/f02", "/d/g00", true).unwrap_err(), FsError::AlreadyExists);
    assert_eq!(fs.rename("/d/f02", "/d/e", false).unwrap_err(), FsError::IsADirectory);
    fs.mkdir("/x", 0o755).unwrap();
    assert_eq!(fs.rename("/x", "/d", false).unwrap_err(), FsError::DirectoryNotEmpty);
    fs.rename("/x", "/d/e2", false).unwrap();
    fs.rmdir("/d/e2").unwrap();

    // Unlink an open file: data stays readable until the last close.
    let (o, _) = fs.open("/d/f03", open::READ).unwrap();
    fs.unlink("/d/f03").unwrap();
    assert_eq!(fs.stat_path("/d/f03").unwrap_err(), FsError::NotFound);
    let mut b = [0u8; 16];
    assert_eq!(fs.read(o, 0, &mut b).unwrap(), 7);
    assert_eq!(&b[..7], b"file 3\n");
    fs.close(o).unwrap();
    for i in 4..10 {
        fs.unlink(&format!("/d/f{i:02}")).unwrap();
    }
    assert_eq!(fs.unlink("/d/f04").unwrap_err(), FsError::NotFound);

    // A 1 MiB file in 64 KiB writes, renamed into place.
    let (m, _) = fs.open("/m.tmp", RW | open::CREATE).unwrap();
    let big = pattern(1 << 20, 11);
    for (i, c) in big.chunks(64 * 1024).enumerate() {
        fs.write(m, (i * 64 * 1024) as u64, c).unwrap();
    }
    fs.sync(m, true).unwrap();
    fs.close(m).unwrap();
    fs.rename("/m.tmp", "/m.bin", false).unwrap();
    fs.unmount().unwrap();
    assert_eq!(fs.stat_path("/").unwrap_err(), FsError::Io, "unmounted");

    assert_clean(&img);
    assert_eq!(debugfs(&img, "cat /new.txt"), b"hello world");
    assert_eq!(debugfs(&img, "cat /docs/a.txt"), b"beta\n");
    assert_eq!(debugfs(&img, "cat /d/g00"), b"file 1\n");
    assert_eq!(debugfs(&img, "cat /m.bin"), big);
    let ls = String::from_utf8(debugfs(&img, "ls -l /d")).unwrap();
    assert!(!ls.contains("f03") && ls.contains("f39") && ls.lines().any(|l| l.trim_end().ends_with(" e")), "{ls}");
    let sb = std::fs::read(&img).unwrap();
    assert_eq!(u32::from_le_bytes(sb[1024 + 0x60..1024 + 0x64].try_into().unwrap()) & 4, 0, "needs_recovery clear");

    // ext4-view, an independent reader.
    let view = ext4_view::Ext4::load(Box::new(sb)).expect("ext4-view loads the image");
    assert_eq!(view.read("/m.bin").unwrap(), big);
    assert_eq!(view.read("/new.txt").unwrap(), b"hello world");
    assert_eq!(view.read("/bin/hello").unwrap(), pattern(20 * 1024, 7));
    let n = view.read_dir("/d").unwrap().count();
    assert_eq!(n, 2 + 40 - 1 - 7 + 1, "/d in ext4-view");
}

#[test]
fn symlinks_are_followed() {
    let s = Scratch::new("sym");
    let img = image(&s);
    debugfs_w(&img, "symlink /etc/link /bin/hello");
    debugfs_w(&img, "symlink /rel bin");
    debugfs_w(&img, "symlink /loop /loop");
    let (dev, _) = FileDev::open(&img, false);
    let mut fs = ext4::mount(Box::new(dev), "vda").unwrap();
    assert_eq!(fs.stat_path("/etc/link").unwrap().size, 20 * 1024);
    assert_eq!(fs.stat_path("/rel/hello").unwrap().size, 20 * 1024);
    assert_eq!(fs.stat_path("/loop").unwrap_err(), FsError::InvalidArgument);
    let (n, _) = fs.open("/etc/link", open::READ).unwrap();
    let mut b = vec![0; 100];
    fs.read(n, 0, &mut b).unwrap();
    assert_eq!(b, pattern(100, 7));
    fs.close(n).unwrap();
    fs.unmount().unwrap();
    assert_clean(&img);
}

#[test]
fn small_blocks_and_read_only_device() {
    let s = Scratch::new("ro");
    let root = stage(&s.0);
    let img = s.path("1k.img");
    mkfs(&img, &root, 16, 1024);
    let (dev, stats) = FileDev::open(&img, true);
    let mut fs = ext4::mount(Box::new(dev), "vdb").unwrap();
    assert!(fs.read_only());
    assert!(fs.describe().ends_with("read-only"));
    let (n, _) = fs.open("/big", open::READ).unwrap();
    let mut b = vec![0; 300 * 1024];
    assert_eq!(fs.read(n, 0, &mut b).unwrap(), 300 * 1024);
    assert_eq!(b, pattern(300 * 1024, 3));
    assert_eq!(fs.open("/x", RW | open::CREATE).unwrap_err(), FsError::ReadOnly);
    assert_eq!(fs.open("/big", RW).unwrap_err(), FsError::ReadOnly);
    assert_eq!(fs.mkdir("/x", 0o755).unwrap_err(), FsError::ReadOnly);
    assert_eq!(fs.write(n, 0, b"x").unwrap_err(), FsError::ReadOnly);
    fs.close(n).unwrap();
    fs.unmount().unwrap();
    assert_eq!(stats.lock().unwrap().writes, 0);
}

#[test]
fn errors_map_to_status() {
    assert_eq!(Status::from(FsError::Corrupt), Status::Corrupt);
    assert_eq!(Status::from(FsError::TooLarge), Status::TooLarge);
    assert_eq!(Status::from(FsError::ReadOnly), Status::ReadOnly);
}
