//! (d) Cloud Hypervisor, when present: serial lines timestamped on the host
//! and its own debug-port log lines (parsed by [`crate::bench::chv`]).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::super::capture::{self, Capture};
use super::super::harness_json::trace_key;
use super::super::{chv, Options, CMDLINE};
use super::{code_label, kvm_usable, log, serial_milestones, show, timed_boots, Milestone, WallSection, CODES};

/// The Cloud Hypervisor binary: CLOUD_HYPERVISOR (a path, or a name looked up
/// in PATH), else `cloud-hypervisor` on PATH.
pub fn find_chv(env: Option<&str>, path: Option<&str>) -> Option<PathBuf> {
    let name = env.map(str::trim).filter(|p| !p.is_empty()).unwrap_or("cloud-hypervisor");
    if name.contains('/') {
        let p = PathBuf::from(name);
        return p.is_file().then_some(p);
    }
    path.and_then(|dirs| std::env::split_paths(dirs).map(|d| d.join(name)).find(|c| c.is_file()))
}

/// (d) Cloud Hypervisor, when present.
pub(super) fn cloud_hypervisor(opts: &Options, initrd: Option<&Path>, cap_secs: f64) -> WallSection {
    const VMM: &str = "Cloud Hypervisor";
    let env = std::env::var("CLOUD_HYPERVISOR").ok();
    let path = std::env::var("PATH").ok();
    let Some(bin) = find_chv(env.as_deref(), path.as_deref()) else {
        return WallSection::skipped(VMM, "skipped: cloud-hypervisor not found".into());
    };
    if let Err(why) = kvm_usable() {
        return WallSection::skipped(VMM, why);
    }
    let make = || {
        let mut c = Command::new(&bin);
        c.arg("--kernel").arg(&opts.kernel);
        if let Some(i) = initrd {
            c.arg("--initramfs").arg(i);
        }
        c.args(["--cpus", "boot=1", "--memory", "size=256M", "--serial", "tty", "--console", "off"]);
        c.args(["--cmdline", CMDLINE]);
        c
    };
    let mut sec = WallSection {
        vmm: VMM.into(),
        command: show(&make()),
        boots_requested: opts.boots,
        initrd: initrd.map(super::super::rel),
        ..Default::default()
    };
    let mut ms = vec![
        Milestone::new("first serial byte", "first serial byte", true),
        Milestone::new("banner line", "banner line `Vireo ...`", true),
    ];
    for c in CODES {
        ms.push(Milestone::new(&trace_key(c), &format!("{} (log line)", code_label(c)), true));
    }
    ms.push(Milestone::new("cpu 0 online line", "`cpu 0 online` line", false));
    if initrd.is_some() {
        ms.push(Milestone::new("init line", "`init:` line (just before 0x43)", false));
    }
    ms.push(Milestone::new("VIREO-EXIT line", "`VIREO-EXIT` line", true));
    ms.push(Milestone::new("process exit", "process exit", false));
    let mut extra: Vec<Milestone> = CODES
        .iter()
        .map(|&c| {
            Milestone::new(&format!("chv port us {c:#04x}"), &format!("CHV's own debug-port time: {c:#04x}"), true)
        })
        .collect();
    let boot = |i: usize| -> Result<Capture, String> {
        let cap = capture::run(make(), Duration::from_secs(60), None)
            .map_err(|e| format!("boot {i}: cannot start {}: {e}", bin.display()))?;
        match cap.vireo_exit() {
            Some(0) if !cap.timed_out => Ok(cap),
            _ => Err(format!("boot {i}: {}", cap.outcome())),
        }
    };
    log("d. Cloud Hypervisor warm-up boot");
    let t = Instant::now();
    if let Err(e) = boot(0) {
        sec.failures.push(format!("warm-up: {e}"));
    }
    let warm = t.elapsed().as_secs_f64();
    timed_boots(&mut sec, "d. Cloud Hypervisor", opts.boots, warm, cap_secs, boot, |cap, boots_ok| {
        serial_milestones(&cap, &mut ms);
        for line in &cap.err_lines {
            if let Some(w) = chv::parse_line(&line.text) {
                let key = trace_key(w.code);
                if let Some(m) = ms.iter_mut().find(|m| m.key == key && m.values.len() < boots_ok) {
                    m.values.push(line.t_us);
                }
                let key = format!("chv port us {:#04x}", w.code);
                if let Some(m) = extra.iter_mut().find(|m| m.key == key && m.values.len() < boots_ok) {
                    m.values.push(w.port_us as f64);
                }
            }
        }
    });
    sec.notes.push(
        "trace-code times are when Cloud Hypervisor's debug-port log line reached us on stderr; its own figure (since the VM was created) is listed separately".into(),
    );
    sec.milestones = ms;
    sec.extra = extra;
    sec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chv_lookup() {
        let dir = std::env::temp_dir().join(format!("vireo-bench-chv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("cloud-hypervisor");
        std::fs::write(&bin, b"").unwrap();
        let path = dir.to_string_lossy().into_owned();
        assert_eq!(find_chv(None, Some(&path)), Some(bin.clone()));
        assert_eq!(find_chv(None, Some("/nonexistent")), None);
        assert_eq!(find_chv(Some(bin.to_str().unwrap()), None), Some(bin.clone()));
        assert_eq!(find_chv(Some("/nonexistent/chv"), Some(&path)), None);
        assert_eq!(find_chv(Some("cloud-hypervisor"), Some(&path)), Some(bin.clone()));
        assert_eq!(find_chv(Some(""), Some(&path)), Some(bin));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
