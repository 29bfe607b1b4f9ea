//! The Linux guest of `make bench-http` (the shared pieces are in
//! [`crate::bench::linux`]): virtio-blk and ext4 (the site's disk, as for
//! bench-fs) and virtio-net over virtio-mmio. /init mounts the disk
//! read-only, gives eth0 QEMU user networking's static address, starts
//! `busybox httpd -f -p 80 -h /mnt/srv/bench` in the background and then
//! answers `mark` and `quit` on the console, as bench-mark does on Vireo.

use std::fs;
use std::path::Path;

use super::site;
use crate::bench::linux as shared;

/// The shared command line (`idle=poll`, the TSC at 1 GHz; see there).
pub const CMDLINE: &str = shared::CMDLINE;

/// virtio-net with its dependencies (net_failover, failover), after bench-fs's disk modules.
pub fn wanted() -> Vec<&'static str> {
    let mut w = super::super::fs::linux::WANTED.to_vec();
    w.push("virtio_net");
    w
}

pub use crate::bench::linux::Guest;

/// /init after the shared prologue. `mark`: "now" and the idle plus iowait
/// sleep times (ns; with `idle=poll` they are instructions spent idling)
/// from /proc/timer_list, which has nanoseconds where /proc/uptime has
/// hundredths; free memory from /proc/meminfo.
fn init_script(modules: &[String]) -> String {
    shared::init_prologue(modules)
        + &format!(
            "# make bench-http: the Linux guest's /init (tests/src/bench/http/linux.rs).\n\
             stty -echo 2>/dev/null\n\
             mount -t ext4 -o ro /dev/vda /mnt || echo \"bench: error=cannot mount /dev/vda as ext4\"\n\
             ip link set lo up\n\
             ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up && ip route add default via 10.0.2.2 \
             || echo \"bench: error=no eth0\"\n\
             httpd -f -p 80 -h /mnt/{dir} &\n\
             pid=$!\n\
             echo \"bench: started busybox httpd\"\n\
             while read -r cmd; do\n\
             \x20 case \"$cmd\" in\n\
             \x20 mark)\n\
             \x20   set -- $(awk '/^now at/ {{now = $3}} /(idle|iowait)_sleeptime/ {{idle += $3}} \
             END {{printf \"%.0f %.0f\\n\", now, idle}}' /proc/timer_list)\n\
             \x20   free=$(awk '/^MemFree:/ {{print $2}}' /proc/meminfo)\n\
             \x20   echo \"bench: mark uptime_ns=$1 idle_ns=$2 free_kib=$free\";;\n\
             \x20 quit) kill $pid; echo \"bench: quit\"; break;;\n\
             \x20 '') ;;\n\
             \x20 *) echo \"bench: error=unknown command '$cmd' (mark, quit)\";;\n\
             \x20 esac\n\
             done\n\
             umount /mnt\n\
             poweroff -f\n",
            dir = site::DIR
        )
}

/// Builds (or reuses) the Linux guest under `dir` (build/linux).
pub fn prepare(dir: &Path) -> Result<Guest, String> {
    let base = shared::base(dir)?;
    let modules = base.modules(&wanted());
    for m in ["virtio_blk", "virtio_net"] {
        if !modules.iter().any(|x| x == m) {
            return Err(format!("no {m}.ko for {}", base.version));
        }
    }
    let mut c = base.initramfs(&modules)?;
    c.file("init", 0o755, init_script(&modules).as_bytes());
    let initramfs = dir.join("initramfs-http.cpio");
    fs::write(&initramfs, c.finish()).map_err(|e| format!("{}: {e}", initramfs.display()))?;
    Ok(Guest { kernel: base.kernel, initramfs, version: base.version, modules })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_serves_marks_and_powers_off() {
        let t = init_script(&["failover".to_string(), "net_failover".to_string(), "virtio_net".to_string()]);
        assert!(t.contains("for m in failover net_failover virtio_net; do insmod"));
        assert!(t.contains("httpd -f -p 80 -h /mnt/srv/bench &"));
        assert!(t.contains("echo \"bench: mark uptime_ns=$1 idle_ns=$2 free_kib=$free\""));
        assert!(t.contains("{now = $3}"), "{t}");
        assert!(t.trim_end().ends_with("poweroff -f"));
        assert!(wanted().contains(&"virtio_net") && wanted().contains(&"virtio_blk"));
    }
}
