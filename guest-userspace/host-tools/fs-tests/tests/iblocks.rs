//! i_blocks and extent trees stay consistent when directories and files grow
//! and shrink far enough that their extent trees gain index levels: after
//! each scenario `e2fsck -fn` must be clean (the benchmark's failure was
//! "Inode 2, i_blocks is 72, should be 88").
//!
//! The cause was rsext4 0.9.2's `append_directory_block` (every block added
//! to an htree directory): it computes the new i_blocks (old + 1 block)
//! before `insert_extent` and stores it after, dropping the sectors of any
//! extent-tree blocks the insert allocated. The fifth non-contiguous
//! directory extent splits the inline root into two leaves (Linux would move
//! all four into one, hence e2fsck's "could be narrower" hint, which alone
//! leaves `e2fsck -fn` at exit 0), so 16 sectors went missing. Our block
//! layer now adds them back (src/guard.rs).
//!
//! Still open (ignored test): rsext4's truncate fails with
//! `extent:empty_index` when it would empty an interior index node of a
//! depth-2 tree (about 700+ extents; also truncate to 0 of such a tree once
//! partly truncated); the failed call leaves the volume clean.

use vireo_fs::{ext4, open, FileSystem};
use vireo_fs_tests::*;

const RW: u64 = open::READ | open::WRITE;

fn now() -> u64 {
    1_750_000_000_000_000_000
}

/// A 256 MiB image like `make disk`'s, with the standard staging tree.
fn big_image(s: &Scratch) -> std::path::PathBuf {
    let root = stage(&s.0);
    let img = s.path("disk.img");
    mkfs(&img, &root, 256, 4096);
    img
}

/// `e2fsck -fn` must be clean; on failure, show how the named inodes look.
fn check(img: &std::path::Path, show: &[&str]) {
    let (rc, text) = e2fsck(img, &["-fn"]);
    if rc != 0 {
        let mut info = String::new();
        for p in show {
            info += &String::from_utf8_lossy(&debugfs(img, &format!("stat {p}")));
            info += &String::from_utf8_lossy(&debugfs(img, &format!("ex {p}")));
        }
        panic!("e2fsck -fn: rc {rc}\n{text}\n{info}");
    }
}

fn create_many(fs: &mut dyn FileSystem, dir: &str, n: usize) {
    for i in 0..n {
        let (f, _) = fs.open(&format!("{dir}/file-{i:04}"), RW | open::CREATE | open::EXCLUSIVE).unwrap();
        fs.write(f, 0, format!("small file {i}\n").as_bytes()).unwrap();
        fs.close(f).unwrap();
    }
}

fn unlink_many(fs: &mut dyn FileSystem, dir: &str, n: usize) {
    for i in 0..n {
        fs.unlink(&format!("{dir}/file-{i:04}")).unwrap();
    }
}

fn write_big(fs: &mut dyn FileSystem, p: &str, mib: usize) {
    let (f, _) = fs.open(p, RW | open::CREATE).unwrap();
    let chunk = pattern(64 * 1024, 9);
    for i in 0..mib * 16 {
        fs.write(f, (i * chunk.len()) as u64, &chunk).unwrap();
    }
    fs.sync(f, false).unwrap();
    fs.close(f).unwrap();
}

#[test]
fn thousand_files_in_root_then_big_write_then_delete() {
    let s = Scratch::new("iblocks-root");
    let img = big_image(&s);
    let (dev, _) = FileDev::open(&img, false);
    let mut fs = ext4::mount(Box::new(dev), "vda").unwrap();
    fs.set_clock(now);
    create_many(&mut fs, "", 1000);
    write_big(&mut fs, "/big64", 64);
    unlink_many(&mut fs, "", 1000);
    fs.unmount().unwrap();
    check(&img, &["/"]);
}

#[test]
fn thousand_files_in_subdirectory_then_delete() {
    let s = Scratch::new("iblocks-sub");
    let img = big_image(&s);
    let (dev, _) = FileDev::open(&img, false);
    let mut fs = ext4::mount(Box::new(dev), "vda").unwrap();
    fs.set_clock(now);
    fs.mkdir("/many", 0o755).unwrap();
    create_many(&mut fs, "/many", 1000);
    fs.unmount().unwrap();
    check(&img, &["/many"]);
    let (dev, _) = FileDev::open(&img, false);
    let mut fs = ext4::mount(Box::new(dev), "vda").unwrap();
    fs.set_clock(now);
    write_big(&mut fs, "/many/big", 8);
    unlink_many(&mut fs, "/many", 1000);
    fs.unmount().unwrap();
    check(&img, &["/many"]);
}

/// 512 single-block extents (every other block of 4 MiB), then the holes
/// filled: rsext4 grows a depth-2 tree. Returns the open image's path.
fn fragmented(s: &Scratch) -> std::path::PathBuf {
    let img = big_image(s);
    let (dev, _) = FileDev::open(&img, false);
    let mut fs = ext4::mount(Box::new(dev), "vda").unwrap();
    fs.set_clock(now);
    let (f, _) = fs.open("/frag", RW | open::CREATE).unwrap();
    let block = pattern(4096, 5);
    for i in (0..1024u64).step_by(2) {
        fs.write(f, i * 4096, &block).unwrap();
    }
    fs.sync(f, false).unwrap();
    fs.close(f).unwrap();
    fs.unmount().unwrap();
    check(&img, &["/frag"]);
    let (dev, _) = FileDev::open(&img, false);
    let mut fs = ext4::mount(Box::new(dev), "vda").unwrap();
    fs.set_clock(now);
    let (f, _) = fs.open("/frag", RW).unwrap();
    for i in (1..1024u64).step_by(2) {
        fs.write(f, i * 4096, &block).unwrap();
    }
    fs.close(f).unwrap();
    fs.unmount().unwrap();
    check(&img, &["/frag"]);
    img
}

#[test]
fn file_written_in_scattered_pieces_grows_an_extent_tree() {
    let s = Scratch::new("iblocks-frag");
    let img = fragmented(&s);
    let (dev, _) = FileDev::open(&img, false);
    let mut fs = ext4::mount(Box::new(dev), "vda").unwrap();
    fs.set_clock(now);
    let (f, _) = fs.open("/frag", RW).unwrap();
    let mut buf = vec![0u8; 4096];
    assert_eq!(fs.read(f, 777 * 4096, &mut buf).unwrap(), 4096);
    assert_eq!(buf, pattern(4096, 5));
    // Shrinking within the last subtree works; one that would empty an
    // interior index node fails (below) but leaves the volume clean.
    fs.truncate(f, 500 * 4096).unwrap();
    assert!(fs.truncate(f, 100 * 4096).is_err());
    assert_eq!(fs.stat(f).unwrap().size, 500 * 4096);
    fs.close(f).unwrap();
    fs.unmount().unwrap();
    check(&img, &["/frag"]);
    // Unlinking frees the whole tree.
    let (dev, _) = FileDev::open(&img, false);
    let mut fs = ext4::mount(Box::new(dev), "vda").unwrap();
    fs.unlink("/frag").unwrap();
    fs.unmount().unwrap();
    check(&img, &["/"]);
}

#[test]
#[ignore = "rsext4 0.9.2: a truncate that empties an interior extent index node fails with extent:empty_index"]
fn truncate_across_an_interior_index_node() {
    let s = Scratch::new("iblocks-trunc");
    let img = fragmented(&s);
    let (dev, _) = FileDev::open(&img, false);
    let mut fs = ext4::mount(Box::new(dev), "vda").unwrap();
    let (f, _) = fs.open("/frag", RW).unwrap();
    fs.truncate(f, 100 * 4096).unwrap();
    fs.truncate(f, 0).unwrap();
    fs.close(f).unwrap();
    fs.unmount().unwrap();
    check(&img, &["/frag"]);
}
