//! Random mutations of superblock, group descriptor, inode table and
//! directory bytes of a small image: mount + walk + a write must never panic
//! or hang. Seed: VIREO_FUZZ_SEED, else fixed under CI, else the clock.

use vireo_fs::{ext4, open, FileSystem};
use vireo_fs_tests::*;

const MUTANTS: u64 = 60;

fn walk(fs: &mut dyn FileSystem, dir: &str, depth: u32, budget: &mut u32) {
    if depth > 4 || *budget == 0 {
        return;
    }
    let Ok((d, _)) = fs.open(dir, open::READ | open::DIRECTORY) else { return };
    let mut names = Vec::new();
    let _ = fs.readdir(d, 0, &mut |e| {
        names.push((String::from_utf8_lossy(e.name).into_owned(), e.kind));
        names.len() < 64
    });
    let _ = fs.close(d);
    for (n, k) in names {
        *budget = budget.saturating_sub(1);
        if n.is_empty() || n.contains('/') || n.len() > 255 || *budget == 0 {
            continue;
        }
        let p = format!("{}/{n}", dir.trim_end_matches('/'));
        if k == vireo_io_channel::kind::DIRECTORY {
            walk(fs, &p, depth + 1, budget);
        } else if let Ok((f, _)) = fs.open(&p, open::READ) {
            let mut b = vec![0; 8192];
            let _ = fs.read(f, 0, &mut b);
            let _ = fs.close(f);
        }
    }
}

#[test]
fn mutated_images_never_panic() {
    let s = Scratch::new("fuzz");
    let img = image(&s);
    let orig = std::fs::read(&img).unwrap();
    let seed = seed(0xf5_f00d);
    eprintln!("fuzz_images: seed {seed:#x} (replay: VIREO_FUZZ_SEED={seed:#x})");
    let mut rng = Rng::new(seed);
    let root_dir: u64 =
        String::from_utf8(debugfs(&img, "blocks /")).unwrap().split_whitespace().next().unwrap().parse().unwrap();
    let regions: [(usize, usize); 4] = [
        (1024, 1024),                     // superblock
        (4096, 4096),                     // group descriptors
        (inode_offset(&orig, 1), 4096),   // first inode-table block
        (root_dir as usize * 4096, 4096), // root directory
    ];
    let path = s.path("mutant.img");
    for i in 0..MUTANTS {
        let mut b = orig.clone();
        let (start, len) = regions[(i % 4) as usize];
        for _ in 0..rng.range(1, 8) {
            let at = start + rng.range(0, len as u64 - 1) as usize;
            b[at] = rng.next_u64() as u8;
        }
        std::fs::write(&path, &b).unwrap();
        let (dev, _) = FileDev::open(&path, false);
        let _w = Watchdog::new(20, &format!("mutant {i} (seed {seed:#x})"));
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if let Ok(mut fs) = ext4::mount(Box::new(dev), "vda") {
                let mut budget = 200;
                walk(&mut fs, "/", 0, &mut budget);
                if let Ok((f, _)) = fs.open("/fuzz.new", open::WRITE | open::CREATE) {
                    let _ = fs.write(f, 0, b"data");
                    let _ = fs.close(f);
                }
                let _ = fs.unmount();
            }
        }));
        assert!(run.is_ok(), "mutant {i} panicked (replay: VIREO_FUZZ_SEED={seed:#x})");
    }
}
