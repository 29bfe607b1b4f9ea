//! (b) vmm-harness on /dev/kvm: the host timeline of its trace JSON and the
//! guest's own `bootstat` figures.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::super::capture::{self, Capture};
use super::super::harness_json::{self, trace_key};
use super::super::{bootstat, Options, CMDLINE};
use super::probe::initrd_probe;
use super::{code_label, kvm_usable, log, show, timed_boots, Milestone, WallSection};

const HARNESS_KEYS: [(&str, &str); 6] = [
    ("spawn", "spawn"),
    ("process start", "process start (main)"),
    ("vm created", "VM created"),
    ("memory ready", "memory ready"),
    ("kernel loaded", "kernel loaded"),
    ("first KVM_RUN", "first KVM_RUN"),
];

/// Seconds vmm-harness (`--timeout`) gives the probe boot with the initrd
/// (enough for a whole boot here; a guest stuck in user space ends there).
pub const PROBE_TIMEOUT_SECS: u64 = 20;
/// Seconds vmm-harness (`--timeout`) gives each timed boot.
pub const BOOT_TIMEOUT_SECS: u64 = 60;

/// (b) vmm-harness on /dev/kvm.
pub(super) fn harness(
    opts: &Options,
    initrd: Option<&Path>,
    pvm: bool,
    cap_secs: f64,
) -> (WallSection, Option<String>) {
    const VMM: &str = "vmm-harness";
    if !opts.harness.exists() {
        return (
            WallSection::skipped(
                VMM,
                format!("skipped: {} missing (`make harness`)", super::super::rel(&opts.harness)),
            ),
            None,
        );
    }
    if let Err(why) = kvm_usable() {
        return (WallSection::skipped(VMM, why), None);
    }
    let json = opts.out_dir.join("harness-trace.json");
    let make = |initrd: Option<&Path>, timeout: u64| {
        let mut c = Command::new(&opts.harness);
        c.arg("boot").arg("--kernel").arg(&opts.kernel);
        if let Some(i) = initrd {
            c.arg("--initrd").arg(i);
        }
        c.args(["--cmdline", CMDLINE, "--timeout"]).arg(timeout.to_string()).arg("--trace-json").arg(&json);
        c
    };
    let run =
        |i: usize, initrd: Option<&Path>, timeout: u64| -> Result<(Option<harness_json::Trace>, Capture), String> {
            let _ = std::fs::remove_file(&json);
            let cap =
                capture::run(make(initrd, timeout), Duration::from_secs(timeout + 30), Some("VMM_HARNESS_SPAWN_NS"))
                    .map_err(|e| format!("boot {i}: cannot start {}: {e}", opts.harness.display()))?;
            let trace = std::fs::read_to_string(&json).ok().and_then(|t| harness_json::parse(&t).ok());
            Ok((trace, cap))
        };
    let check = |i: usize,
                 r: Result<(Option<harness_json::Trace>, Capture), String>|
     -> Result<(harness_json::Trace, Capture), String> {
        let (trace, cap) = r?;
        let status = cap.status.and_then(|s| s.code());
        if cap.timed_out || status != Some(0) {
            return Err(format!("boot {i}: exit status {status:?}: {}", cap.outcome()));
        }
        let trace = match trace {
            Some(t) => t,
            None => {
                let text = std::fs::read_to_string(&json).map_err(|e| format!("boot {i}: no trace JSON: {e}"))?;
                harness_json::parse(&text).map_err(|e| format!("boot {i}: {e}"))?
            }
        };
        Ok((trace, cap))
    };

    // One boot with the initrd decides whether the timed boots can use it.
    // When it works it is also the warm-up boot.
    let mut used = initrd;
    let mut probe = None;
    let mut warm = None;
    if let Some(i) = initrd {
        log("b. vmm-harness boot with the initrd (probe and warm-up)");
        let t = Instant::now();
        let r = run(0, Some(i), PROBE_TIMEOUT_SECS);
        let secs = t.elapsed().as_secs_f64();
        let completed = matches!(&r, Ok((_, cap))
            if !cap.timed_out && cap.status.and_then(|s| s.code()) == Some(0));
        if completed {
            warm = Some((check(0, r), secs));
        } else {
            probe = Some(initrd_probe(show(&make(Some(i), PROBE_TIMEOUT_SECS)), &r, pvm));
            used = None;
        }
    }
    let mut sec = WallSection {
        vmm: VMM.into(),
        command: format!("VMM_HARNESS_SPAWN_NS=<now> {}", show(&make(used, BOOT_TIMEOUT_SECS))),
        boots_requested: opts.boots,
        initrd: used.map(super::super::rel),
        initrd_probe: probe,
        ..Default::default()
    };
    let mut ms: Vec<Milestone> = HARNESS_KEYS.iter().map(|(k, l)| Milestone::new(k, l, false)).collect();
    ms.push(Milestone::new(&trace_key(0x40), &code_label(0x40), true));
    ms.push(Milestone::new("first serial byte", "first serial byte", false));
    ms.push(Milestone::new(&trace_key(0x42), &code_label(0x42), true));
    if used.is_some() {
        ms.push(Milestone::new(&trace_key(0x41), &code_label(0x41), true));
        ms.push(Milestone::new(&trace_key(0x43), &code_label(0x43), true));
    } else {
        ms.push(Milestone::new(&trace_key(0x41), "0x41 kernel's mark (no initrd)", true));
        ms.push(Milestone::new(&trace_key(0x43), "0x43 init ready (no initrd)", true));
    }
    ms.push(Milestone::new("boot timer", "boot timer (Firecracker MMIO)", false));
    ms.push(Milestone::new("exit", "exit", false));
    let mut guest: Vec<Milestone> =
        vec![Milestone::new("host main to first KVM_RUN", "host: main() -> first KVM_RUN", false)];
    let mut first_stdout = None;

    let boot = |i: usize| check(i, run(i, used, BOOT_TIMEOUT_SECS));

    let (warm, warm_secs) = match warm {
        Some(w) => w,
        None => {
            log(&format!(
                "b. vmm-harness warm-up boot{}",
                if used.is_none() && initrd.is_some() {
                    " (kernel only: the boot with the initrd did not complete)"
                } else {
                    ""
                }
            ));
            let t = Instant::now();
            let w = boot(0);
            (w, t.elapsed().as_secs_f64())
        }
    };
    if let Err(e) = &warm {
        sec.failures.push(format!("warm-up: {e}"));
    }
    if let Ok((_, cap)) = &warm {
        first_stdout = Some(cap.stdout.clone());
    }
    let mut last_exits = None;
    timed_boots(&mut sec, "b. vmm-harness", opts.boots, warm_secs, cap_secs, boot, |(trace, cap), _| {
        for (k, t) in trace.since_spawn() {
            if let Some(m) = ms.iter_mut().find(|m| m.key == k) {
                m.values.push(t);
            }
        }
        last_exits = trace.exits_to_user.or(last_exits);
        if let (Some(a), Some(b)) = (trace.first("process start"), trace.first("first KVM_RUN")) {
            guest[0].values.push(b - a);
        }
        for p in bootstat::parse(&cap.stdout).phases {
            let key = format!("guest tsc us: {}", p.name);
            match guest.iter_mut().find(|m| m.key == key) {
                Some(m) => m.values.push(p.us_since_entry as f64),
                None => {
                    let what = if used.is_none() && p.name == bootstat::FIRST_USER_INSTRUCTION {
                        "kernel's 0x41 mark".to_string()
                    } else {
                        p.name.clone()
                    };
                    let mut m = Milestone::new(&key, &format!("guest TSC since PVH entry: {what}"), false);
                    m.values.push(p.us_since_entry as f64);
                    guest.push(m);
                }
            }
        }
        if first_stdout.is_none() {
            first_stdout = Some(cap.stdout);
        }
    });
    exit_counts(&mut sec, opts, &json, last_exits);
    if ms[0].values.is_empty() && sec.boots_ok > 0 {
        sec.notes.push("the harness recorded no `spawn` event: times are since its main()".into());
    }
    sec.milestones = ms;
    sec.extra = guest;
    let _ = std::fs::remove_file(&json);
    (sec, first_stdout)
}

/// VM exits to the VMM up to the first user instruction: the timed boots'
/// (their command line) and one kernel-only boot with `quiet`, which keeps
/// the boot chatter (a COM1 exit per byte) off the serial port.
fn exit_counts(sec: &mut WallSection, opts: &Options, json: &Path, timed: Option<u64>) {
    let _ = std::fs::remove_file(json);
    let mut c = Command::new(&opts.harness);
    c.arg("boot").arg("--kernel").arg(&opts.kernel).args(["--cmdline", "quiet", "--timeout", "60"]);
    c.arg("--trace-json").arg(json);
    let quiet = capture::run(c, Duration::from_secs(90), None)
        .ok()
        .and_then(|_| std::fs::read_to_string(json).ok())
        .and_then(|t| harness_json::parse(&t).ok())
        .and_then(|t| t.exits_to_user);
    let n = |v: Option<u64>| v.map_or("-".to_string(), |n| n.to_string());
    sec.notes.push(format!(
        "VM exits to the VMM up to the first user instruction: {} (`{CMDLINE}`), {} with `quiet` (kernel only)",
        n(timed),
        n(quiet)
    ));
}
