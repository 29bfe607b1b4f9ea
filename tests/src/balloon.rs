//! Free-page reporting in VM tests: a virtio-balloon device (virtio-mmio on
//! microvm, virtio-pci on q35), and the QEMU process's resident memory as
//! the host sees it.
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
