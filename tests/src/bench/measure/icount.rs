//! (a) Guest instructions from PVH entry under QEMU TCG `-icount`.

use std::path::Path;
use std::time::Duration;

use super::super::capture;
use super::super::{bootstat, Options};
use super::qemu::{qemu_base, qemu_with_cmdline};
use super::{code_label, log, show, IcountSection, Milestone, CODES};
use pv_abi::boot_trace;

/// A `bootstat` phase name, with its boot-trace code when it ends at one.
fn phase_label(name: &str) -> String {
    match CODES.iter().find(|&&c| boot_trace::name(c) == Some(name)) {
        Some(c) => format!("{name} ({c:#04x})"),
        None => name.to_string(),
    }
}

/// (a) Instructions from PVH entry, QEMU TCG with `-icount shift=0,sleep=off`.
pub(super) fn icount(opts: &Options, initrd: Option<&Path>) -> (IcountSection, Option<String>) {
    let cmd0 = qemu_base(&opts.kernel, initrd, true);
    let mut sec = IcountSection {
        command: show(&cmd0),
        runs: opts.icount_runs,
        initrd: initrd.map(super::super::rel),
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
        log(&format!("a. QEMU -icount run {}/{}", i + 1, opts.icount_runs));
        let cap = match capture::run(qemu_base(&opts.kernel, initrd, true), Duration::from_secs(120), None) {
            Ok(c) => c,
            Err(e) => {
                sec.failures.push(format!("run {}: cannot start QEMU: {e}", i + 1));
                continue;
            }
        };
        if first_stdout.is_none() {
            first_stdout = Some(cap.stdout.clone());
        }
        let b = bootstat::parse(&cap.stdout);
        if !b.is_present() {
            let why = if cap.vireo_exit().is_some() {
                "the kernel printed no `bootstat:` lines (a kernel without the bootstat option?)".to_string()
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
                "0x42" => b.phase(bootstat::KERNEL_INIT_DONE).map(|p| p.tsc_since_entry),
                "0x41" => b.phase(bootstat::FIRST_USER_INSTRUCTION).map(|p| p.tsc_since_entry),
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
    std_main(opts, initrd, &mut sec);
    rate_given(opts, initrd, &mut sec);
    (sec, first_stdout)
}

/// 0x41 once more, with the TSC rate on the command line (`tsc_khz=`, the
/// rate the `-icount` runs above reported): what the path costs when the
/// VMM tells the rate, as KVM's kvmclock and CPUID leaf 0x40000010 do and
/// as the Linux baseline's `tsc_early_khz` does; under TCG the kernel must
/// otherwise calibrate (docs/boot.md).
fn rate_given(opts: &Options, initrd: Option<&Path>, sec: &mut IcountSection) {
    let (Some(initrd), Some(hz)) = (initrd, sec.tsc_hz) else {
        sec.user_rate_given_note = Some("not measured: no initrd or no TSC rate".into());
        return;
    };
    let mut m = Milestone::new("0x41_rate_given", "0x41 with tsc_khz= (rate given)", true);
    let cmdline = format!("bootstat tsc_khz={}", hz / 1000);
    let note = extra_boot(opts, initrd, &cmdline, "rate given", &mut m, &mut sec.failures, |out| {
        let p = bootstat::parse(out).phase(bootstat::FIRST_USER_INSTRUCTION).map(|p| p.tsc_since_entry);
        p.ok_or_else(|| "no 0x41 bootstat phase".into())
    });
    (sec.user_rate_given, sec.user_rate_given_note) = (Some(m), Some(note));
}

/// The std program whose first statement reads the TSC, and what it prints.
const STD_MAIN_CMDLINE: &str = "init=/bin/std-first-main bootstat";
const STD_MAIN_LINE: &str = "std-first-main: hello, world; tsc at main ";

/// PVH entry -> a std hello's `main` (docs/runtime.md): one `-icount` boot
/// with `/bin/std-first-main` as init, from the full initrd (the system
/// initrd has no such program); its TSC at `main` minus the TSC at PVH
/// entry.
fn std_main(opts: &Options, initrd: Option<&Path>, sec: &mut IcountSection) {
    let Some(initrd) = initrd.map(|_| opts.full_initrd.as_path()).filter(|p| p.is_file()) else {
        sec.std_main_note = Some("not measured: no initrd".into());
        return;
    };
    let mut m = Milestone::new("std_main", "std hello main (/bin/std-first-main)", true);
    let note = extra_boot(opts, initrd, STD_MAIN_CMDLINE, "std main", &mut m, &mut sec.failures, |out| {
        let at_main =
            out.lines().find_map(|l| l.trim_end().strip_prefix(STD_MAIN_LINE)).and_then(|v| v.parse::<u64>().ok());
        match (at_main, bootstat::entry_tsc(out)) {
            (Some(t), Some(entry)) if t > entry => Ok(t - entry),
            _ => Err(format!("no `{STD_MAIN_LINE}` or PVH entry line")),
        }
    });
    (sec.std_main, sec.std_main_note) = (Some(m), Some(note));
}

/// One more `-icount` boot with `cmdline` (its count is deterministic, so
/// once is enough): `value` reads the figure from the console into `m`, or
/// says what was missing (a failure named `what`). Returns the command.
fn extra_boot(
    opts: &Options,
    initrd: &Path,
    cmdline: &str,
    what: &str,
    m: &mut Milestone,
    failures: &mut Vec<String>,
    value: impl FnOnce(&str) -> Result<u64, String>,
) -> String {
    let cmd = qemu_with_cmdline(&opts.kernel, Some(initrd), true, cmdline);
    let note = show(&cmd);
    log(&format!("a. QEMU -icount run: {what}"));
    match capture::run(cmd, Duration::from_secs(120), None) {
        Ok(cap) => match value(&cap.stdout) {
            Ok(v) => m.values.push(v as f64),
            Err(why) => failures.push(format!("{what}: {why}; {}", cap.outcome())),
        },
        Err(e) => failures.push(format!("{what}: cannot start QEMU: {e}")),
    }
    note
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_labels_name_trace_codes() {
        assert_eq!(phase_label("kernel init done"), "kernel init done (0x42)");
        assert_eq!(phase_label("first user instruction"), "first user instruction (0x41)");
        assert_eq!(phase_label("acpi"), "acpi");
    }
}
