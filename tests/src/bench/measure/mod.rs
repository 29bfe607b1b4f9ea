//! The measurements: (a) guest instructions under QEMU `-icount`, (b) the
//! vmm-harness host timeline, (c) QEMU microvm wall time, (d) Cloud
//! Hypervisor, (e) memory in use and image sizes.
//!
//! Every boot uses the initrd (`build/system.cpio`) when it exists, so init
//! runs and 0x41 is the first user instruction of `/init`. vmm-harness first
//! tries one boot with the initrd; when that fails (kvm-pvm: guest user mode
//! cannot make system calls) its timed boots are kernel only and the section
//! records what the probe reached ([`InitrdProbe`]).
//!
//! Files: `sections.rs` holds what each measurement records ([`Milestone`],
//! [`IcountSection`], [`WallSection`], [`Results`]); `qemu.rs` the QEMU
//! command line and version; `icount.rs` (a); `harness.rs` (b), with
//! `probe.rs` for the boot with the initrd that decides whether its timed
//! boots can use it; `qemu_wall.rs` (c); `cloud_hypervisor.rs` (d); this file
//! what they share and [`run_all`], which also picks (e) memory in use and the
//! image sizes.

mod cloud_hypervisor;
mod harness;
mod icount;
mod probe;
mod qemu;
mod qemu_wall;
mod sections;

pub use cloud_hypervisor::find_chv;
pub use harness::{BOOT_TIMEOUT_SECS, PROBE_TIMEOUT_SECS};
pub use probe::{harness_failure, initrd_verdict, insn_name, KERNEL_ONLY};
pub use qemu::{qemu_version, qemu_with_cmdline};
pub use sections::{IcountSection, InitrdProbe, Milestone, Results, WallSection};

use std::process::Command;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::capture::Capture;
use super::host;
use super::mm;
use super::Options;
use cloud_hypervisor::cloud_hypervisor;
use harness::harness;
use icount::icount;
use pv_abi::boot_trace;
use qemu_wall::qemu_wall;

/// The boot-trace codes, in boot order, with their names.
pub const CODES: [u8; 4] =
    [boot_trace::KERNEL_ENTRY, boot_trace::KERNEL_INIT_DONE, boot_trace::USER_ENTRY, boot_trace::INIT_READY];

fn code_label(code: u8) -> String {
    format!("{code:#04x} {}", boot_trace::name(code).unwrap_or("?"))
}

fn log(msg: &str) {
    eprintln!("vireo-bench: {msg}");
}

fn show(cmd: &Command) -> String {
    let root = crate::repo_root();
    let prog = cmd.get_program().to_string_lossy();
    let mut s = prog.strip_prefix(&format!("{}/", root.display())).unwrap_or(&prog).to_string();
    for a in cmd.get_args() {
        let a = a.to_string_lossy();
        let a = a.strip_prefix(&format!("{}/", root.display())).unwrap_or(&a);
        if a.is_empty() || a.contains(' ') {
            s.push_str(&format!(" \"{a}\""));
        } else {
            s.push(' ');
            s.push_str(a);
        }
    }
    s
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

/// The timed boots of one VMM, after a warm-up boot that took `warm_secs`:
/// as many as fit the VMM's share of the time budget (with a note when that
/// is fewer than requested). `boot(i)` runs boot `i`; `on_ok` records a
/// successful one and gets the count of successful boots so far.
fn timed_boots<T>(
    sec: &mut WallSection,
    label: &str,
    requested: usize,
    warm_secs: f64,
    cap_secs: f64,
    mut boot: impl FnMut(usize) -> Result<T, String>,
    mut on_ok: impl FnMut(T, usize),
) {
    let n = fit_boots(requested, warm_secs, cap_secs);
    sec.notes.extend(lower_note(requested, n, warm_secs, cap_secs));
    for i in 1..=n {
        if i == 1 || i % 5 == 0 {
            log(&format!("{label} boot {i}/{n}"));
        }
        sec.boots_run += 1;
        match boot(i) {
            Ok(v) => {
                sec.boots_ok += 1;
                on_ok(v, sec.boots_ok);
            }
            Err(e) => sec.failures.push(e),
        }
    }
}

fn kvm_usable() -> Result<(), String> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .map(drop)
        .map_err(|e| format!("skipped: /dev/kvm not usable ({e})"))
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

/// Runs every measurement. `Err` only when nothing can run at all.
pub fn run_all(opts: &Options) -> Result<Results, String> {
    let t0 = Instant::now();
    let started_unix = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    if !opts.kernel.is_file() {
        return Err(format!("{} is missing: run `make kernel`", super::rel(&opts.kernel)));
    }
    let qemu_version = qemu_version()?;
    std::fs::create_dir_all(&opts.out_dir).map_err(|e| format!("cannot create {}: {e}", opts.out_dir.display()))?;
    let host = host::detect();
    let initrd_size = std::fs::metadata(&opts.initrd).ok().filter(|m| m.is_file()).map(|m| m.len());
    let initrd = initrd_size.map(|_| opts.initrd.as_path());
    let kernel_size = std::fs::metadata(&opts.kernel).ok().map(|m| m.len());

    let (icount, icount_stdout) = icount(opts, initrd);
    let (harness, harness_stdout) = harness(opts, initrd, host.kvm.is_pvm(), opts.budget_secs * 0.55);
    let qemu_wall = qemu_wall(opts, initrd, opts.budget_secs * 0.2);
    let chv = cloud_hypervisor(opts, initrd, opts.budget_secs * 0.2);

    let boot_kind = |i: &Option<String>| match i {
        Some(_) => "after init exited",
        None => "kernel only (no initrd), at power-off",
    };
    let (memory_idle, memory_idle_source) =
        match (icount_stdout.as_deref().and_then(mm::find_idle), harness_stdout.as_deref().and_then(mm::find_idle)) {
            (Some(m), _) => (Some(m), format!("QEMU microvm, 256 MiB, -icount run 1, {}", boot_kind(&icount.initrd))),
            (None, Some(m)) => (Some(m), format!("vmm-harness, 256 MiB, {}", boot_kind(&harness.initrd))),
            (None, None) => (None, "the kernel printed no `bootstat: memory` line".to_string()),
        };
    let (memory_setup, memory_setup_source) =
        match (icount_stdout.as_deref().and_then(mm::find), harness_stdout.as_deref().and_then(mm::find)) {
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
    fn boots_fit_the_budget() {
        assert_eq!(fit_boots(20, 0.05, 110.0), 20);
        assert_eq!(fit_boots(20, 10.0, 110.0), 11);
        assert_eq!(fit_boots(20, 100.0, 110.0), 3);
        assert_eq!(fit_boots(20, 0.0, 110.0), 20);
        assert!(lower_note(20, 20, 1.0, 10.0).is_none());
        assert!(lower_note(20, 11, 10.0, 110.0).unwrap().contains("from 20 to 11"));
    }
}
