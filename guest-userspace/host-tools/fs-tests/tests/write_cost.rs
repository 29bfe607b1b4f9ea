//! Write-path cost on the host: time and device requests for a 64 MiB file
//! written in 64 KiB writes (what the server receives), 1,000 small-file
//! creates and 1,000 unlinks, on a 256 MiB image like `make disk`'s. Prints
//! the numbers (`--nocapture`) and bounds the device reads: the block
//! layer's metadata cache (src/metacache.rs) keeps rsext4 from re-reading
//! inode-table and bitmap blocks on every operation (before it: 2 reads per
//! 64 KiB write, about 7 per create and 6 per unlink).

use std::time::Instant;

use vireo_fs::{ext4, open, FileSystem};
use vireo_fs_tests::*;

const RW: u64 = open::READ | open::WRITE;

fn snap(stats: &std::sync::Mutex<Stats>) -> (u64, u64, u64) {
    let s = stats.lock().unwrap();
    (s.reads, s.writes, s.flushes)
}

fn report(what: &str, n: u64, t: Instant, before: (u64, u64, u64), after: (u64, u64, u64)) -> (u64, u64) {
    let us = t.elapsed().as_micros() as u64;
    let (r, w, f) = (after.0 - before.0, after.1 - before.1, after.2 - before.2);
    eprintln!("{what}: {us} us ({} us each), {r} reads, {w} writes, {f} flushes", us / n.max(1));
    (r, w)
}

#[test]
fn write_create_unlink_cost() {
    let s = Scratch::new("cost");
    let root = stage(&s.0);
    let img = s.path("disk.img");
    mkfs(&img, &root, 256, 4096);
    let (dev, stats) = FileDev::open(&img, false);
    let mut fs = ext4::mount(Box::new(dev), "vda").unwrap();

    for (name, kib) in [("/big", 64usize), ("/big1m", 1024)] {
        let chunk = pattern(kib * 1024, 1);
        let (f, _) = fs.open(name, RW | open::CREATE | open::TRUNCATE).unwrap();
        let (t, b) = (Instant::now(), snap(&stats));
        for i in 0..(64 * 1024 / kib) as u64 {
            fs.write(f, i * chunk.len() as u64, &chunk).unwrap();
        }
        fs.sync(f, false).unwrap();
        let (r, w) = report(&format!("64 MiB in {kib} KiB writes + sync"), 64, t, b, snap(&stats));
        fs.close(f).unwrap();
        assert!(r < 16 && w < 2 * 1024, "{kib} KiB writes: {r} reads, {w} writes");
    }

    let (t, b) = (Instant::now(), snap(&stats));
    for i in 0..1000 {
        let (f, _) = fs.open(&format!("/f{i:04}"), RW | open::CREATE | open::EXCLUSIVE).unwrap();
        fs.write(f, 0, b"small file\n").unwrap();
        fs.close(f).unwrap();
    }
    fs.sync(2, false).unwrap();
    let (r, _) = report("1,000 creates (+ 11-byte write)", 1000, t, b, snap(&stats));
    assert!(r < 500, "1,000 creates: {r} device reads");

    let (t, b) = (Instant::now(), snap(&stats));
    for i in 0..1000 {
        fs.unlink(&format!("/f{i:04}")).unwrap();
    }
    fs.sync(2, false).unwrap();
    let (r, _) = report("1,000 unlinks", 1000, t, b, snap(&stats));
    assert!(r < 500, "1,000 unlinks: {r} device reads");
    fs.unmount().unwrap();
}
