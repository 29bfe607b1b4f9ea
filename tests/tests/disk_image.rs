//! `make disk` builds `build/disk.img`, an ext4 image that e2fsprogs finds
//! consistent, with Debian's default ext4 features and the system's programs
//! at their initrd paths, byte for byte (docs/storage.md).
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use vireo_tests::{artifact, repo_root};

/// An e2fsprogs tool: on PATH, or in the sbin directories a non-root PATH lacks.
fn e2fs_tool(name: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    PathBuf::from(name)
}

fn run(tool: &str, args: &[&str], image: &Path) -> Output {
    Command::new(e2fs_tool(tool))
        .args(args)
        .arg(image)
        .output()
        .unwrap_or_else(|e| panic!("{tool}: {e} (make deps installs e2fsprogs)"))
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn debugfs_cat(image: &Path, path: &str) -> Vec<u8> {
    let o = run("debugfs", &["-R", &format!("cat {path}")], image);
    assert!(o.status.success(), "debugfs cat {path}: {}", text(&o));
    o.stdout
}

#[test]
fn disk_image_passes_e2fsck() {
    let image = artifact("disk.img");
    let o = run("e2fsck", &["-fn"], &image);
    assert_eq!(o.status.code(), Some(0), "e2fsck -fn {}:\n{}", image.display(), text(&o));
}

#[test]
fn disk_image_is_64_mib_ext4_with_debians_default_features() {
    let image = artifact("disk.img");
    assert_eq!(std::fs::metadata(&image).unwrap().len(), 64 << 20);
    let o = run("dumpe2fs", &["-h"], &image);
    let header = text(&o);
    assert!(o.status.success(), "dumpe2fs -h: {header}");
    let line = |key: &str| header.lines().find(|l| l.starts_with(key)).unwrap_or("").to_string();
    let features = line("Filesystem features:");
    for f in ["has_journal", "extent", "64bit", "metadata_csum", "dir_index", "flex_bg", "huge_file"] {
        assert!(features.split_whitespace().any(|w| w == f), "no {f} in {features}");
    }
    assert!(line("Filesystem volume name:").ends_with("vireo"), "{header}");
    assert!(line("Block size:").ends_with("4096"), "{header}");
}

#[test]
fn disk_image_holds_the_programs_byte_for_byte() {
    let image = artifact("disk.img");
    let out = repo_root().join("guest-userspace/target/x86_64-unknown-none/release");
    for (dest, src) in [("/bin/hello", "hello"), ("/init", "init"), ("/test/std", "test-std")] {
        let want = std::fs::read(out.join(src)).unwrap();
        assert!(debugfs_cat(&image, dest) == want, "{dest} on the disk differs from {src}");
    }
    assert_eq!(debugfs_cat(&image, "/etc/motd"), b"Welcome to Vireo.\n");
}

/// The check above can fail: e2fsck reports a copy whose /bin directory block
/// is overwritten.
#[test]
fn e2fsck_finds_a_corrupted_copy_of_the_disk() {
    let image = artifact("disk.img");
    let copy = std::env::temp_dir().join(format!("vireo-disk-corrupt-{}.img", std::process::id()));
    std::fs::copy(&image, &copy).unwrap();
    let blocks = text(&run("debugfs", &["-R", "blocks /bin"], &copy));
    let block: u64 = blocks.split_whitespace().next().and_then(|b| b.parse().ok()).expect("block of /bin");
    let mut bytes = std::fs::read(&copy).unwrap();
    let start = (block * 4096) as usize;
    bytes[start..start + 4096].fill(0xa5);
    std::fs::write(&copy, &bytes).unwrap();
    let o = run("e2fsck", &["-fn"], &copy);
    let _ = std::fs::remove_file(&copy);
    assert_ne!(o.status.code(), Some(0), "e2fsck -fn accepted a corrupted /bin:\n{}", text(&o));
}
