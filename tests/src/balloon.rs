//! Free-page reporting in VM tests: a virtio-balloon device (virtio-mmio on
//! microvm, virtio-pci on q35), and the QEMU process's resident memory as
//! the host sees it; the host's balloon target set over QMP.
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::{Machine, Qemu};

impl Qemu {
    /// Attaches a virtio-balloon, offering VIRTIO_BALLOON_F_REPORTING when
    /// `reporting` (QEMU's `free-page-reporting=on`).
    pub fn with_balloon(mut self, reporting: bool) -> Self {
        let on = if reporting { "on" } else { "off" };
        match self.machine {
            Machine::Microvm => {
                self.extra.extend(["-global".into(), "virtio-mmio.force-legacy=false".into()]);
                self.extra.extend(["-device".into(), format!("virtio-balloon-device,free-page-reporting={on}")]);
            }
            Machine::Q35 => {
                self.extra.extend(["-device".into(), format!("virtio-balloon-pci,free-page-reporting={on}")]);
            }
        }
        self
    }
}

/// The resident memory of process `pid` in bytes (`VmRSS` of
/// /proc/PID/status), None once it is gone.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Where a test's QMP socket goes: unique per process and call.
pub fn qmp_socket_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("vireo-qmp-{}-{name}.sock", std::process::id()))
}

impl Qemu {
    /// Opens a QMP server on the Unix socket `path` (not waited for).
    pub fn with_qmp(mut self, path: &Path) -> Self {
        self.extra.extend(["-qmp".into(), format!("unix:{},server=on,wait=off", path.display())]);
        self
    }
}

/// Asks QEMU, over QMP at `path`, to shrink the guest to `target_bytes`
/// (`balloon`): the device's `num_pages` becomes what it should give up.
/// Retries connecting for 10 s; returns QEMU's reply line.
pub fn qmp_balloon(path: &Path, target_bytes: u64) -> String {
    let t = Instant::now();
    let stream = loop {
        match UnixStream::connect(path) {
            Ok(s) => break s,
            Err(e) if t.elapsed() > Duration::from_secs(10) => panic!("QMP at {}: {e}", path.display()),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("QMP read timeout");
    let mut w = stream.try_clone().expect("QMP socket");
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    let mut reply = || {
        line.clear();
        r.read_line(&mut line).expect("QMP reply");
        line.clone()
    };
    reply(); // the greeting
    w.write_all(b"{\"execute\":\"qmp_capabilities\"}\n").expect("QMP write");
    reply();
    let cmd = format!("{{\"execute\":\"balloon\",\"arguments\":{{\"value\":{target_bytes}}}}}\n");
    w.write_all(cmd.as_bytes()).expect("QMP write");
    reply()
}
