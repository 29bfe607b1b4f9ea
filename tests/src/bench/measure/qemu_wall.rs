//! (c) QEMU microvm wall time: serial lines timestamped on the host.

use std::path::Path;
use std::time::{Duration, Instant};

use super::super::capture::{self, Capture};
use super::super::Options;
use super::qemu::qemu_base;
use super::{log, serial_milestones, show, timed_boots, Milestone, WallSection};

/// (c) QEMU microvm, TCG, wall time from spawn (serial lines timestamped on the host).
pub(super) fn qemu_wall(opts: &Options, initrd: Option<&Path>, cap_secs: f64) -> WallSection {
    let mut sec = WallSection {
        vmm: "QEMU microvm (TCG)".into(),
        command: show(&qemu_base(&opts.kernel, initrd, false)),
        boots_requested: opts.boots,
        initrd: initrd.map(super::super::rel),
        ..Default::default()
    };
    let mut ms = vec![
        Milestone::new("first serial byte", "first serial byte", true),
        Milestone::new("banner line", "banner line `Vireo ...`", true),
        Milestone::new("cpu 0 online line", "`cpu 0 online` line", true),
    ];
    if initrd.is_some() {
        ms.push(Milestone::new("init line", "`init:` line (just before 0x43)", true));
    }
    ms.push(Milestone::new("VIREO-EXIT line", "`VIREO-EXIT` line", true));
    ms.push(Milestone::new("process exit", "process exit", false));
    let boot = |i: usize| -> Result<Capture, String> {
        let cap = capture::run(qemu_base(&opts.kernel, initrd, false), Duration::from_secs(60), None)
            .map_err(|e| format!("boot {i}: cannot start QEMU: {e}"))?;
        match cap.vireo_exit() {
            Some(0) if !cap.timed_out => Ok(cap),
            _ => Err(format!("boot {i}: {}", cap.outcome())),
        }
    };
    log("c. QEMU microvm warm-up boot");
    let t = Instant::now();
    if let Err(e) = boot(0) {
        sec.failures.push(format!("warm-up: {e}"));
    }
    let warm = t.elapsed().as_secs_f64();
    timed_boots(&mut sec, "c. QEMU microvm", opts.boots, warm, cap_secs, boot, |cap, _| {
        serial_milestones(&cap, &mut ms)
    });
    sec.milestones = ms;
    sec
}
