//! The Linux guest of `make bench-fs` (the shared pieces are in
//! [`crate::bench::linux`]): the virtio-blk modules, and fs-bench.c built
//! static on the host, run by /init on the ext4 disk.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::bench::linux::{self as shared, run};

/// The C twin of Vireo's fs-bench, compiled on the host.
const FS_BENCH_C: &str = include_str!("fs-bench.c");

/// The shared command line (`idle=poll`, the TSC at 1 GHz; see there).
pub const CMDLINE: &str = shared::CMDLINE;

/// What virtio-blk and ext4 need, by module name; the ones built into the
/// kernel are not found as files and skipped, and each found one's
/// `depends=` pulls in more.
pub const WANTED: &[&str] =
    &["virtio_ring", "virtio", "virtio_mmio", "virtio_blk", "crc16", "mbcache", "jbd2", "crc32c_generic", "ext4"];

pub use crate::bench::linux::Guest;

fn init_script(modules: &[String]) -> String {
    shared::init_prologue(modules)
        + "# make bench-fs: the Linux guest's /init (tests/src/bench/fs/linux.rs).\n\
           if mount -t ext4 /dev/vda /mnt; then\n\
           \x20 /bin/fs-bench /mnt --drop-caches\n\
           \x20 umount /mnt || echo \"init: umount failed\"\n\
           else\n\
           \x20 echo \"fs-bench: start error=cannot mount /dev/vda as ext4\"\n\
           fi\n\
           poweroff -f\n"
}

/// Builds (or reuses) the Linux guest under `dir` (build/linux).
pub fn prepare(dir: &Path) -> Result<Guest, String> {
    let base = shared::base(dir)?;
    let modules = base.modules(WANTED);
    if !modules.iter().any(|m| m == "virtio_blk") {
        return Err(format!("no virtio_blk.ko for {}", base.version));
    }
    let exe = dir.join("fs-bench");
    let src = dir.join("fs-bench.c");
    fs::write(&src, FS_BENCH_C).map_err(|e| format!("{}: {e}", src.display()))?;
    run(Command::new("gcc").args(["-static", "-O2", "-o"]).arg(&exe).arg(&src), "gcc -static")
        .map_err(|e| format!("{e} (gcc and libc6-dev are needed)"))?;
    let mut c = base.initramfs(&modules)?;
    c.file("bin/fs-bench", 0o755, &fs::read(&exe).map_err(|e| format!("{}: {e}", exe.display()))?);
    c.file("init", 0o755, init_script(&modules).as_bytes());
    let initramfs = dir.join("initramfs.cpio");
    fs::write(&initramfs, c.finish()).map_err(|e| format!("{}: {e}", initramfs.display()))?;
    Ok(Guest { kernel: base.kernel, initramfs, version: base.version, modules })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_loads_in_order_and_always_powers_off() {
        let t = init_script(&["virtio_ring".to_string(), "virtio".to_string()]);
        assert!(t.contains("for m in virtio_ring virtio; do insmod"));
        assert!(t.contains("/bin/fs-bench /mnt --drop-caches"));
        assert!(t.trim_end().ends_with("poweroff -f"));
    }
}
