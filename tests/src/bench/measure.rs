//! The measurements: (a) guest instructions under QEMU `-icount`, (b) the
//! vmm-harness host timeline, (c) QEMU microvm wall time, (d) Cloud
//! Hypervisor, (e) memory in use and image sizes.
//!
//! Every boot uses the initrd (`build/initrd.cpio`) when it exists, so init
//! runs and 0x41 is the first user instruction of `/init`. vmm-harness first
//! tries one boot with the initrd; when that fails (kvm-pvm: guest user mode
//! cannot make system calls) its timed boots are kernel only and the section
//! records what the probe reached ([`InitrdProbe`]).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::capture::{self, Capture};
use super::harness_json::{self, trace_key};
use super::host::{self, Host};
use super::mm::{self, MmStats};
use super::{bootstat, chv, Options, CMDLINE};
use pv_abi::boot_trace;

/// One named point of a timeline, with one value per successful run.
#[derive(Clone, Debug, PartialEq)]
pub struct Milestone {
    /// Stable machine-readable key (JSON).
    pub key: String,
    /// What the table and the figure call it.
    pub label: String,
    pub values: Vec<f64>,
    /// Shown as "not reached" when empty (otherwise an empty milestone is left out).
    pub required: bool,
}

impl Milestone {
    fn new(key: &str, label: &str, required: bool) -> Self {
        Milestone {
            key: key.into(),
            label: label.into(),
            values: Vec::new(),
            required,
        }
    }
}

/// A VMM measured over N boots on the host clock (microseconds since spawn).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WallSection {
    pub vmm: String,
    pub skipped: Option<String>,
    pub command: String,
    pub boots_requested: usize,
    pub boots_run: usize,
    pub boots_ok: usize,
    pub failures: Vec<String>,
    /// Microseconds since spawn, in timeline order.
    pub milestones: Vec<Milestone>,
    /// Other per-boot figures (their labels say what they count).
    pub extra: Vec<Milestone>,
    pub notes: Vec<String>,
    /// The initrd the timed boots used (display path); `None`: kernel only.
    pub initrd: Option<String>,
    /// Set when a boot with the initrd was tried and failed, so that the
    /// timed boots are kernel only.
    pub initrd_probe: Option<InitrdProbe>,
}

/// One vmm-harness boot with the initrd that did not complete.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InitrdProbe {
    pub command: String,
    /// How it ended, e.g. `exit 125 (vCPU failure) at 102.9 ms`.
    pub outcome: String,
    /// The harness's error line, summarised (`KVM_EXIT_INTERNAL_ERROR ... on XGETBV ...`).
    pub failure: Option<String>,
    /// Labels of the boot-trace codes it reached and did not reach.
    pub reached: Vec<String>,
    pub not_reached: Vec<String>,
    /// Why the timed boots are kernel only (the table and docs print it).
    pub verdict: String,
}

impl WallSection {
    fn skipped(vmm: &str, why: String) -> Self {
        WallSection {
            vmm: vmm.into(),
            skipped: Some(why),
            ..Default::default()
        }
    }
}

/// Section (a).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IcountSection {
    pub skipped: Option<String>,
    pub command: String,
    /// The initrd booted (display path); `None`: kernel only, 0x41 is then
    /// the kernel's own mark and 0x43 is not reached.
    pub initrd: Option<String>,
    pub runs: usize,
    pub runs_ok: usize,
    pub failures: Vec<String>,
    pub tsc_hz: Option<u64>,
    /// Instructions from PVH entry to each boot-trace code.
    pub codes: Vec<Milestone>,
    /// Instructions from PVH entry to the end of each `bootstat` phase.
    pub phases: Vec<Milestone>,
}

/// Everything one `make bench` measured.
#[derive(Clone, Debug)]
pub struct Results {
    pub started_unix: u64,
    pub elapsed_secs: f64,
    pub host: Host,
    pub qemu_version: String,
    pub icount: IcountSection,
    pub harness: WallSection,
    pub qemu_wall: WallSection,
    pub chv: WallSection,
    /// Idle memory: the `bootstat: memory` line printed after init exited.
    pub memory_idle: Option<MmStats>,
    pub memory_idle_source: String,
    /// The early `mm:` line (after memory set-up, before init).
    pub memory_setup: Option<MmStats>,
    pub memory_setup_source: String,
    pub kernel_path: PathBuf,
    pub kernel_size: Option<u64>,
    pub initrd_path: PathBuf,
    pub initrd_size: Option<u64>,
}

/// The boot-trace codes, in boot order, with their names.
pub const CODES: [u8; 4] = [
    boot_trace::KERNEL_ENTRY,
    boot_trace::KERNEL_INIT_DONE,
    boot_trace::USER_ENTRY,
    boot_trace::INIT_READY,
];

fn code_label(code: u8) -> String {
    format!("{code:#04x} {}", boot_trace::name(code).unwrap_or("?"))
}

/// A `bootstat` phase name, with its boot-trace code when it ends at one.
fn phase_label(name: &str) -> String {
    match CODES.iter().find(|&&c| boot_trace::name(c) == Some(name)) {
        Some(c) => format!("{name} ({c:#04x})"),
        None => name.to_string(),
    }
}

fn log(msg: &str) {
    eprintln!("vireo-bench: {msg}");
}

fn qemu_base(kernel: &Path, initrd: Option<&Path>, icount: bool) -> Command {
    let mut c = Command::new("qemu-system-x86_64");
    c.args(["-M", "microvm", "-accel", "tcg"]);
    if icount {
        c.args(["-icount", "shift=0,sleep=off"]);
    }
    c.args([
        "-smp",
        "1",
        "-m",
        "256M",
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
    ]);
    c.args([
        "-serial",
        "stdio",
        "-no-reboot",
        "-device",
        "isa-debug-exit,iobase=0xf4,iosize=4",
    ]);
    c.arg("-kernel").arg(kernel);
    if let Some(i) = initrd {
        c.arg("-initrd").arg(i);
    }
    c.args(["-append", CMDLINE]);
    c
}

fn show(cmd: &Command) -> String {
    let root = crate::repo_root();
    let prog = cmd.get_program().to_string_lossy();
    let mut s = prog
        .strip_prefix(&format!("{}/", root.display()))
        .unwrap_or(&prog)
        .to_string();
    for a in cmd.get_args() {
        let a = a.to_string_lossy();
        let a = a
            .strip_prefix(&format!("{}/", root.display()))
            .unwrap_or(&a);
        if a.is_empty() || a.contains(' ') {
            s.push_str(&format!(" \"{a}\""));
        } else {
            s.push(' ');
            s.push_str(a);
        }
    }
    s
}

/// `qemu-system-x86_64 --version`'s first line, or why QEMU cannot run.
pub fn qemu_version() -> Result<String, String> {
    match Command::new("qemu-system-x86_64").arg("--version").output() {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_string()),
        Ok(o) => Err(format!(
            "qemu-system-x86_64 --version failed ({})",
            o.status
        )),
        Err(e) => Err(format!(
            "qemu-system-x86_64 not found ({e}); run `make deps`"
        )),
    }
}

/// (a) Instructions from PVH entry, QEMU TCG with `-icount shift=0,sleep=off`.
fn icount(opts: &Options, initrd: Option<&Path>) -> (IcountSection, Option<String>) {
    let cmd0 = qemu_base(&opts.kernel, initrd, true);
    let mut sec = IcountSection {
        command: show(&cmd0),
        runs: opts.icount_runs,
        initrd: initrd.map(super::rel),
        ..Default::default()
    };
    sec.codes = CODES
        .iter()
        .map(|&c| {
            let label = match (c, initrd) {
                (boot_trace::USER_ENTRY, None) => "0x41 kernel's mark (no initrd)".into(),
                (boot_trace::INIT_READY, None) => "0x43 init ready (no initrd)".into(),
                _ => code_label(c),
            };
            Milestone::new(&format!("{c:#04x}"), &label, true)
        })
        .collect();
    let mut first_stdout = None;
    for i in 0..opts.icount_runs {
        log(&format!(
            "a. QEMU -icount run {}/{}",
            i + 1,
            opts.icount_runs
        ));
        let cap = match capture::run(
            qemu_base(&opts.kernel, initrd, true),
            Duration::from_secs(120),
            None,
        ) {
            Ok(c) => c,
            Err(e) => {
                sec.failures
                    .push(format!("run {}: cannot start QEMU: {e}", i + 1));
                continue;
            }
        };
        if first_stdout.is_none() {
            first_stdout = Some(cap.stdout.clone());
        }
        let b = bootstat::parse(&cap.stdout);
        if !b.is_present() {
            let why = if cap.vireo_exit().is_some() {
                "the kernel printed no `bootstat:` lines (a kernel without the bootstat option?)"
                    .to_string()
            } else {
                format!("no `bootstat:` lines; {}", cap.outcome())
            };
            sec.failures.push(format!("run {}: {why}", i + 1));
            continue;
        }
        sec.runs_ok += 1;
        sec.tsc_hz = sec.tsc_hz.or(b.tsc_hz);
        for m in &mut sec.codes {
            let v = match m.key.as_str() {
                "0x40" => Some(0),
                "0x42" => b
                    .phase(bootstat::KERNEL_INIT_DONE)
                    .map(|p| p.tsc_since_entry),
                "0x41" => b
                    .phase(bootstat::FIRST_USER_INSTRUCTION)
                    .map(|p| p.tsc_since_entry),
                "0x43" => b.phase(bootstat::INIT_READY).map(|p| p.tsc_since_entry),
                _ => None,
            };
            if let Some(v) = v {
                m.values.push(v as f64);
            }
        }
        for p in &b.phases {
            match sec.phases.iter_mut().find(|m| m.key == p.name) {
                Some(m) => m.values.push(p.tsc_since_entry as f64),
                None => {
                    let mut m = Milestone::new(&p.name, &phase_label(&p.name), false);
                    m.values.push(p.tsc_since_entry as f64);
                    sec.phases.push(m);
                }
            }
        }
    }
    (sec, first_stdout)
}

/// Decides how many timed boots fit `cap_secs` given one warm-up boot's time.
pub fn fit_boots(requested: usize, warmup_secs: f64, cap_secs: f64) -> usize {
    if warmup_secs <= 0.0 {
        return requested;
    }
    let fit = (cap_secs / warmup_secs).floor() as usize;
    requested.min(fit.max(3))
}

fn lower_note(requested: usize, n: usize, warm: f64, cap: f64) -> Option<String> {
    (n < requested).then(|| {
        format!("boots lowered from {requested} to {n}: a warm-up boot took {warm:.2} s and this VMM's share of the time budget is {cap:.0} s")
    })
}

fn kvm_usable() -> Result<(), String> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .map(drop)
        .map_err(|e| format!("skipped: /dev/kvm not usable ({e})"))
}

const HARNESS_KEYS: [(&str, &str); 6] = [
    ("spawn", "spawn"),
    ("process start", "process start (main)"),
    ("vm created", "VM created"),
    ("memory ready", "memory ready"),
    ("kernel loaded", "kernel loaded"),
    ("first KVM_RUN", "first KVM_RUN"),
];

/// The instruction a vmm-harness error line names in `instruction bytes [..]`,
/// for the few that matter to a kernel entering user space.
pub fn insn_name(bytes: &[u8]) -> Option<&'static str> {
    Some(match bytes {
        [0x0f, 0x01, 0xd0, ..] => "XGETBV",
        [0x0f, 0x01, 0xd1, ..] => "XSETBV",
        [0x0f, 0x01, 0xf8, ..] => "SWAPGS",
        [0x0f, 0x05, ..] => "SYSCALL",
        [0x0f, 0x07, ..] | [0x48, 0x0f, 0x07, ..] => "SYSRET",
        [0x48, 0xcf, ..] => "IRETQ",
        [0x0f, 0xae, ..] | [0x48, 0x0f, 0xae, ..] => "FXSAVE/XSAVE family (0f ae)",
        [0x0f, 0x57, ..] => "XORPS (SSE)",
        _ => return None,
    })
}

/// A short form of vmm-harness's failure line on stderr, e.g. `vmm-harness:
/// vCPU 0: KVM internal error (KVM_EXIT_INTERNAL_ERROR, suberror 1: emulation
/// failure), data [..], instruction bytes [0f 01 d0 ..] at rip 0xffffffff80112eac`
/// becomes `KVM_EXIT_INTERNAL_ERROR (emulation failure) on XGETBV (0f 01 d0 ..)
/// at rip 0xffffffff80112eac`. Other lines are returned as they are (trimmed).
pub fn harness_failure(stderr: &str) -> Option<String> {
    let line = stderr
        .lines()
        .map(str::trim)
        .rfind(|l| l.starts_with("vmm-harness:") && !l.starts_with("vmm-harness: trace"))?;
    let body = line.trim_start_matches("vmm-harness:").trim();
    let Some(bytes_at) = body.find("instruction bytes [") else {
        return Some(body.chars().take(300).collect());
    };
    let rest = &body[bytes_at + "instruction bytes [".len()..];
    let close = rest.find(']').unwrap_or(rest.len());
    let bytes: Vec<u8> = rest[..close]
        .split_whitespace()
        .filter_map(|b| u8::from_str_radix(b, 16).ok())
        .collect();
    let rip = rest[close..]
        .split_whitespace()
        .skip_while(|w| *w != "rip")
        .nth(1)
        .unwrap_or("?");
    let what = if body.contains("emulation failure") {
        "KVM_EXIT_INTERNAL_ERROR (emulation failure)"
    } else if body.contains("KVM_EXIT_INTERNAL_ERROR") {
        "KVM_EXIT_INTERNAL_ERROR"
    } else {
        "vCPU failure"
    };
    let hex: Vec<String> = bytes.iter().take(3).map(|b| format!("{b:02x}")).collect();
    let insn = match insn_name(&bytes) {
        Some(n) => format!("{n} ({} ..)", hex.join(" ")),
        None => format!("instruction {} ..", hex.join(" ")),
    };
    Some(format!("{what} on {insn} at rip {rip}"))
}

/// Why the harness's timed boots are kernel only, given the host.
pub fn initrd_verdict(pvm: bool) -> String {
    if pvm {
        "user space not measurable on kvm-pvm: syscall does not reach the guest kernel (kvm-here.md §4.2)"
            .into()
    } else {
        "the boot with the initrd did not complete".into()
    }
}

/// What the kernel-only timed boots show instead (table and docs).
pub const KERNEL_ONLY: &str = "the timed boots are kernel only (no --initrd): 0x41 is the kernel's own mark at the end of kernel init, 0x43 is not reached";

/// Seconds vmm-harness (`--timeout`) gives the probe boot with the initrd
/// (enough for a whole boot here; a guest stuck in user space ends there).
pub const PROBE_TIMEOUT_SECS: u64 = 20;
/// Seconds vmm-harness (`--timeout`) gives each timed boot.
pub const BOOT_TIMEOUT_SECS: u64 = 60;

/// What the failed boot with the initrd reached, and how it ended.
fn initrd_probe(
    command: String,
    r: &Result<(Option<harness_json::Trace>, Capture), String>,
    pvm: bool,
) -> InitrdProbe {
    let mut p = InitrdProbe {
        command,
        verdict: initrd_verdict(pvm),
        ..Default::default()
    };
    let (trace, cap) = match r {
        Ok((t, c)) => (t.as_ref(), c),
        Err(e) => {
            p.outcome = e.clone();
            p.not_reached = CODES.iter().map(|&c| code_label(c)).collect();
            return p;
        }
    };
    for c in CODES {
        let hit = trace.is_some_and(|t| t.first(&trace_key(c)).is_some());
        if hit {
            p.reached.push(code_label(c));
        } else {
            p.not_reached.push(code_label(c));
        }
    }
    p.outcome = match (trace.and_then(|t| t.exit()), cap.timed_out) {
        (_, true) => format!("did not end; killed after {:.1} s", cap.exit_us / 1e6),
        (Some((code, reason, t_us)), _) => format!(
            "vmm-harness exit {} ({}) {:.1} ms after its main()",
            code.map_or("?".to_string(), |c| c.to_string()),
            reason.unwrap_or("?"),
            t_us / 1e3
        ),
        (None, _) => format!(
            "exit status {:?} after {:.1} ms, no trace JSON",
            cap.status.and_then(|s| s.code()),
            cap.exit_us / 1e3
        ),
    };
    p.failure = harness_failure(&cap.stderr);
    p
}

/// (b) vmm-harness on /dev/kvm.
fn harness(
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
                format!(
                    "skipped: {} missing (`make harness`)",
                    super::rel(&opts.harness)
                ),
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
        c.args(["--cmdline", CMDLINE, "--timeout"])
            .arg(timeout.to_string())
            .arg("--trace-json")
            .arg(&json);
        c
    };
    let run = |i: usize,
               initrd: Option<&Path>,
               timeout: u64|
     -> Result<(Option<harness_json::Trace>, Capture), String> {
        let _ = std::fs::remove_file(&json);
        let cap = capture::run(
            make(initrd, timeout),
            Duration::from_secs(timeout + 30),
            Some("VMM_HARNESS_SPAWN_NS"),
        )
        .map_err(|e| format!("boot {i}: cannot start {}: {e}", opts.harness.display()))?;
        let trace = std::fs::read_to_string(&json)
            .ok()
            .and_then(|t| harness_json::parse(&t).ok());
        Ok((trace, cap))
    };
    let check = |i: usize,
                 r: Result<(Option<harness_json::Trace>, Capture), String>|
     -> Result<(harness_json::Trace, Capture), String> {
        let (trace, cap) = r?;
        let status = cap.status.and_then(|s| s.code());
        if cap.timed_out || status != Some(0) {
            return Err(format!(
                "boot {i}: exit status {status:?}: {}",
                cap.outcome()
            ));
        }
        let trace = match trace {
            Some(t) => t,
            None => {
                let text = std::fs::read_to_string(&json)
                    .map_err(|e| format!("boot {i}: no trace JSON: {e}"))?;
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
            probe = Some(initrd_probe(
                show(&make(Some(i), PROBE_TIMEOUT_SECS)),
                &r,
                pvm,
            ));
            used = None;
        }
    }
    let mut sec = WallSection {
        vmm: VMM.into(),
        command: format!(
            "VMM_HARNESS_SPAWN_NS=<now> {}",
            show(&make(used, BOOT_TIMEOUT_SECS))
        ),
        boots_requested: opts.boots,
        initrd: used.map(super::rel),
        initrd_probe: probe,
        ..Default::default()
    };
    let mut ms: Vec<Milestone> = HARNESS_KEYS
        .iter()
        .map(|(k, l)| Milestone::new(k, l, false))
        .collect();
    ms.push(Milestone::new(&trace_key(0x40), &code_label(0x40), true));
    ms.push(Milestone::new(
        "first serial byte",
        "first serial byte",
        false,
    ));
    ms.push(Milestone::new(&trace_key(0x42), &code_label(0x42), true));
    if used.is_some() {
        ms.push(Milestone::new(&trace_key(0x41), &code_label(0x41), true));
        ms.push(Milestone::new(&trace_key(0x43), &code_label(0x43), true));
    } else {
        ms.push(Milestone::new(
            &trace_key(0x41),
            "0x41 kernel's mark (no initrd)",
            true,
        ));
        ms.push(Milestone::new(
            &trace_key(0x43),
            "0x43 init ready (no initrd)",
            true,
        ));
    }
    ms.push(Milestone::new(
        "boot timer",
        "boot timer (Firecracker MMIO)",
        false,
    ));
    ms.push(Milestone::new("exit", "exit", false));
    let mut guest: Vec<Milestone> = vec![Milestone::new(
        "host main to first KVM_RUN",
        "host: main() -> first KVM_RUN",
        false,
    )];
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
    let n = fit_boots(opts.boots, warm_secs, cap_secs);
    sec.notes
        .extend(lower_note(opts.boots, n, warm_secs, cap_secs));
    for i in 1..=n {
        if i == 1 || i % 5 == 0 {
            log(&format!("b. vmm-harness boot {i}/{n}"));
        }
        sec.boots_run += 1;
        match boot(i) {
            Ok((trace, cap)) => {
                sec.boots_ok += 1;
                for (k, t) in trace.since_spawn() {
                    if let Some(m) = ms.iter_mut().find(|m| m.key == k) {
                        m.values.push(t);
                    }
                }
                if let (Some(a), Some(b)) =
                    (trace.first("process start"), trace.first("first KVM_RUN"))
                {
                    guest[0].values.push(b - a);
                }
                for p in bootstat::parse(&cap.stdout).phases {
                    let key = format!("guest tsc us: {}", p.name);
                    match guest.iter_mut().find(|m| m.key == key) {
                        Some(m) => m.values.push(p.us_since_entry as f64),
                        None => {
                            let what =
                                if used.is_none() && p.name == bootstat::FIRST_USER_INSTRUCTION {
                                    "kernel's 0x41 mark".to_string()
                                } else {
                                    p.name.clone()
                                };
                            let mut m = Milestone::new(
                                &key,
                                &format!("guest TSC since PVH entry: {what}"),
                                false,
                            );
                            m.values.push(p.us_since_entry as f64);
                            guest.push(m);
                        }
                    }
                }
                if first_stdout.is_none() {
                    first_stdout = Some(cap.stdout);
                }
            }
            Err(e) => sec.failures.push(e),
        }
    }
    if ms[0].values.is_empty() && sec.boots_ok > 0 {
        sec.notes
            .push("the harness recorded no `spawn` event: times are since its main()".into());
    }
    sec.milestones = ms;
    sec.extra = guest;
    let _ = std::fs::remove_file(&json);
    (sec, first_stdout)
}

/// The start of init's first console line (`init: Vireo user space is up`),
/// printed just before it reports INIT_READY (0x43).
pub const INIT_LINE: &str = "init: ";

/// Serial-line milestones common to QEMU and Cloud Hypervisor.
fn serial_milestones(cap: &Capture, ms: &mut [Milestone]) {
    for m in ms.iter_mut() {
        let v = match m.key.as_str() {
            "first serial byte" => cap.first_out_byte_us,
            "banner line" => cap.out_line_starting("Vireo "),
            "cpu 0 online line" => cap.out_line_starting("cpu 0 online"),
            "init line" => cap.out_line_starting(INIT_LINE),
            "VIREO-EXIT line" => cap.out_line_starting(pv_abi::exit::MARKER),
            "process exit" => Some(cap.exit_us),
            _ => continue,
        };
        if let Some(v) = v {
            m.values.push(v);
        }
    }
}

/// (c) QEMU microvm, TCG, wall time from spawn (serial lines timestamped on the host).
fn qemu_wall(opts: &Options, initrd: Option<&Path>, cap_secs: f64) -> WallSection {
    let mut sec = WallSection {
        vmm: "QEMU microvm (TCG)".into(),
        command: show(&qemu_base(&opts.kernel, initrd, false)),
        boots_requested: opts.boots,
        initrd: initrd.map(super::rel),
        ..Default::default()
    };
    let mut ms = vec![
        Milestone::new("first serial byte", "first serial byte", true),
        Milestone::new("banner line", "banner line `Vireo ...`", true),
        Milestone::new("cpu 0 online line", "`cpu 0 online` line", true),
    ];
    if initrd.is_some() {
        ms.push(Milestone::new(
            "init line",
            "`init:` line (just before 0x43)",
            true,
        ));
    }
    ms.push(Milestone::new("VIREO-EXIT line", "`VIREO-EXIT` line", true));
    ms.push(Milestone::new("process exit", "process exit", false));
    let boot = |i: usize| -> Result<Capture, String> {
        let cap = capture::run(
            qemu_base(&opts.kernel, initrd, false),
            Duration::from_secs(60),
            None,
        )
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
    let n = fit_boots(opts.boots, warm, cap_secs);
    sec.notes.extend(lower_note(opts.boots, n, warm, cap_secs));
    for i in 1..=n {
        if i == 1 || i % 5 == 0 {
            log(&format!("c. QEMU microvm boot {i}/{n}"));
        }
        sec.boots_run += 1;
        match boot(i) {
            Ok(cap) => {
                sec.boots_ok += 1;
                serial_milestones(&cap, &mut ms);
            }
            Err(e) => sec.failures.push(e),
        }
    }
    sec.milestones = ms;
    sec
}

/// The Cloud Hypervisor binary: CLOUD_HYPERVISOR (a path, or a name looked up
/// in PATH), else `cloud-hypervisor` on PATH.
pub fn find_chv(env: Option<&str>, path: Option<&str>) -> Option<PathBuf> {
    let name = env
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .unwrap_or("cloud-hypervisor");
    if name.contains('/') {
        let p = PathBuf::from(name);
        return p.is_file().then_some(p);
    }
    path.and_then(|dirs| {
        std::env::split_paths(dirs)
            .map(|d| d.join(name))
            .find(|c| c.is_file())
    })
}

/// (d) Cloud Hypervisor, when present.
fn cloud_hypervisor(opts: &Options, initrd: Option<&Path>, cap_secs: f64) -> WallSection {
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
        c.args([
            "--cpus",
            "boot=1",
            "--memory",
            "size=256M",
            "--serial",
            "tty",
            "--console",
            "off",
        ]);
        c.args(["--cmdline", CMDLINE]);
        c
    };
    let mut sec = WallSection {
        vmm: VMM.into(),
        command: show(&make()),
        boots_requested: opts.boots,
        initrd: initrd.map(super::rel),
        ..Default::default()
    };
    let mut ms = vec![
        Milestone::new("first serial byte", "first serial byte", true),
        Milestone::new("banner line", "banner line `Vireo ...`", true),
    ];
    for c in CODES {
        ms.push(Milestone::new(
            &trace_key(c),
            &format!("{} (log line)", code_label(c)),
            true,
        ));
    }
    ms.push(Milestone::new(
        "cpu 0 online line",
        "`cpu 0 online` line",
        false,
    ));
    if initrd.is_some() {
        ms.push(Milestone::new(
            "init line",
            "`init:` line (just before 0x43)",
            false,
        ));
    }
    ms.push(Milestone::new("VIREO-EXIT line", "`VIREO-EXIT` line", true));
    ms.push(Milestone::new("process exit", "process exit", false));
    let mut extra: Vec<Milestone> = CODES
        .iter()
        .map(|&c| {
            Milestone::new(
                &format!("chv port us {c:#04x}"),
                &format!("CHV's own debug-port time: {c:#04x}"),
                true,
            )
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
    let n = fit_boots(opts.boots, warm, cap_secs);
    sec.notes.extend(lower_note(opts.boots, n, warm, cap_secs));
    for i in 1..=n {
        sec.boots_run += 1;
        match boot(i) {
            Ok(cap) => {
                sec.boots_ok += 1;
                serial_milestones(&cap, &mut ms);
                for line in &cap.err_lines {
                    if let Some(w) = chv::parse_line(&line.text) {
                        let key = trace_key(w.code);
                        if let Some(m) = ms
                            .iter_mut()
                            .find(|m| m.key == key && m.values.len() < sec.boots_ok)
                        {
                            m.values.push(line.t_us);
                        }
                        let key = format!("chv port us {:#04x}", w.code);
                        if let Some(m) = extra
                            .iter_mut()
                            .find(|m| m.key == key && m.values.len() < sec.boots_ok)
                        {
                            m.values.push(w.port_us as f64);
                        }
                    }
                }
            }
            Err(e) => sec.failures.push(e),
        }
    }
    sec.notes.push(
        "trace-code times are when Cloud Hypervisor's debug-port log line reached us on stderr; its own figure (since the VM was created) is listed separately".into(),
    );
    sec.milestones = ms;
    sec.extra = extra;
    sec
}

/// Runs every measurement. `Err` only when nothing can run at all.
pub fn run_all(opts: &Options) -> Result<Results, String> {
    let t0 = Instant::now();
    let started_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    if !opts.kernel.is_file() {
        return Err(format!(
            "{} is missing: run `make kernel`",
            super::rel(&opts.kernel)
        ));
    }
    let qemu_version = qemu_version()?;
    std::fs::create_dir_all(&opts.out_dir)
        .map_err(|e| format!("cannot create {}: {e}", opts.out_dir.display()))?;
    let host = host::detect();
    let initrd_size = std::fs::metadata(&opts.initrd)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    let initrd = initrd_size.map(|_| opts.initrd.as_path());
    let kernel_size = std::fs::metadata(&opts.kernel).ok().map(|m| m.len());

    let (icount, icount_stdout) = icount(opts, initrd);
    let (harness, harness_stdout) =
        harness(opts, initrd, host.kvm.is_pvm(), opts.budget_secs * 0.55);
    let qemu_wall = qemu_wall(opts, initrd, opts.budget_secs * 0.2);
    let chv = cloud_hypervisor(opts, initrd, opts.budget_secs * 0.2);

    let boot_kind = |i: &Option<String>| match i {
        Some(_) => "after init exited",
        None => "kernel only (no initrd), at power-off",
    };
    let (memory_idle, memory_idle_source) = match (
        icount_stdout.as_deref().and_then(mm::find_idle),
        harness_stdout.as_deref().and_then(mm::find_idle),
    ) {
        (Some(m), _) => (
            Some(m),
            format!(
                "QEMU microvm, 256 MiB, -icount run 1, {}",
                boot_kind(&icount.initrd)
            ),
        ),
        (None, Some(m)) => (
            Some(m),
            format!("vmm-harness, 256 MiB, {}", boot_kind(&harness.initrd)),
        ),
        (None, None) => (
            None,
            "the kernel printed no `bootstat: memory` line".to_string(),
        ),
    };
    let (memory_setup, memory_setup_source) = match (
        icount_stdout.as_deref().and_then(mm::find),
        harness_stdout.as_deref().and_then(mm::find),
    ) {
        (Some(m), _) => (Some(m), "QEMU microvm, 256 MiB, -icount run 1".to_string()),
        (None, Some(m)) => (Some(m), "vmm-harness, 256 MiB".to_string()),
        (None, None) => (None, "the kernel printed no `mm: ` line".to_string()),
    };
    Ok(Results {
        started_unix,
        elapsed_secs: t0.elapsed().as_secs_f64(),
        host,
        qemu_version,
        icount,
        harness,
        qemu_wall,
        chv,
        memory_idle,
        memory_idle_source,
        memory_setup,
        memory_setup_source,
        kernel_path: opts.kernel.clone(),
        kernel_size,
        initrd_path: opts.initrd.clone(),
        initrd_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_labels_name_trace_codes() {
        assert_eq!(phase_label("kernel init done"), "kernel init done (0x42)");
        assert_eq!(
            phase_label("first user instruction"),
            "first user instruction (0x41)"
        );
        assert_eq!(phase_label("acpi"), "acpi");
    }

    #[test]
    fn boots_fit_the_budget() {
        assert_eq!(fit_boots(20, 0.05, 110.0), 20);
        assert_eq!(fit_boots(20, 10.0, 110.0), 11);
        assert_eq!(fit_boots(20, 100.0, 110.0), 3);
        assert_eq!(fit_boots(20, 0.0, 110.0), 20);
        assert!(lower_note(20, 20, 1.0, 10.0).is_none());
        assert!(lower_note(20, 11, 10.0, 110.0)
            .unwrap()
            .contains("from 20 to 11"));
    }

    #[test]
    fn chv_lookup() {
        let dir = std::env::temp_dir().join(format!("vireo-bench-chv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("cloud-hypervisor");
        std::fs::write(&bin, b"").unwrap();
        let path = dir.to_string_lossy().into_owned();
        assert_eq!(find_chv(None, Some(&path)), Some(bin.clone()));
        assert_eq!(find_chv(None, Some("/nonexistent")), None);
        assert_eq!(
            find_chv(Some(bin.to_str().unwrap()), None),
            Some(bin.clone())
        );
        assert_eq!(find_chv(Some("/nonexistent/chv"), Some(&path)), None);
        assert_eq!(
            find_chv(Some("cloud-hypervisor"), Some(&path)),
            Some(bin.clone())
        );
        assert_eq!(find_chv(Some(""), Some(&path)), Some(bin));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn qemu_command_is_the_documented_one() {
        let c = show(&qemu_base(
            Path::new("build/kernel.elf"),
            Some(Path::new("build/initrd.cpio")),
            true,
        ));
        assert_eq!(
            c,
            "qemu-system-x86_64 -M microvm -accel tcg -icount shift=0,sleep=off -smp 1 -m 256M -nodefaults \
             -no-user-config -display none -serial stdio -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4 \
             -kernel build/kernel.elf -initrd build/initrd.cpio -append bootstat"
        );
        assert!(!show(&qemu_base(Path::new("k"), None, false)).contains("icount"));
        assert!(!show(&qemu_base(Path::new("k"), None, true)).contains("initrd"));
    }

    #[test]
    fn harness_failures_are_summarised() {
        let stderr = "vmm-harness: vCPU 0: KVM internal error (KVM_EXIT_INTERNAL_ERROR, suberror 1: emulation failure), data [1, 20e2c148d0010f0f, b848d70948c789, 1000, 0, 0, 0, 0], instruction bytes [0f 01 d0 48 c1 e2 20 89 c7 48 09 d7 48 b8 00] at rip 0xffffffff80112eac\n\
                      vmm-harness: trace       0.0 us  process start\n\
                      vmm-harness: trace  102921.7 us  exit 125 (vCPU failure)\n";
        assert_eq!(
            harness_failure(stderr).as_deref(),
            Some("KVM_EXIT_INTERNAL_ERROR (emulation failure) on XGETBV (0f 01 d0 ..) at rip 0xffffffff80112eac")
        );
        assert_eq!(
            harness_failure("vmm-harness: timed out after 20 s\n").as_deref(),
            Some("timed out after 20 s")
        );
        assert_eq!(harness_failure("hello\n"), None);
        assert_eq!(insn_name(&[0x0f, 0x05]), Some("SYSCALL"));
        assert_eq!(insn_name(&[0x0f, 0x01, 0xd1]), Some("XSETBV"));
        assert_eq!(insn_name(&[0x90]), None);
        assert!(initrd_verdict(true).contains("syscall does not reach the guest kernel"));
    }
}
