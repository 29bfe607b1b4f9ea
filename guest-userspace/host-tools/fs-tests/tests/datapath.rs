//! The file-data read path (vireo-fs src/datapath.rs): reads go straight to
//! the device from a cached extent map, always see the newest data, and
//! stamp the access time only as `relatime` asks.

use std::sync::atomic::{AtomicU64, Ordering};
use vireo_fs::{ext4, open, FileSystem};
use vireo_fs_tests::*;

const RW: u64 = open::READ | open::WRITE;
const S: u64 = 1_000_000_000;

/// The file system's clock, set by each test step (seconds since the epoch).
static CLOCK: AtomicU64 = AtomicU64::new(0);
fn clock() -> u64 {
    CLOCK.load(Ordering::Relaxed)
}

#[test]
fn warm_4k_reads_cost_one_device_read_and_write_nothing() {
    let s = Scratch::new("datapath-cost");
    let img = image(&s);
    let (dev, stats) = FileDev::open(&img, false);
    let mut fs = ext4::mount(Box::new(dev), "vda").unwrap();
    CLOCK.store(2_000_000_000 * S, Ordering::Relaxed);
    fs.set_clock(clock);
    let (n, _) = fs.open("/big", open::READ).unwrap();
    let mut buf = vec![0u8; 4096];
    // The first read maps the file and (relatime: the image's atime is old) stamps it.
    fs.read(n, 0, &mut buf).unwrap();
    fs.sync(n, false).unwrap();
    let before = {
        let s = stats.lock().unwrap();
        (s.reads, s.read_bytes, s.writes)
    };
    let want = pattern(300 * 1024, 3);
    for i in 0..50u64 {
        let off = (i * 7 % 75) * 4096;
        assert_eq!(fs.read(n, off, &mut buf).unwrap(), 4096);
        assert_eq!(buf[..], want[off as usize..off as usize + 4096], "block at {off}");
    }
    fs.sync(n, false).unwrap();
    let after = {
        let s = stats.lock().unwrap();
        (s.reads, s.read_bytes, s.writes)
    };
    assert_eq!(after.0 - before.0, 50, "one device read per 4 KiB read");
    assert_eq!(after.1 - before.1, 50 * 4096);
    assert_eq!(after.2, before.2, "reads of a file whose atime is fresh write nothing");
    assert_eq!(fs.stat(n).unwrap().accessed_ns, 2_000_000_000 * S, "the first read stamped atime");
    fs.close(n).unwrap();
    fs.unmount().unwrap();
    assert_clean(&img);
}

/// Reads at awkward offsets and lengths against a model of the file, after
/// unaligned writes, a hole, a truncation and a rename over the file.
#[test]
fn reads_see_every_change_at_any_offset() {
    let s = Scratch::new("datapath-coherent");
    let img = image(&s);
    let (dev, _) = FileDev::open(&img, false);
    let mut fs = ext4::mount(Box::new(dev), "vda").unwrap();
    CLOCK.store(2_000_000_000 * S, Ordering::Relaxed);
    fs.set_clock(clock);
    let (f, _) = fs.open("/f", RW | open::CREATE).unwrap();
    let mut model: Vec<u8> = Vec::new();
    let mut rng = Rng::new(seed(7));
    let check = |fs: &mut dyn FileSystem, model: &[u8], rng: &mut Rng| {
        for _ in 0..40 {
            let off = rng.range(0, model.len() as u64 + 5000);
            let len = rng.range(1, 20_000) as usize;
            let mut buf = vec![0xeeu8; len];
            let n = fs.read(f, off, &mut buf).unwrap();
            let want = model.get(off as usize..).map_or(&[][..], |m| &m[..len.min(m.len())]);
            assert_eq!(n, want.len(), "length of the read at {off}+{len}");
            assert!(buf[..n] == *want, "bytes of the read at {off}+{len}");
        }
    };
    for round in 0..12u8 {
        // Unaligned writes, some extending the file, one far out (a hole).
        let off = if round == 5 { model.len() as u64 + 300_000 } else { rng.range(0, model.len() as u64 + 10_000) };
        let data = pattern(rng.range(1, 30_000) as usize, round);
        fs.write(f, off, &data).unwrap();
        let end = off as usize + data.len();
        if model.len() < end {
            model.resize(end, 0);
        }
        model[off as usize..end].copy_from_slice(&data);
        check(&mut fs, &model, &mut rng);
        if round % 4 == 3 {
            fs.sync(f, false).unwrap();
            check(&mut fs, &model, &mut rng);
        }
    }
    let cut = model.len() as u64 / 3 + 123;
    fs.truncate(f, cut).unwrap();
    model.truncate(cut as usize);
    check(&mut fs, &model, &mut rng);
    fs.close(f).unwrap();

    // A file renamed over /f: reads by the new handle see its bytes.
    let (g, _) = fs.open("/g", RW | open::CREATE).unwrap();
    let other = pattern(9000, 99);
    fs.write(g, 0, &other).unwrap();
    fs.close(g).unwrap();
    fs.rename("/g", "/f", false).unwrap();
    let (f2, _) = fs.open("/f", open::READ).unwrap();
    let mut buf = vec![0u8; 10_000];
    assert_eq!(fs.read(f2, 0, &mut buf).unwrap(), 9000);
    assert_eq!(buf[..9000], other[..]);
    fs.close(f2).unwrap();
    fs.unmount().unwrap();
    assert_clean(&img);
}

#[test]
fn relatime_stamps_after_a_change_or_a_day_and_not_otherwise() {
    let s = Scratch::new("datapath-relatime");
    let img = image(&s);
    let (dev, _) = FileDev::open(&img, false);
    let mut fs = ext4::mount(Box::new(dev), "vda").unwrap();
    fs.set_clock(clock);
    let t0 = 2_000_000_000;
    CLOCK.store(t0 * S, Ordering::Relaxed);
    let (f, _) = fs.open("/r", RW | open::CREATE).unwrap();
    fs.write(f, 0, &pattern(8192, 1)).unwrap();
    let mut buf = [0u8; 4096];
    let atime = |fs: &mut dyn FileSystem| fs.stat(f).unwrap().accessed_ns / S;

    CLOCK.store((t0 + 10) * S, Ordering::Relaxed);
    fs.read(f, 0, &mut buf).unwrap();
    assert_eq!(atime(&mut fs), t0 + 10, "atime older than mtime: stamped");
    CLOCK.store((t0 + 20) * S, Ordering::Relaxed);
    fs.read(f, 4096, &mut buf).unwrap();
    assert_eq!(atime(&mut fs), t0 + 10, "fresh atime, unchanged file: not stamped");
    fs.write(f, 0, b"x").unwrap();
    CLOCK.store((t0 + 30) * S, Ordering::Relaxed);
    fs.read(f, 0, &mut buf).unwrap();
    assert_eq!(atime(&mut fs), t0 + 30, "modified since: stamped");
    CLOCK.store((t0 + 30 + 86_400) * S, Ordering::Relaxed);
    fs.read(f, 0, &mut buf).unwrap();
    assert_eq!(atime(&mut fs), t0 + 30 + 86_400, "a day later: stamped");
    assert_eq!(buf[0], b'x');
    fs.close(f).unwrap();
    fs.unmount().unwrap();
    assert_clean(&img);
}
