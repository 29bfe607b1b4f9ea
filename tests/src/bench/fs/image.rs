//! The one disk shape both guests get: a 256 MiB sparse ext4 image made as
//! `make disk` makes build/disk.img (same mkfs.ext4 options, same fixed UUID
//! and time; holding build/disk-root when it exists), but large enough for
//! the 64 MiB file and 1,000 small files. Each run gets a fresh copy.

use std::fs;
use std::path::Path;
use std::process::Command;

pub const SIZE_MIB: u64 = 256;
const UUID: &str = "5ee1ab1e-0000-4000-8000-000000000001";
const EPOCH: &str = "1735689600";

fn e2fs(tool: &str) -> Command {
    let mut c = Command::new(tool);
    let path = std::env::var("PATH").unwrap_or_default();
    c.env("PATH", format!("{path}:/usr/sbin:/sbin"));
    c.env("E2FSPROGS_FAKE_TIME", EPOCH).env("SOURCE_DATE_EPOCH", EPOCH);
    c
}

/// Makes the base image at `out` from `root` (an empty tree when `root`
/// does not exist).
pub fn make_base(out: &Path, root: &Path) -> Result<(), String> {
    let empty = out.with_extension("empty-root");
    let src = if root.is_dir() {
        root
    } else {
        fs::create_dir_all(&empty).map_err(|e| format!("{}: {e}", empty.display()))?;
        &empty
    };
    let _ = fs::remove_file(out);
    let f = fs::File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
    f.set_len(SIZE_MIB << 20).map_err(|e| format!("{}: {e}", out.display()))?;
    drop(f);
    let ext = format!("root_owner=0:0,hash_seed={UUID},lazy_itable_init=0,lazy_journal_init=0,nodiscard");
    let o = e2fs("mkfs.ext4")
        .args(["-q", "-F", "-t", "ext4", "-b", "4096", "-I", "256", "-L", "vireo", "-U", UUID, "-E", &ext, "-d"])
        .arg(src)
        .arg(out)
        .output()
        .map_err(|e| format!("mkfs.ext4: cannot run ({e}); `make deps` installs e2fsprogs"))?;
    if !o.status.success() {
        return Err(format!("mkfs.ext4 failed: {}", String::from_utf8_lossy(&o.stderr).trim()));
    }
    Ok(())
}

/// A fresh sparse copy of `base` at `to`.
pub fn fresh_copy(base: &Path, to: &Path) -> Result<(), String> {
    let _ = fs::remove_file(to);
    let ok = Command::new("cp").arg("--sparse=always").arg(base).arg(to).status().is_ok_and(|s| s.success());
    if !ok {
        fs::copy(base, to).map_err(|e| format!("copy {} to {}: {e}", base.display(), to.display()))?;
    }
    Ok(())
}

/// `e2fsck -fn` on the image after a run: `Ok` when clean, else its first lines.
pub fn check(img: &Path) -> Result<(), String> {
    let o = e2fs("e2fsck").arg("-fn").arg(img).output().map_err(|e| format!("e2fsck: cannot run ({e})"))?;
    if o.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).take(3).collect();
    Err(format!("e2fsck -fn: {} ({})", lines.join(" | "), o.status))
}
