//! Disk images for the storage tests: each test works on its own copy of
//! `build/disk.img` (made by `make disk`) in a temp directory, attaches it as
//! a virtio-blk drive, and checks it with e2fsprogs afterwards.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::{artifact, Machine, Qemu};

/// The kernel command line that has init start the I/O server and then run
/// `program_and_args` (e.g. `/bin/fs-suite /x`); the VM's exit code is the
/// program's.
pub fn program(program_and_args: &str) -> String {
    format!("-- {program_and_args}")
}

/// Panics with the likely cause if the program named by `cmd` (`/bin/NAME
/// args`) printed no `NAME:` line: init did not run it.
pub fn assert_program_ran(run: &crate::Run, cmd: &str) {
    let name = cmd.split_whitespace().next().unwrap_or(cmd).rsplit('/').next().unwrap_or(cmd);
    assert!(
        run.stdout.lines().any(|l| l.starts_with(&format!("{name}:"))),
        "{name} printed nothing: init did not run `{cmd}` (it needs init's `-- PROGRAM ARGS` and the I/O server, \
         issue 11)\n{}",
        run.dump()
    );
}

/// An e2fsprogs tool: on PATH, or in the sbin directories a non-root PATH lacks.
pub fn e2fs_tool(name: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    PathBuf::from(name)
}

/// Runs e2fsprogs' `tool` with `args` and the image as the last argument.
pub fn e2fs(tool: &str, args: &[&str], image: &Path) -> Output {
    Command::new(e2fs_tool(tool))
        .args(args)
        .arg(image)
        .output()
        .unwrap_or_else(|e| panic!("{tool}: {e} (make deps installs e2fsprogs)"))
}

/// stdout and stderr of a tool, for messages.
pub fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// `debugfs -R CMD image`: its stdout (the data for `cat`).
pub fn debugfs(image: &Path, cmd: &str) -> Output {
    e2fs("debugfs", &["-R", cmd], image)
}

/// `debugfs -w -R CMD image`, which must succeed.
pub fn debugfs_write(image: &Path, cmd: &str) {
    let o = e2fs("debugfs", &["-w", "-R", cmd], image);
    let t = text(&o);
    assert!(o.status.success() && !t.contains("rror"), "debugfs -w -R {cmd:?}: {t}");
}

/// Panics unless `e2fsck -fn` finds the image consistent.
pub fn assert_fsck_clean(image: &Path, after: &str) {
    let o = e2fs("e2fsck", &["-fn"], image);
    assert_eq!(o.status.code(), Some(0), "e2fsck -fn after {after} is not clean:\n{}", text(&o));
}

/// A private copy of `build/disk.img` in its own temp directory, removed when
/// dropped, unless the test is failing (then it is kept and its path printed).
pub struct DiskCopy {
    dir: PathBuf,
    pub path: PathBuf,
}

impl DiskCopy {
    pub fn new(name: &str) -> DiskCopy {
        let src = artifact("disk.img");
        let dir = std::env::temp_dir().join(format!("vireo-{name}-{}-{}", std::process::id(), unique()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let path = dir.join("disk.img");
        // cp keeps the image sparse (64 MiB, mostly holes).
        let st = Command::new("cp").arg("--sparse=always").arg(&src).arg(&path).status();
        if !matches!(st, Ok(s) if s.success()) {
            std::fs::copy(&src, &path).unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
        }
        DiskCopy { dir, path }
    }

    /// An empty image of `len` bytes (all zeros, sparse) instead of a copy.
    pub fn zeros(name: &str, len: u64) -> DiskCopy {
        let d = DiskCopy::new(name);
        let f = std::fs::File::create(&d.path).expect("create image");
        f.set_len(len).expect("set_len");
        d
    }

    /// The image's bytes.
    pub fn bytes(&self) -> Vec<u8> {
        std::fs::read(&self.path).expect("read image")
    }

    /// Overwrites `data.len()` bytes at `offset`.
    pub fn patch(&self, offset: u64, data: &[u8]) {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(&self.path).expect("open image");
        f.seek(SeekFrom::Start(offset)).expect("seek");
        f.write_all(data).expect("patch image");
    }

    /// Reads `len` bytes at `offset`.
    pub fn read_at(&self, offset: u64, len: usize) -> Vec<u8> {
        use std::io::{Read, Seek, SeekFrom};
        let mut f = std::fs::File::open(&self.path).expect("open image");
        f.seek(SeekFrom::Start(offset)).expect("seek");
        let mut v = vec![0; len];
        f.read_exact(&mut v).expect("read image");
        v
    }

    /// A host file beside the image (for `debugfs write`).
    pub fn scratch(&self, name: &str, content: &[u8]) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, content).expect("write scratch file");
        p
    }

    /// Writes `text` to the image as `/NAME` (a script for the guest to run).
    pub fn put(&self, name: &str, text: &str) {
        let host = self.scratch(name, text.as_bytes());
        debugfs_write(&self.path, &format!("write {} /{name}", host.display()));
    }

    /// The content of the image's file at `path` (empty if there is none).
    pub fn file(&self, path: &str) -> String {
        String::from_utf8_lossy(&debugfs(&self.path, &format!("cat {path}")).stdout).into_owned()
    }
}

impl Drop for DiskCopy {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept the failing test's image: {}", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

impl Qemu {
    /// Attaches `image` as the first virtio-blk disk: virtio-mmio on microvm
    /// (modern, not legacy), virtio-pci on q35.
    pub fn with_disk(mut self, image: &Path, read_only: bool) -> Self {
        let ro = if read_only { ",readonly=on" } else { "" };
        self.extra.push("-drive".into());
        self.extra.push(format!("file={},format=raw,if=none,id=d0{ro}", image.display()));
        match self.machine {
            Machine::Microvm => {
                self.extra.extend(["-global".into(), "virtio-mmio.force-legacy=false".into()]);
                self.extra.extend(["-device".into(), "virtio-blk-device,drive=d0".into()]);
            }
            Machine::Q35 => self.extra.extend(["-device".into(), "virtio-blk-pci,drive=d0".into()]),
        }
        self
    }

    pub fn timeout(mut self, t: std::time::Duration) -> Self {
        self.timeout = t;
        self
    }
}

/// ext4's crc32c (Castagnoli, reflected), as the kernel's `ext4_chksum`
/// computes it: seeded with !0 and not inverted at the end.
pub fn ext4_crc32c(seed: u32, data: &[u8]) -> u32 {
    let mut crc = seed;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0x82f6_3b78 } else { crc >> 1 };
        }
    }
    crc
}

/// Byte offset of the primary superblock, and of its checksum field.
pub const SUPERBLOCK: u64 = 1024;
pub const SB_CHECKSUM: usize = 0x3fc;

/// Recomputes the superblock checksum of `image` after a patch.
pub fn fix_superblock_checksum(image: &DiskCopy) {
    let sb = image.read_at(SUPERBLOCK, 1024);
    let crc = ext4_crc32c(!0, &sb[..SB_CHECKSUM]);
    image.patch(SUPERBLOCK + SB_CHECKSUM as u64, &crc.to_le_bytes());
}
