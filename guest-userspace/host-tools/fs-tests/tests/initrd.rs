//! The read-only initrd file system over a cpio made by the repo's mkinitrd.

use vireo_fs::initrd::InitrdFs;
use vireo_fs::{open, FileSystem, FsError};
use vireo_io_channel::kind;

fn archive() -> &'static [u8] {
    let mut w = mkinitrd::cpio::Writer::new();
    w.add_file("init", b"init program").unwrap();
    w.add_file("bin/hello", &[7u8; 5000]).unwrap();
    w.add_file("sys/lib/deep/x", b"x").unwrap();
    w.add_file("etc/motd", b"Welcome to Vireo.\n").unwrap();
    Box::leak(w.finish().into_boxed_slice())
}

fn names(fs: &mut InitrdFs, dir: &str) -> Vec<(String, u8)> {
    let (d, _) = fs.open(dir, open::READ | open::DIRECTORY).unwrap();
    let (mut out, mut cursor) = (Vec::new(), 0);
    loop {
        let mut room = 1;
        let (next, end) = fs
            .readdir(d, cursor, &mut |e| {
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
            return out;
        }
    }
}

#[test]
fn initrd_reads_lists_and_refuses_writes() {
    let mut fs = InitrdFs::new(archive()).unwrap();
    assert!(fs.read_only());
    assert!(fs.describe().contains("initrd"));
    let (n, a) = fs.open("/bin/hello", open::READ).unwrap();
    assert_eq!((a.size, a.kind), (5000, kind::FILE));
    let mut b = vec![0; 6000];
    assert_eq!(fs.read(n, 100, &mut b).unwrap(), 4900);
    assert_eq!(fs.read(n, 9000, &mut b).unwrap(), 0);
    fs.close(n).unwrap();
    assert_eq!(
        names(&mut fs, "/"),
        [
            ("bin".into(), kind::DIRECTORY),
            ("etc".into(), kind::DIRECTORY),
            ("init".into(), kind::FILE),
            ("sys".into(), kind::DIRECTORY)
        ]
    );
    assert_eq!(names(&mut fs, "/sys/lib"), [("deep".to_string(), kind::DIRECTORY)]);
    assert_eq!(fs.stat_path("/sys/lib/deep/x").unwrap().size, 1);
    assert_eq!(fs.open("/bin", open::READ).unwrap_err(), FsError::IsADirectory);
    assert_eq!(fs.open("/init", open::READ | open::DIRECTORY).unwrap_err(), FsError::NotADirectory);
    assert_eq!(fs.open("/init/x", open::READ).unwrap_err(), FsError::NotADirectory);
    assert_eq!(fs.open("/nope", open::READ).unwrap_err(), FsError::NotFound);
    assert_eq!(fs.open("/init", open::READ | open::WRITE).unwrap_err(), FsError::ReadOnly);
    assert_eq!(fs.open("/n", open::WRITE | open::CREATE).unwrap_err(), FsError::ReadOnly);
    assert_eq!(fs.mkdir("/d", 0o755).unwrap_err(), FsError::ReadOnly);
    assert_eq!(fs.unlink("/init").unwrap_err(), FsError::ReadOnly);
    assert_eq!(fs.rename("/init", "/x", false).unwrap_err(), FsError::ReadOnly);
    assert_eq!(fs.write(n, 0, b"x").unwrap_err(), FsError::ReadOnly);
    assert!(InitrdFs::new(b"garbage").is_err());
}
