//! Shared pieces of the vireo-fs host tests: a file-backed block device that
//! counts and logs what it is asked to do (and can fail on demand), images
//! made by e2fsprogs the way `make disk` makes them, and the e2fsprogs
//! oracles.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use vireo_fs::{BlkError, BlockDevice};

/// One logged write (sector, bytes), or a flush (`None`).
pub type LogEntry = Option<(u64, Vec<u8>)>;

/// What a [`FileDev`] saw.
#[derive(Default, Debug)]
pub struct Stats {
    pub reads: u64,
    pub read_bytes: u64,
    pub writes: u64,
    pub flushes: u64,
    /// Every write in order (sector, bytes) when logging is on; flushes as `None`.
    pub log: Option<Vec<LogEntry>>,
    /// Fail every read or write touching this sector range with `Io`.
    pub fail: Option<(u64, u64)>,
}

/// A block device over an image file (pread/pwrite, no cache of its own).
pub struct FileDev {
    file: File,
    sectors: u64,
    read_only: bool,
    pub stats: Arc<Mutex<Stats>>,
}

impl FileDev {
    pub fn open(path: &Path, read_only: bool) -> (Self, Arc<Mutex<Stats>>) {
        let file = OpenOptions::new().read(true).write(!read_only).open(path).expect("open image");
        let sectors = file.metadata().expect("image size").len() / 512;
        let stats = Arc::new(Mutex::new(Stats::default()));
        (Self { file, sectors, read_only, stats: stats.clone() }, stats)
    }

    fn check(&self, sector: u64, len: usize) -> Result<(), BlkError> {
        if !len.is_multiple_of(512) || sector.checked_add(len as u64 / 512).is_none_or(|e| e > self.sectors) {
            return Err(BlkError::OutOfRange);
        }
        if let Some((s, e)) = self.stats.lock().unwrap().fail {
            if sector < e && sector + len as u64 / 512 > s {
                return Err(BlkError::Io);
            }
        }
        Ok(())
    }
}

impl BlockDevice for FileDev {
    fn read(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), BlkError> {
        self.check(sector, buf.len())?;
        let mut s = self.stats.lock().unwrap();
        s.reads += 1;
        s.read_bytes += buf.len() as u64;
        self.file.read_exact_at(buf, sector * 512).map_err(|_| BlkError::Io)
    }

    fn write(&mut self, sector: u64, buf: &[u8]) -> Result<(), BlkError> {
        if self.read_only {
            return Err(BlkError::ReadOnly);
        }
        self.check(sector, buf.len())?;
        let mut s = self.stats.lock().unwrap();
        s.writes += 1;
        if let Some(log) = s.log.as_mut() {
            log.push(Some((sector, buf.to_vec())));
        }
        self.file.write_all_at(buf, sector * 512).map_err(|_| BlkError::Io)
    }

    fn flush(&mut self) -> Result<(), BlkError> {
        let mut s = self.stats.lock().unwrap();
        s.flushes += 1;
        if let Some(log) = s.log.as_mut() {
            log.push(None);
        }
        Ok(())
    }

    fn sectors(&self) -> u64 {
        self.sectors
    }

    fn read_only(&self) -> bool {
        self.read_only
    }
}

/// A fresh scratch directory under the system's temp dir, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "vireo-fs-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("scratch dir");
        Self(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

const UUID: &str = "5ee1ab1e-0000-4000-8000-000000000001";
const EPOCH: &str = "1735689600";

fn e2fs(tool: &str) -> Command {
    let mut c = Command::new(tool);
    let path = std::env::var("PATH").unwrap_or_default();
    c.env("PATH", format!("{path}:/usr/sbin:/sbin"));
    c.env("E2FSPROGS_FAKE_TIME", EPOCH);
    c
}

/// Makes an ext4 image of `size_mib` MiB at `img` from the staging tree
/// `root`, with the flags of the Makefile's `make disk`; `block` 4096 as
/// there, or 1024 for a small-block image.
pub fn mkfs(img: &Path, root: &Path, size_mib: u64, block: u32) {
    let f = File::create(img).expect("create image");
    f.set_len(size_mib << 20).expect("size image");
    drop(f);
    let out = e2fs("mkfs.ext4")
        .args(["-q", "-F", "-t", "ext4", "-b", &block.to_string(), "-I", "256", "-L", "vireo", "-U", UUID])
        .arg("-E")
        .arg(format!("root_owner=0:0,hash_seed={UUID},lazy_itable_init=0,lazy_journal_init=0,nodiscard"))
        .arg("-d")
        .arg(root)
        .arg(img)
        .output()
        .expect("run mkfs.ext4");
    assert!(out.status.success(), "mkfs.ext4: {}", String::from_utf8_lossy(&out.stderr));
}

/// A staging tree: /bin/hello (20 KiB), /etc/motd, /docs/a.txt, /big (300 KiB).
pub fn stage(dir: &Path) -> PathBuf {
    let root = dir.join("root");
    fs::create_dir_all(root.join("bin")).unwrap();
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::create_dir_all(root.join("docs")).unwrap();
    fs::write(root.join("bin/hello"), pattern(20 * 1024, 7)).unwrap();
    fs::write(root.join("etc/motd"), b"Welcome to Vireo.\n").unwrap();
    fs::write(root.join("docs/a.txt"), b"alpha\n").unwrap();
    fs::write(root.join("big"), pattern(300 * 1024, 3)).unwrap();
    root
}

/// The standard test image (16 MiB, 4 KiB blocks) in `s`.
pub fn image(s: &Scratch) -> PathBuf {
    let root = stage(&s.0);
    let img = s.path("disk.img");
    mkfs(&img, &root, 16, 4096);
    img
}

/// Deterministic bytes.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u32).wrapping_mul(2_654_435_761).wrapping_shr(13) as u8 ^ seed).collect()
}

/// `e2fsck ARGS img`: (exit code, stdout + stderr).
pub fn e2fsck(img: &Path, args: &[&str]) -> (i32, String) {
    let out = e2fs("e2fsck").args(args).arg(img).output().expect("run e2fsck");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

/// Asserts `e2fsck -fn` finds nothing.
pub fn assert_clean(img: &Path) {
    let (rc, text) = e2fsck(img, &["-fn"]);
    assert_eq!(rc, 0, "e2fsck -fn {}:\n{text}", img.display());
}

/// `debugfs -R CMD img` stdout (bytes).
pub fn debugfs(img: &Path, cmd: &str) -> Vec<u8> {
    e2fs("debugfs").arg("-R").arg(cmd).arg(img).output().expect("run debugfs").stdout
}

/// `debugfs -w -R CMD img`.
pub fn debugfs_w(img: &Path, cmd: &str) {
    let out = e2fs("debugfs").arg("-w").arg("-R").arg(cmd).arg(img).output().expect("run debugfs");
    assert!(out.status.success(), "debugfs -w {cmd}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The inode number of `path` (debugfs `stat`).
pub fn inode_of(img: &Path, path: &str) -> u64 {
    let out = String::from_utf8(debugfs(img, &format!("stat {path}"))).unwrap();
    let at = out.find("Inode: ").unwrap_or_else(|| panic!("no inode for {path}: {out}")) + 7;
    out[at..].split_whitespace().next().unwrap().parse().unwrap()
}

/// Superblock fields: (block size, inodes per group, inode size, group-descriptor size).
pub fn geometry(img: &[u8]) -> (u64, u64, u64, u64) {
    let sb = &img[1024..2048];
    let le32 = |o: usize| u32::from_le_bytes(sb[o..o + 4].try_into().unwrap()) as u64;
    let le16 = |o: usize| u16::from_le_bytes(sb[o..o + 2].try_into().unwrap()) as u64;
    let desc = if le32(0x60) & 0x80 != 0 { le16(0xFE) } else { 32 };
    (1024 << le32(0x18), le32(0x28), le16(0x58), desc)
}

/// Byte offset of inode `n`'s bytes in the image.
pub fn inode_offset(img: &[u8], n: u64) -> usize {
    let (bs, ipg, isz, ds) = geometry(img);
    let first_data = u32::from_le_bytes(img[1024 + 0x14..1024 + 0x18].try_into().unwrap()) as u64;
    let g = (n - 1) / ipg;
    let gd = ((first_data + 1) * bs + g * ds) as usize;
    let mut table = u32::from_le_bytes(img[gd + 8..gd + 12].try_into().unwrap()) as u64;
    if ds >= 64 {
        table |= (u32::from_le_bytes(img[gd + 0x28..gd + 0x2C].try_into().unwrap()) as u64) << 32;
    }
    (table * bs + ((n - 1) % ipg) * isz) as usize
}

/// xorshift64*: reproducible without a dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }
}

/// VIREO_FUZZ_SEED if set (decimal or 0x hex), else `ci` under CI, else the clock.
pub fn seed(ci: u64) -> u64 {
    match std::env::var("VIREO_FUZZ_SEED").ok().filter(|s| !s.trim().is_empty()) {
        Some(s) => {
            let s = s.trim();
            let v = match s.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16),
                None => s.parse(),
            };
            v.unwrap_or_else(|e| panic!("VIREO_FUZZ_SEED={s:?}: {e}"))
        }
        None if std::env::var_os("CI").is_some() => ci,
        None => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64),
    }
}

/// A hang detector for work on this thread (the file systems are not
/// `Send`): if it is not dropped within `secs`, the test process says what
/// hung and aborts.
pub struct Watchdog(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Watchdog {
    pub fn new(secs: u64, what: &str) -> Self {
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (flag, what) = (done.clone(), what.to_string());
        std::thread::spawn(move || {
            let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
            while std::time::Instant::now() < until {
                if flag.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            if !flag.load(Ordering::Relaxed) {
                eprintln!("{what}: hung for {secs} s");
                std::process::abort();
            }
        });
        Self(done)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}
