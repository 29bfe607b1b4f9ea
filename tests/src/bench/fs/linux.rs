//! The Linux guest (/work/shared/docs/linux-comparison.md): Debian 12's cloud
//! kernel and busybox-static, fetched with `apt-get download` and unpacked
//! with `dpkg-deb -x` under build/linux/ (never installed on the host), the
//! virtio-blk modules in dependency order, and fs-bench.c built static. The
//! packages are fetched once; later runs reuse build/linux/root.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::cpio::Cpio;

/// The C twin of Vireo's fs-bench, compiled on the host.
const FS_BENCH_C: &str = include_str!("fs-bench.c");

/// Kernel command line: serial console, no crypto self-tests (half of
/// Linux's boot instructions), and the TSC frequency given rather than
/// calibrated (microvm under TCG can hang calibrating). Under
/// `-icount shift=0` the guest TSC ticks once per virtual ns, i.e. 1 GHz,
/// so Linux's clock then agrees with the TSC (fs-bench prints tsc_per_ns).
pub const CMDLINE: &str = "console=ttyS0 quiet cryptomgr.notests tsc_early_khz=1000000 idle=poll panic=-1";

/// What virtio-blk and ext4 need, by module name; the ones built into the
/// kernel are not found as files and skipped, and each found one's
/// `depends=` pulls in more.
const WANTED: &[&str] =
    &["virtio_ring", "virtio", "virtio_mmio", "virtio_blk", "crc16", "mbcache", "jbd2", "crc32c_generic", "ext4"];

/// A ready Linux guest.
#[derive(Clone, Debug)]
pub struct Guest {
    pub kernel: PathBuf,
    pub initramfs: PathBuf,
    /// e.g. `6.1.0-57-cloud-amd64`.
    pub version: String,
    /// Modules in load order.
    pub modules: Vec<String>,
}

fn run(cmd: &mut Command, what: &str) -> Result<String, String> {
    match cmd.output() {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).into_owned()),
        Ok(o) => Err(format!("{what} failed ({}): {}", o.status, String::from_utf8_lossy(&o.stderr).trim())),
        Err(e) => Err(format!("{what}: cannot run ({e})")),
    }
}

/// The versioned image package `linux-image-cloud-amd64` depends on.
fn image_package() -> Result<String, String> {
    let out = run(Command::new("apt-cache").args(["depends", "linux-image-cloud-amd64"]), "apt-cache depends")?;
    out.lines()
        .filter_map(|l| l.trim().strip_prefix("Depends:"))
        .map(str::trim)
        .find(|p| p.starts_with("linux-image-"))
        .map(str::to_string)
        .ok_or_else(|| "linux-image-cloud-amd64 names no linux-image-* dependency (not Debian 12?)".into())
}

/// Fetches and unpacks the packages into `dir/root` unless already there.
fn unpack(dir: &Path) -> Result<PathBuf, String> {
    let root = dir.join("root");
    if root.join("bin/busybox").exists() && root.join("boot").exists() {
        return Ok(root);
    }
    let debs = dir.join("debs");
    let _ = fs::remove_dir_all(&debs);
    fs::create_dir_all(&debs).map_err(|e| format!("{}: {e}", debs.display()))?;
    let image = image_package()?;
    run(Command::new("apt-get").args(["download", &image, "busybox-static"]).current_dir(&debs), "apt-get download")
        .map_err(|e| format!("{e} (no network or package index? `apt-get update` may help)"))?;
    let _ = fs::remove_dir_all(&root);
    for d in fs::read_dir(&debs).map_err(|e| e.to_string())?.flatten() {
        if d.path().extension().is_some_and(|x| x == "deb") {
            run(Command::new("dpkg-deb").arg("-x").arg(d.path()).arg(&root), "dpkg-deb -x")?;
        }
    }
    Ok(root)
}

/// `depends=` of a module file's .modinfo.
fn depends_of(ko: &[u8]) -> Vec<String> {
    ko.split(|&b| b == 0)
        .find_map(|s| s.strip_prefix(b"depends=".as_slice()))
        .map(|d| String::from_utf8_lossy(d).split(',').filter(|s| !s.is_empty()).map(str::to_string).collect())
        .unwrap_or_default()
}

/// Every `*.ko` under `dir`, by module name (`-` read as `_`).
fn find_modules(dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            find_modules(&p, out);
        } else if let Some(n) = p.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".ko")) {
            out.push((n.replace('-', "_"), p));
        }
    }
}

type DepsFn<'a> = &'a dyn Fn(&str) -> Option<Vec<String>>;

/// The wanted modules present as files, with their dependencies, each after
/// what it depends on. `deps(name)` is `None` when there is no such module
/// file (built into the kernel, or absent).
pub fn load_order(wanted: &[&str], deps: DepsFn) -> Vec<String> {
    fn visit(n: &str, deps: DepsFn, seen: &mut Vec<String>, order: &mut Vec<String>) {
        if seen.iter().any(|s| s == n) {
            return;
        }
        seen.push(n.to_string());
        if let Some(ds) = deps(n) {
            for d in &ds {
                visit(d, deps, seen, order);
            }
            order.push(n.to_string());
        }
    }
    let (mut seen, mut order) = (Vec::new(), Vec::new());
    for w in wanted {
        visit(w, deps, &mut seen, &mut order);
    }
    order
}

fn init_script(modules: &[String]) -> String {
    format!(
        "#!/bin/busybox sh\n\
         # make bench-fs: the Linux guest's /init (tests/src/bench/fs/linux.rs).\n\
         /bin/busybox --install -s /bin\n\
         mount -t proc proc /proc\n\
         mount -t sysfs sys /sys\n\
         mount -t devtmpfs dev /dev\n\
         for m in {}; do insmod /lib/modules/$m.ko || echo \"init: insmod $m failed\"; done\n\
         if mount -t ext4 /dev/vda /mnt; then\n\
         \x20 /bin/fs-bench /mnt --drop-caches\n\
         \x20 umount /mnt || echo \"init: umount failed\"\n\
         else\n\
         \x20 echo \"fs-bench: start error=cannot mount /dev/vda as ext4\"\n\
         fi\n\
         poweroff -f\n",
        modules.join(" ")
    )
}

/// Builds (or reuses) the Linux guest under `dir` (build/linux).
pub fn prepare(dir: &Path) -> Result<Guest, String> {
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let root = unpack(dir)?;
    let boot = root.join("boot");
    let kernel = fs::read_dir(&boot)
        .map_err(|e| format!("{}: {e}", boot.display()))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("vmlinuz-")))
        .ok_or("the image package has no /boot/vmlinuz-*")?;
    let version = kernel.file_name().and_then(|n| n.to_str()).unwrap_or("").trim_start_matches("vmlinuz-").to_string();
    let mut files = Vec::new();
    find_modules(&root.join("lib/modules").join(&version), &mut files);
    let deps = |n: &str| {
        let (_, p) = files.iter().find(|(m, _)| m == n)?;
        fs::read(p).ok().map(|b| depends_of(&b))
    };
    let modules = load_order(WANTED, &deps);
    if !modules.iter().any(|m| m == "virtio_blk") {
        return Err(format!("no virtio_blk.ko for {version}"));
    }
    let exe = dir.join("fs-bench");
    let src = dir.join("fs-bench.c");
    fs::write(&src, FS_BENCH_C).map_err(|e| format!("{}: {e}", src.display()))?;
    run(Command::new("gcc").args(["-static", "-O2", "-o"]).arg(&exe).arg(&src), "gcc -static")
        .map_err(|e| format!("{e} (gcc and libc6-dev are needed)"))?;
    let mut c = Cpio::default();
    for d in ["bin", "dev", "proc", "sys", "mnt", "lib", "lib/modules"] {
        c.dir(d);
    }
    let read = |p: &Path| fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    c.file("bin/busybox", 0o755, &read(&root.join("bin/busybox"))?);
    c.file("bin/fs-bench", 0o755, &read(&exe)?);
    for m in &modules {
        let (_, p) = files.iter().find(|(n, _)| n == m).ok_or("a module file vanished")?;
        c.file(&format!("lib/modules/{m}.ko"), 0o644, &read(p)?);
    }
    c.file("init", 0o755, init_script(&modules).as_bytes());
    let initramfs = dir.join("initramfs.cpio");
    fs::write(&initramfs, c.finish()).map_err(|e| format!("{}: {e}", initramfs.display()))?;
    Ok(Guest { kernel, initramfs, version, modules })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn modinfo_depends() {
        let ko = b"\x7fELF...\0license=GPL\0depends=virtio,virtio_ring\0name=virtio_blk\0";
        assert_eq!(depends_of(ko), s(&["virtio", "virtio_ring"]));
        assert!(depends_of(b"\0depends=\0").is_empty());
        assert!(depends_of(b"nothing").is_empty());
    }

    #[test]
    fn dependencies_first_and_built_in_ones_skipped() {
        let all = [
            ("virtio_blk", s(&["virtio", "virtio_ring"])),
            ("virtio", s(&["virtio_ring"])),
            ("virtio_ring", vec![]),
            ("virtio_mmio", s(&["virtio", "virtio_ring"])),
        ];
        let deps = |n: &str| all.iter().find(|(m, _)| *m == n).map(|(_, d)| d.clone());
        // ext4 is built in (no file): skipped; virtio_blk pulls its deps in first.
        assert_eq!(
            load_order(&["virtio_blk", "virtio_mmio", "ext4"], &deps),
            s(&["virtio_ring", "virtio", "virtio_blk", "virtio_mmio"])
        );
    }

    #[test]
    fn init_loads_in_order_and_always_powers_off() {
        let t = init_script(&s(&["virtio_ring", "virtio"]));
        assert!(t.contains("for m in virtio_ring virtio; do insmod"));
        assert!(t.contains("/bin/fs-bench /mnt --drop-caches"));
        assert!(t.trim_end().ends_with("poweroff -f"));
    }
}
