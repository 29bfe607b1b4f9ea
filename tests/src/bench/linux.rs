//! The Linux guest the benchmarks compare with
//! (/work/shared/docs/linux-comparison.md): Debian 12's cloud kernel and
//! busybox-static, fetched with `apt-get download` and unpacked with
//! `dpkg-deb -x` under build/linux/ (never installed on the host), and the
//! kernel modules a guest needs, in dependency order. The packages are
//! fetched once; later runs reuse build/linux/root. Each benchmark builds its
//! own initramfs from these pieces ([`super::cpio`]): `fs::linux`, `http::linux`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::cpio::Cpio;

/// Kernel command line: serial console, no crypto self-tests (half of
/// Linux's boot instructions), and the TSC frequency given rather than
/// calibrated (microvm under TCG can hang calibrating). Under
/// `-icount shift=0` the guest TSC ticks once per virtual ns, i.e. 1 GHz,
/// so Linux's clock then agrees with the TSC. `idle=poll`: the idle loop
/// never halts, so idle time is instructions counted as idle
/// (/proc/timer_list), never a jump of QEMU's virtual clock.
pub const CMDLINE: &str = "console=ttyS0 quiet cryptomgr.notests tsc_early_khz=1000000 idle=poll panic=-1";

/// A ready Linux guest (either benchmark's).
#[derive(Clone, Debug)]
pub struct Guest {
    pub kernel: PathBuf,
    pub initramfs: PathBuf,
    /// e.g. `6.1.0-57-cloud-amd64`.
    pub version: String,
    /// Modules in load order.
    pub modules: Vec<String>,
}

/// The unpacked packages: the kernel and its module files.
#[derive(Clone, Debug)]
pub struct Base {
    /// build/linux/root.
    pub root: PathBuf,
    pub kernel: PathBuf,
    /// e.g. `6.1.0-57-cloud-amd64`.
    pub version: String,
    /// Every module file, by module name (`-` read as `_`).
    files: Vec<(String, PathBuf)>,
}

pub fn run(cmd: &mut Command, what: &str) -> Result<String, String> {
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

/// Fetches (once) and finds the kernel and its modules under `dir` (build/linux).
pub fn base(dir: &Path) -> Result<Base, String> {
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
    Ok(Base { root, kernel, version, files })
}

fn read(p: &Path) -> Result<Vec<u8>, String> {
    fs::read(p).map_err(|e| format!("{}: {e}", p.display()))
}

impl Base {
    /// `wanted` and what they depend on, in load order (built-in ones left out).
    pub fn modules(&self, wanted: &[&str]) -> Vec<String> {
        let deps = |n: &str| {
            let (_, p) = self.files.iter().find(|(m, _)| m == n)?;
            fs::read(p).ok().map(|b| depends_of(&b))
        };
        load_order(wanted, &deps)
    }

    /// A cpio with the directories every guest's /init uses, busybox, and
    /// `modules` as lib/modules/NAME.ko (the init script adds itself).
    pub fn initramfs(&self, modules: &[String]) -> Result<Cpio, String> {
        let mut c = Cpio::default();
        for d in ["bin", "dev", "proc", "sys", "mnt", "lib", "lib/modules"] {
            c.dir(d);
        }
        c.file("bin/busybox", 0o755, &read(&self.root.join("bin/busybox"))?);
        for m in modules {
            let (_, p) = self.files.iter().find(|(n, _)| n == m).ok_or_else(|| format!("no {m}.ko"))?;
            c.file(&format!("lib/modules/{m}.ko"), 0o644, &read(p)?);
        }
        Ok(c)
    }
}

/// The first lines of every guest's /init: busybox's applets, the virtual
/// file systems, and the modules in order.
pub fn init_prologue(modules: &[String]) -> String {
    format!(
        "#!/bin/busybox sh\n\
         /bin/busybox --install -s /bin\n\
         mount -t proc proc /proc\n\
         mount -t sysfs sys /sys\n\
         mount -t devtmpfs dev /dev\n\
         for m in {}; do insmod /lib/modules/$m.ko || echo \"init: insmod $m failed\"; done\n",
        modules.join(" ")
    )
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
            ("virtio_net", s(&["virtio_ring", "virtio", "net_failover"])),
            ("net_failover", s(&["failover"])),
            ("failover", vec![]),
        ];
        let deps = |n: &str| all.iter().find(|(m, _)| *m == n).map(|(_, d)| d.clone());
        // ext4 is built in (no file): skipped; virtio_blk pulls its deps in first.
        assert_eq!(
            load_order(&["virtio_blk", "virtio_mmio", "ext4"], &deps),
            s(&["virtio_ring", "virtio", "virtio_blk", "virtio_mmio"])
        );
        assert_eq!(
            load_order(&["virtio_mmio", "virtio_net"], &deps),
            s(&["virtio_ring", "virtio", "virtio_mmio", "failover", "net_failover", "virtio_net"])
        );
    }

    #[test]
    fn prologue_loads_in_order() {
        let t = init_prologue(&s(&["virtio_ring", "virtio"]));
        assert!(t.starts_with("#!/bin/busybox sh\n"));
        assert!(t.contains("for m in virtio_ring virtio; do insmod"));
    }
}
