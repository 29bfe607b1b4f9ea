//! The real-KVM test bed (docs/paravirt.md "The real-KVM test bed"): a Linux
//! L1 guest under QEMU TCG with an emulated AMD SVM loads KVM and runs
//! vmm-harness booting Vireo (L2) with hardware KVM semantics. `make testbed`
//! builds L1 (tests/testbed/build.sh); this module boots it, bounds it from
//! the host, and reads the per-case lines its /init prints
//! (tests/testbed/init).
//!
//! An L1 stall (its /init silent for [`Bounds::silence`]: L1 prints a
//! heartbeat every 2 s, so silence means L1 itself stopped) is told apart
//! from a Vireo failure (a case that printed FAIL or never ended): [`run`]
//! retries only a stall, once, and keeps both attempts for the report.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::repo_root;

/// How long one boot of L1 may take.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    /// Time without a line from L1's /init after which L1 counts as stalled.
    pub silence: Duration,
    /// One case inside L1 (L1's own bound on an L2 run is 60 s).
    pub case: Duration,
    /// One whole run.
    pub total: Duration,
}

/// L1 prints a heartbeat every 2 s, so 45 s of silence is a stall with a wide
/// margin for a loaded host; L1 bounds each L2 run itself (60 s), the host
/// each case (90 s); the whole run normally takes about 25 s.
pub const BOUNDS: Bounds =
    Bounds { silence: Duration::from_secs(45), case: Duration::from_secs(90), total: Duration::from_secs(300) };
/// L1's kernel command line: `tsc=reliable`, or L1 marks the TSC unstable
/// under TCG and L2 gets a per-CPU kvmclock; `panic=-1` with `-no-reboot`
/// makes an L1 panic end QEMU; `loglevel=5` keeps the boot quiet but shows
/// warnings with their registers and stack (a soft lockup's, say).
pub const CMDLINE: &str = "console=ttyS0 tsc=reliable panic=-1 loglevel=5";

/// One case's line from L1.
#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    pub passed: bool,
    /// Seconds of L1 uptime the case took.
    pub secs: f64,
    /// Why it failed (empty when it passed).
    pub why: String,
    /// What the case printed (L1 echoes it with a `| ` prefix).
    pub output: Vec<String>,
}

/// How one boot of L1 ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// L1 printed `TESTBED-DONE`: every case ran (each passed or failed).
    Done(Vec<Case>),
    /// L1 cannot offer KVM here (`TESTBED-SKIP`), or L1 could not be built.
    Skipped(String),
    /// L1's /init fell silent for `secs`: L1 itself stopped. Worth one retry.
    Stalled { secs: u64, last: String },
    /// L1 ended or ran out of time without finishing: not retried.
    Broken(String),
}

/// One boot of L1.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub outcome: Outcome,
    /// Cases that finished before the end (all of them when `Done`).
    pub cases: Vec<Case>,
    /// Host time from starting QEMU to L1's /init.
    pub l1_up: Option<Duration>,
    /// L1 uptime (s) when /init started and when KVM was loaded.
    pub uptime_init: Option<f64>,
    pub uptime_modules: Option<f64>,
    pub elapsed: Duration,
    pub console: String,
}

/// Both attempts, when the first stalled.
#[derive(Clone, Debug)]
pub struct Report {
    pub attempts: Vec<Attempt>,
}

impl Report {
    pub fn last(&self) -> &Attempt {
        self.attempts.last().expect("at least one attempt")
    }

    /// The named case of the last attempt.
    pub fn case(&self, name: &str) -> Option<&Case> {
        self.last().cases.iter().find(|c| c.name == name)
    }

    /// The lines the host prints for everyone to see.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        for (i, a) in self.attempts.iter().enumerate() {
            let up = a.l1_up.map_or("-".into(), |d| format!("{:.1} s", d.as_secs_f64()));
            let kvm = match (a.uptime_init, a.uptime_modules) {
                (Some(i), Some(m)) => format!("{:.2} s", m - i),
                _ => "-".into(),
            };
            let end = match &a.outcome {
                Outcome::Done(_) => "done".to_string(),
                Outcome::Skipped(why) if a.l1_up.is_none() => {
                    s += &format!("testbed: SKIP (the real-KVM test bed did not run): {why}\n");
                    continue;
                }
                Outcome::Skipped(why) => format!("SKIP: {why}"),
                Outcome::Stalled { secs, last } => {
                    format!("L1 STALL (no line from L1's /init for {secs} s; last line {last:?})")
                }
                Outcome::Broken(why) => format!("L1 BROKEN: {why}"),
            };
            s += &format!(
                "testbed: attempt {}: QEMU start to L1 /init {up}, KVM modules {kvm}, {:.1} s in all: {end} ({})\n",
                i + 1,
                a.elapsed.as_secs_f64(),
                console_log(i + 1).display()
            );
            for c in &a.cases {
                let verdict = if c.passed { "PASS" } else { "FAIL" };
                s += &format!("testbed:   {:<20} {verdict} {:>6.2} s {}\n", c.name, c.secs, c.why);
            }
        }
        s
    }
}

/// The L1 kernel and initramfs, or why the test bed cannot run.
pub fn inputs() -> Result<(PathBuf, PathBuf), String> {
    let dir = repo_root().join("build/testbed");
    if let Ok(why) = std::fs::read_to_string(dir.join("unavailable")) {
        return Err(format!("L1 could not be built: {}", why.trim()));
    }
    let (kernel, initramfs) = (dir.join("vmlinuz"), dir.join("initramfs.cpio"));
    assert!(initramfs.exists() && kernel.exists(), "{} is missing: run `make testbed`", initramfs.display());
    Ok((kernel, initramfs))
}

/// QEMU for L1: TCG with `-cpu max` (AMD SVM with nested paging), q35, 2 GiB,
/// one CPU. With two L1 CPUs, QEMU 7.2's SVM emulation now and then handed an
/// L2 vCPU L1's own state across a world switch (an L2 vCPU found at a RIP
/// inside kvm-amd, GS base 0 in the middle of Vireo's syscall entry with
/// interrupts masked, triple faults in early boot): about 3 L2 runs in 100
/// failed so, with one L1 CPU none in 180 (docs/paravirt.md, "Flakiness").
pub fn qemu(kernel: &Path, initramfs: &Path) -> Command {
    qemu_with(kernel, initramfs, "")
}

/// [`qemu`] with `extra` words on L1's command line (`testbed.bench=...`).
pub fn qemu_with(kernel: &Path, initramfs: &Path, extra: &str) -> Command {
    let mut c = Command::new("qemu-system-x86_64");
    c.args(["-accel", "tcg", "-cpu", "max", "-M", "q35", "-m", "2G", "-smp", "1"]);
    c.args(["-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot"]);
    let cmdline = if extra.is_empty() { CMDLINE.to_string() } else { format!("{CMDLINE} {extra}") };
    c.arg("-kernel").arg(kernel).arg("-initrd").arg(initramfs).args(["-append", &cmdline]);
    c
}

/// Boots L1, retrying once when (and only when) L1 stalls.
/// Each attempt's whole console is kept in build/testbed/l1-console-N.log.
pub fn run() -> Report {
    let r = match inputs() {
        Ok((kernel, initramfs)) => attempts(|| qemu(&kernel, &initramfs), BOUNDS),
        Err(why) => return Report { attempts: vec![no_boot(Outcome::Skipped(why))] },
    };
    for (i, a) in r.attempts.iter().enumerate() {
        let _ = std::fs::write(console_log(i + 1), &a.console);
    }
    r
}

/// Where [`run`] keeps attempt `n`'s console.
pub fn console_log(n: usize) -> PathBuf {
    repo_root().join(format!("build/testbed/l1-console-{n}.log"))
}

/// Runs `make()`'s command; a second time only if the first stalled.
pub fn attempts(mut make: impl FnMut() -> Command, bounds: Bounds) -> Report {
    let first = boot(make(), bounds);
    if !matches!(first.outcome, Outcome::Stalled { .. }) {
        return Report { attempts: vec![first] };
    }
    let second = boot(make(), bounds);
    Report { attempts: vec![first, second] }
}

/// An attempt that ended before L1 could boot.
fn no_boot(outcome: Outcome) -> Attempt {
    Attempt {
        outcome,
        cases: Vec::new(),
        l1_up: None,
        uptime_init: None,
        uptime_modules: None,
        elapsed: Duration::ZERO,
        console: String::new(),
    }
}

/// What the console said so far.
#[derive(Default)]
struct Parse {
    cases: Vec<Case>,
    current: Vec<String>,
    l1_up: Option<Duration>,
    uptime_init: Option<f64>,
    uptime_modules: Option<f64>,
    /// The case under way and when it started.
    running: Option<(String, Duration)>,
    done: bool,
    skip: Option<String>,
}

impl Parse {
    fn line(&mut self, line: &str, at: Duration) {
        let mut w = line.split_whitespace();
        match w.next() {
            Some("TESTBED-L1") => {
                self.l1_up = Some(at);
                self.uptime_init = w.nth(1).and_then(|t| t.parse().ok());
            }
            Some("TESTBED-TIME") if w.next() == Some("modules") => {
                self.uptime_modules = w.next().and_then(|t| t.parse().ok());
            }
            Some("TESTBED-START") => {
                self.current.clear();
                self.running = Some((w.next().unwrap_or("?").to_string(), at));
            }
            Some("TESTBED-CASE") => {
                let name = w.next().unwrap_or("?").to_string();
                let passed = w.next() == Some("PASS");
                let secs = w.next().and_then(|t| t.parse().ok()).unwrap_or(f64::NAN);
                let why = w.collect::<Vec<_>>().join(" ");
                let output = std::mem::take(&mut self.current);
                self.running = None;
                self.cases.push(Case { name, passed, secs, why, output });
            }
            Some("TESTBED-DONE") => self.done = true,
            Some("TESTBED-SKIP") => self.skip = Some(line.trim_start_matches("TESTBED-SKIP").trim().to_string()),
            _ => {
                if let Some(out) = line.strip_prefix("| ") {
                    self.current.push(out.to_string());
                }
            }
        }
    }
}

/// One boot of L1 (`cmd`), bounded by `bounds`.
pub fn boot(mut cmd: Command, bounds: Bounds) -> Attempt {
    let start = Instant::now();
    let mut child = match cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn() {
        Ok(c) => c,
        Err(e) => return no_boot(Outcome::Broken(format!("cannot start QEMU: {e}"))),
    };
    let stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).split(b'\n').map_while(Result::ok) {
            let line = String::from_utf8_lossy(&line).trim_end_matches('\r').to_string();
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });

    let mut p = Parse::default();
    let mut console = String::new();
    let mut last = String::new();
    // When L1's user space last showed life: any line of /init's (they all
    // start with `TESTBED-` or `| `). Kernel messages do not count: a
    // soft-lockup report repeating on a frozen L1 is not life.
    let mut alive_at = Duration::ZERO;
    let outcome = loop {
        let now = start.elapsed();
        let case_end = p.running.as_ref().map_or(Duration::MAX, |(_, t)| *t + bounds.case);
        let wake = (alive_at + bounds.silence).min(bounds.total).min(case_end);
        match rx.recv_timeout(wake.saturating_sub(now)) {
            Ok(line) => {
                let at = start.elapsed();
                if line.starts_with("TESTBED-") || line.starts_with("| ") {
                    alive_at = at;
                }
                p.line(&line, at);
                console.push_str(&line);
                console.push('\n');
                if !line.starts_with("TESTBED-ALIVE") {
                    last = line;
                }
                if p.done || p.skip.is_some() {
                    break None;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                break Some(Outcome::Broken(format!("QEMU ended before L1 finished; last line {last:?}")));
            }
        }
        let now = start.elapsed();
        if now >= alive_at + bounds.silence {
            break Some(Outcome::Stalled { secs: bounds.silence.as_secs(), last: last.clone() });
        }
        if let Some((name, t)) = p.running.clone().filter(|(_, t)| now >= *t + bounds.case) {
            // L1 is alive (it is not silent) but the case never ended: a
            // failure of what runs inside L1, so no retry.
            let why = format!("no result within {} s while L1 stayed alive", bounds.case.as_secs());
            let output = std::mem::take(&mut p.current);
            let secs = (now - t).as_secs_f64();
            p.cases.push(Case { name: name.clone(), passed: false, secs, why: why.clone(), output });
            break Some(Outcome::Broken(format!("case {name}: {why}")));
        }
        if now >= bounds.total {
            break Some(Outcome::Broken(format!("L1 still running after {} s", bounds.total.as_secs())));
        }
    };
    // L1 powers itself off after its last line; give it a moment, then stop it.
    stop(&mut child, Duration::from_secs(if outcome.is_none() { 20 } else { 0 }));
    let stderr = err_reader.join().unwrap_or_default();
    if !stderr.trim().is_empty() {
        console += &format!("--- QEMU stderr ---\n{stderr}");
    }
    let outcome = match (outcome, p.skip.take()) {
        (_, Some(why)) => Outcome::Skipped(why),
        (Some(o), None) => o,
        (None, None) => Outcome::Done(p.cases.clone()),
    };
    Attempt {
        outcome,
        cases: p.cases,
        l1_up: p.l1_up,
        uptime_init: p.uptime_init,
        uptime_modules: p.uptime_modules,
        elapsed: start.elapsed(),
        console,
    }
}

/// Waits up to `grace` for QEMU to exit, then kills it.
fn stop(child: &mut Child, grace: Duration) {
    let until = Instant::now() + grace;
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Writes `s` to the test process's stderr directly, past libtest's capture,
/// so the per-case report shows in `make test` even when everything passes.
pub fn report(s: &str) {
    let _ = std::io::stderr().lock().write_all(s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_lines_become_cases() {
        let mut p = Parse::default();
        for l in [
            "TESTBED-L1 up 3.10 kernel 6.1.0-57-cloud-amd64",
            "TESTBED-TIME modules 3.72",
            "TESTBED-START a",
            "| VIREO-EXIT 0",
            "TESTBED-CASE a PASS 0.50",
            "TESTBED-ALIVE 5.00",
            "TESTBED-START b",
            "| oops",
            "TESTBED-CASE b FAIL 1.25 exit status 125, want 0",
            "TESTBED-DONE pass=1 fail=1",
        ] {
            p.line(l, Duration::from_secs(4));
        }
        assert_eq!((p.uptime_init, p.uptime_modules), (Some(3.10), Some(3.72)));
        assert!(p.done);
        assert_eq!(p.cases.len(), 2);
        assert!(p.cases[0].passed && p.cases[0].output == ["VIREO-EXIT 0"]);
        assert!(!p.cases[1].passed);
        assert_eq!(p.cases[1].why, "exit status 125, want 0");
        assert_eq!(p.cases[1].secs, 1.25);
        let mut p = Parse::default();
        p.line("TESTBED-SKIP L1 has no svm flag", Duration::ZERO);
        assert_eq!(p.skip.as_deref(), Some("L1 has no svm flag"));
    }

    const FAST: Bounds =
        Bounds { silence: Duration::from_millis(1500), case: Duration::from_secs(10), total: Duration::from_secs(20) };

    /// A stand-in for QEMU: a shell script printing what L1 would.
    fn fake(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.args(["-c", script]);
        c
    }

    #[test]
    fn a_stall_is_retried_once_and_both_are_reported() {
        let flag = std::env::temp_dir().join(format!("vireo-testbed-stall-{}", std::process::id()));
        let _ = std::fs::remove_file(&flag);
        // The first boot goes silent after one case; the second one finishes.
        let script = format!(
            "echo 'TESTBED-L1 up 1.0 kernel x'; echo 'TESTBED-CASE a PASS 0.1'; \
             if [ -e {f} ]; then echo 'TESTBED-DONE pass=1 fail=0'; else touch {f}; exec sleep 30; fi",
            f = flag.display()
        );
        let r = attempts(|| fake(&script), FAST);
        let _ = std::fs::remove_file(&flag);
        assert_eq!(r.attempts.len(), 2, "{}", r.summary());
        assert!(matches!(&r.attempts[0].outcome, Outcome::Stalled { last, .. } if last == "TESTBED-CASE a PASS 0.1"));
        assert!(r.attempts[0].elapsed < Duration::from_secs(10), "the stalled boot was not stopped");
        assert!(matches!(r.last().outcome, Outcome::Done(_)), "{}", r.summary());
        assert!(r.summary().contains("attempt 1: ") && r.summary().contains("L1 STALL"));
    }

    #[test]
    fn a_vireo_failure_is_reported_and_never_retried() {
        let r = attempts(
            || fake("echo 'TESTBED-CASE a FAIL 2.00 exit status 124, want 0'; echo 'TESTBED-DONE pass=0 fail=1'"),
            FAST,
        );
        assert_eq!(r.attempts.len(), 1);
        let Outcome::Done(cases) = &r.last().outcome else { panic!("{}", r.summary()) };
        assert!(!cases[0].passed && cases[0].why == "exit status 124, want 0");
        assert!(r.summary().contains("a                    FAIL   2.00 s exit status 124, want 0"), "{}", r.summary());
    }

    #[test]
    fn heartbeats_keep_a_slow_case_alive_and_an_early_end_is_not_retried() {
        // Heartbeats only: not a stall, but the run's own bound ends it.
        let bounds = Bounds { case: Duration::from_secs(2), total: Duration::from_secs(3), ..FAST };
        let r = attempts(|| fake("while :; do echo TESTBED-ALIVE; sleep 0.5; done"), bounds);
        assert_eq!(r.attempts.len(), 1);
        assert!(matches!(&r.last().outcome, Outcome::Broken(w) if w.contains("still running")), "{}", r.summary());
        // A case that never ends while L1 lives: that case fails, no retry.
        let r = attempts(|| fake("echo 'TESTBED-START x'; while :; do echo TESTBED-ALIVE; sleep 0.5; done"), bounds);
        assert_eq!(r.attempts.len(), 1);
        assert!(
            matches!(&r.last().outcome, Outcome::Broken(w) if w.starts_with("case x: no result")),
            "{}",
            r.summary()
        );
        assert!(!r.last().cases[0].passed && r.last().cases[0].name == "x", "{}", r.summary());
        // Kernel messages only (a frozen L1 reporting soft lockups): a stall.
        let r = attempts(
            || fake("echo 'TESTBED-L1 up 1.0'; while :; do echo '[ 9.0] watchdog: BUG'; sleep 0.3; done"),
            FAST,
        );
        assert_eq!(r.attempts.len(), 2);
        assert!(matches!(&r.last().outcome, Outcome::Stalled { .. }), "{}", r.summary());
        // L1 (QEMU) ending without its last line, e.g. an L1 panic.
        let r = attempts(|| fake("echo 'Kernel panic - not syncing'"), FAST);
        assert_eq!(r.attempts.len(), 1);
        assert!(matches!(&r.last().outcome, Outcome::Broken(w) if w.contains("Kernel panic")), "{}", r.summary());
        // No SVM: a skip, whatever came before.
        let r = attempts(|| fake("echo 'TESTBED-SKIP L1 has no svm flag'"), FAST);
        assert!(matches!(&r.last().outcome, Outcome::Skipped(w) if w == "L1 has no svm flag"), "{}", r.summary());
    }
}
