//! Metadata memory bound: a counting global allocator; mounting, walking a
//! 1,000-file tree and writing must stay under metadata_cache_bound().

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use vireo_fs::{ext4, open, FileSystem};
use vireo_fs_tests::*;

struct Counting;
static NOW: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let now = NOW.fetch_add(l.size(), Ordering::Relaxed) + l.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        // SAFETY: same layout contract as ours.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        NOW.fetch_sub(l.size(), Ordering::Relaxed);
        // SAFETY: `p` came from `alloc` with `l`.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn walk(fs: &mut dyn FileSystem, dir: &str, buf: &mut [u8], names: &mut Vec<String>, files: &mut usize) {
    let (d, _) = fs.open(dir, open::READ | open::DIRECTORY).unwrap();
    let mut cursor = 0;
    let start = names.len();
    loop {
        let (next, end) = fs
            .readdir(d, cursor, &mut |e| {
                names.push(format!("{}/{}|{}", dir.trim_end_matches('/'), String::from_utf8_lossy(e.name), e.kind));
                true
            })
            .unwrap();
        cursor = next;
        if end {
            break;
        }
    }
    fs.close(d).unwrap();
    let mine: Vec<String> = names[start..].to_vec();
    for n in mine {
        let (path, kind) = n.split_once('|').unwrap();
        if kind == "2" {
            if !path.ends_with("lost+found") {
                walk(fs, path, buf, names, files);
            }
        } else {
            let (f, _) = fs.open(path, open::READ).unwrap();
            fs.read(f, 0, buf).unwrap();
            fs.close(f).unwrap();
            *files += 1;
        }
    }
}

#[test]
fn walking_and_writing_a_1000_file_tree_stays_under_the_bound() {
    let s = Scratch::new("mem");
    let root = s.path("root");
    for d in 0..10 {
        std::fs::create_dir_all(root.join(format!("d{d}"))).unwrap();
        for f in 0..100 {
            std::fs::write(root.join(format!("d{d}/file{f:03}")), pattern(1000 + f * 37, d as u8)).unwrap();
        }
    }
    let img = s.path("mem.img");
    mkfs(&img, &root, 32, 4096);
    let mut buf = vec![0u8; 64 * 1024];
    let mut names = Vec::with_capacity(1200);
    let (dev, _) = FileDev::open(&img, false);
    let base = NOW.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let mut fs = ext4::mount(Box::new(dev), "vda").unwrap();
    let bound = fs.metadata_cache_bound();
    let mut files = 0;
    walk(&mut fs, "/", &mut buf, &mut names, &mut files);
    assert_eq!(files, 1000);
    let walk_peak = PEAK.load(Ordering::Relaxed) - base;
    let data = pattern(64 * 1024, 9);
    for i in 0..50 {
        let (f, _) = fs.open(&format!("/d{}/new{i}", i % 10), open::WRITE | open::CREATE).unwrap();
        fs.write(f, 0, &data).unwrap();
        fs.close(f).unwrap();
    }
    fs.sync(2, false).unwrap();
    let peak = PEAK.load(Ordering::Relaxed) - base;
    fs.unmount().unwrap();
    drop(fs);
    eprintln!("heap: walk peak {walk_peak} B, with writes {peak} B, bound {bound} B");
    assert!(peak <= bound, "metadata heap {peak} above the documented bound {bound}");
    assert_clean(&img);
}
