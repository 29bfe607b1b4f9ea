//! Paravirtual features (docs/paravirt.md): the pure policy (`nopv=`
//! parsing, the halt-polling window, steal accounting) as host unit tests,
//! the `pv:` boot line under QEMU TCG, and steal time and poll control under
//! vmm-harness on this machine's /dev/kvm.

/// The kernel's own file, compiled here so its unit tests run on the host.
#[allow(dead_code)]
#[path = "../../guest-kernel/src/pv/policy.rs"]
mod policy;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use vireo_tests::{harness, kernel, kvm_available, run_with_timeout, Machine, Qemu, Run};

/// The VM tests here run one at a time: the steal-time test pins a busy
/// process next to its VM and samples the host's figures, which the other
/// VMs of this file would disturb.
static ONE_VM_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_vm_at_a_time() -> MutexGuard<'static, ()> {
    ONE_VM_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// The `pv:` line: there must be exactly one.
fn pv_line(run: &Run) -> String {
    let lines: Vec<&str> =
        run.stdout.lines().map(|l| l.trim_end_matches('\r')).filter(|l| l.starts_with("pv: ")).collect();
    assert_eq!(lines.len(), 1, "want one `pv:` line\n{}", run.dump());
    lines[0].to_string()
}

#[test]
fn tcg_offers_no_pv_and_nopv_words_are_parsed() {
    let _one = one_vm_at_a_time();
    // Unknown words reported once (deduplicated, on one line), known ones
    // in any case, empty ones skipped; the boot goes on.
    let run = Qemu::new(Machine::Microvm).cpus(2).cmdline("nopv=steal,bogus,,POLL nopv=bogus,x selftest=pv").run();
    run.assert_exit(0);
    assert_eq!(pv_line(&run), "pv: none", "{}", run.dump());
    let unknown = run.lines_containing("nopv: ignoring unknown");
    assert_eq!(unknown.len(), 1, "{}", run.dump());
    assert!(unknown[0].starts_with("nopv: ignoring unknown words \"bogus\", \"x\" "), "{}", run.dump());
    assert!(run.has_line_starting("nopv: off: steal poll"), "{}", run.dump());
    assert!(run.has_line_starting("SELFTEST PASS 4/4"), "{}", run.dump());
}

#[test]
fn tcg_q35_boots_with_pv_none() {
    let _one = one_vm_at_a_time();
    let run = Qemu::new(Machine::Q35).cpus(1).run();
    run.assert_exit(0);
    assert_eq!(pv_line(&run), "pv: none", "{}", run.dump());
    assert!(!run.stdout.contains("nopv:"), "{}", run.dump());
}

fn harness_boot(cpus: u32, cmdline: &str) -> Option<Run> {
    if let Err(why) = kvm_available() {
        eprintln!("skipping: {why}");
        return None;
    }
    let mut cmd = Command::new(harness());
    cmd.arg("boot").arg("--kernel").arg(kernel());
    cmd.args(["--cpus", &cpus.to_string(), "--cmdline", cmdline, "--timeout", "150"]);
    let run = run_with_timeout(cmd, Duration::from_secs(180));
    run.assert_exit(0);
    Some(run)
}

/// On this machine's kvm-pvm the host offers steal time and poll control;
/// the guest uses both, and its self-tests check the steal-time records on
/// every CPU and that the halt-polling window grows for short idle periods
/// and shrinks for long ones (`halt_poll_ns=2000000`: where ring 0 is
/// emulated, going idle and back costs more than Linux's 200 us default).
#[test]
fn harness_uses_steal_time_and_poll_control() {
    let _one = one_vm_at_a_time();
    let Some(run) = harness_boot(2, "selftest=pv halt_poll_ns=2000000") else { return };
    assert_eq!(pv_line(&run), "pv: kvmclock steal-time pv-eoi halt-poll poll-control", "{}", run.dump());
    assert!(run.has_line_starting("pv-steal: cpu 0: "), "{}", run.dump());
    assert!(run.has_line_starting("SELFTEST PASS 4/4"), "{}", run.dump());
    // Without PV_UNHALT the lock is test-and-set: nobody halts.
    assert_eq!(lock_slow_path(&run), (0, 0), "{}", run.dump());
    // `pv_spin=ipi`: waiters behind a long hold leave the spin and are woken by an IPI.
    let Some(run) = harness_boot(2, "selftest=pv-lock pv_spin=ipi") else { return };
    assert_eq!(pv_line(&run), "pv: kvmclock steal-time pv-eoi spinlock-ipi halt-poll poll-control", "{}", run.dump());
    assert!(run.has_line_starting("SELFTEST PASS 1/1"), "{}", run.dump());
    let (halts, kicks) = lock_slow_path(&run);
    assert!(halts > 0 && kicks > 0, "{halts} halted waits, {kicks} kicks\n{}", run.dump());
    for l in run.lines_containing("pv-poll: ") {
        eprintln!("{l}");
    }
}

#[test]
fn harness_nopv_turns_features_off() {
    let _one = one_vm_at_a_time();
    let Some(run) = harness_boot(1, "nopv=all") else { return };
    assert_eq!(pv_line(&run), "pv: kvmclock", "{}", run.dump());
    let Some(run) = harness_boot(1, "nopv=steal") else { return };
    assert_eq!(pv_line(&run), "pv: kvmclock pv-eoi halt-poll poll-control", "{}", run.dump());
    let Some(run) = harness_boot(1, "nopv=poll selftest=pv") else { return };
    assert_eq!(pv_line(&run), "pv: kvmclock steal-time pv-eoi", "{}", run.dump());
    assert!(run.has_line_starting("SELFTEST PASS 4/4"), "{}", run.dump());
    // Without the slow path, waiters spin however long the hold.
    let Some(run) = harness_boot(2, "nopv=spin,eoi pv_spin=ipi selftest=pv-lock") else { return };
    assert_eq!(pv_line(&run), "pv: kvmclock steal-time halt-poll poll-control", "{}", run.dump());
    assert!(run.has_line_starting("SELFTEST PASS 1/1"), "{}", run.dump());
    assert_eq!(lock_slow_path(&run), (0, 0), "{}", run.dump());
}

/// The lock self-test's (halted waits, kicks), from its `pv-lock:` line.
fn lock_slow_path(run: &Run) -> (u64, u64) {
    let lines = run.lines_containing("pv-lock: ");
    let line = lines.first().unwrap_or_else(|| panic!("no pv-lock line\n{}", run.dump()));
    let number_before = |word: &str| -> u64 {
        let head = line.split(word).next().unwrap_or_default();
        head.rsplit(|c: char| !c.is_ascii_digit())
            .find(|w| !w.is_empty())
            .and_then(|w| w.parse().ok())
            .unwrap_or_else(|| panic!("no number before {word:?} in {line:?}"))
    };
    (number_before(" halted waits"), number_before(" kicks"))
}

/// `/proc/PID/task/TID/schedstat`'s second field: ns the thread was
/// runnable but waiting for a CPU (what KVM reports as steal).
fn run_delay_ns(pid: u32, tid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/schedstat")).ok()?;
    stat.split_whitespace().nth(1)?.parse().ok()
}

/// A busy host process pinned to the vCPU thread's host CPU: the guest,
/// busy the whole time, sees about half its time stolen, and its steal
/// counter agrees with the host's run_delay for the vCPU thread. The guest
/// then halts for `REST_MS` before reading its total, so the host's figure
/// stands still around the reading.
#[test]
fn harness_steal_time_matches_host_run_delay() {
    const REST_MS: u64 = 300;
    let _one = one_vm_at_a_time();
    if let Err(why) = kvm_available() {
        eprintln!("skipping: {why}");
        return;
    }
    if Command::new("taskset").arg("--version").stdout(Stdio::null()).status().is_err() {
        eprintln!("skipping: no taskset (util-linux) to pin the VM and its competitor");
        return;
    }
    let mut hog = Command::new("taskset")
        .args(["-c", "0", "sh", "-c", "while :; do :; done"])
        .stdout(Stdio::null())
        .spawn()
        .expect("start the competing process");
    let mut vm = Command::new("taskset")
        .args(["-c", "0"])
        .arg(harness())
        .arg("boot")
        .arg("--kernel")
        .arg(kernel())
        .args([
            "--cpus",
            "1",
            "--cmdline",
            &format!("selftest=pv-steal pv_busy_ms=600 pv_rest_ms={REST_MS}"),
            "--timeout",
            "120",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start vmm-harness");
    let pid = vm.id();
    let (tx, rx) = mpsc::channel();
    let out = vm.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if line.starts_with("pv-steal: cpu 0: resting") {
                let _ = tx.send(Instant::now());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    // Sample the vCPU thread's run_delay until the guest has rested a while.
    let start = Instant::now();
    let mut samples: Vec<(Instant, u64)> = Vec::new();
    let mut resting: Option<Instant> = None;
    loop {
        if resting.is_none() {
            resting = rx.try_recv().ok();
        }
        if resting.is_some_and(|t| t.elapsed() > Duration::from_millis(REST_MS))
            || start.elapsed() > Duration::from_secs(150)
            || vm.try_wait().ok().flatten().is_some()
        {
            break;
        }
        // vmm-harness runs vCPU 0 on its main thread.
        if let Some(d) = run_delay_ns(pid, pid) {
            samples.push((Instant::now(), d));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = hog.kill();
    let _ = hog.wait();
    // The guest prints its figures after the rest, then powers off.
    let waited = Instant::now();
    while vm.try_wait().ok().flatten().is_none() && waited.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = vm.kill();
    let _ = vm.wait();
    let stdout = reader.join().unwrap_or_default();
    let rested = resting.unwrap_or_else(|| panic!("the guest never rested\n{stdout}"));
    // "pv-steal: cpu 0: S us of W us busy (P%), total T us, ..."
    let line = stdout.lines().find(|l| l.starts_with("pv-steal: cpu 0: ") && l.contains(" busy ")).expect("steal line");
    let num = |after: &str| -> u64 {
        let rest = &line[line.find(after).expect("field") + after.len()..];
        rest.split(|c: char| !c.is_ascii_digit()).next().and_then(|n| n.parse().ok()).expect("number")
    };
    let (stolen_us, busy_us, total_us) = (num("cpu 0: "), num(" of "), num("total "));
    // The host's figure in the middle of the guest's rest, when it stands still.
    let mid = rested + Duration::from_millis(REST_MS / 2);
    // Prefer a sample from inside the rest (the sampler can be kept off the
    // CPU too on a loaded host).
    let host_us = samples
        .iter()
        .rev()
        .find(|(t, _)| *t <= mid && *t >= rested)
        .or_else(|| samples.iter().rev().find(|(t, _)| *t <= mid))
        .map(|(_, d)| d / 1000)
        .expect("a run_delay sample");
    eprintln!("guest: {stolen_us} us stolen of {busy_us} us busy, total {total_us} us; host run_delay {host_us} us");
    assert!(stolen_us * 100 >= busy_us * 20, "a competing host process stole under 20%\n{stdout}");
    let diff = total_us.abs_diff(host_us);
    assert!(diff * 100 <= total_us * 5 + 500_000, "guest steal {total_us} us vs host run_delay {host_us} us\n{stdout}");
}
