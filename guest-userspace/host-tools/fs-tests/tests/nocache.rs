//! No data cache: every file read goes to the device.

use vireo_fs::{ext4, open, FileSystem};
use vireo_fs_tests::*;

#[test]
fn same_read_twice_costs_two_device_reads_and_64k_is_one_request() {
    let s = Scratch::new("nocache");
    let img = image(&s);
    let (dev, stats) = FileDev::open(&img, false);
    let mut fs = ext4::mount(Box::new(dev), "vda").unwrap();
    let (n, _) = fs.open("/big", open::READ).unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    fs.read(n, 0, &mut buf[..4096]).unwrap(); // warm the metadata (inode, extents)
    let cost = |fs: &mut dyn FileSystem, off: u64, len: usize, buf: &mut [u8]| {
        let before = {
            let s = stats.lock().unwrap();
            (s.reads, s.read_bytes)
        };
        assert_eq!(fs.read(n, off, &mut buf[..len]).unwrap(), len);
        let s = stats.lock().unwrap();
        (s.reads - before.0, s.read_bytes - before.1)
    };
    let first = cost(&mut fs, 8192, 4096, &mut buf);
    let second = cost(&mut fs, 8192, 4096, &mut buf);
    assert_eq!(&buf[..4096], &pattern(300 * 1024, 3)[8192..12288]);
    eprintln!("4 KiB read: {first:?} then {second:?} (device reads, bytes)");
    assert_eq!(first, (1, 4096));
    assert_eq!(second, (1, 4096), "the second read goes to the device again");
    let big = cost(&mut fs, 64 * 1024, 64 * 1024, &mut buf);
    eprintln!("64 KiB read: {big:?}");
    assert_eq!(big, (1, 64 * 1024), "one 64 KiB device request");
    assert_eq!(buf, pattern(300 * 1024, 3)[64 * 1024..128 * 1024]);
    fs.close(n).unwrap();
    fs.unmount().unwrap();
}
