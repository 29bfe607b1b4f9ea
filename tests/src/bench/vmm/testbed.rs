//! The same two figures in the real-KVM test bed (`testbed.bench=vmm`:
//! tests/testbed/init's `vmm_bench`, which starts the static harness through
//! `exec-stamp` and prints one `VMM-BENCH` line per run). There the KVM calls
//! are real KVM's, each one an exit of L1 under QEMU TCG, so the figures are
//! slower than hardware would give, and of another kind than kvm-pvm's.
use std::time::Duration;

use super::{harness_json, since_exec, with_from_main, Row, BOOT_KEYS, RESTORE_KEYS};
use crate::testbed::{self, Bounds, Outcome};

/// What L1 measured.
pub(super) struct Series {
    pub(super) boot: Vec<Row>,
    pub(super) restore: Vec<Row>,
    /// The snapshot line (`VMM-BENCH snapshot STATUS N KiB`).
    pub(super) snapshot: String,
    pub(super) failures: Vec<String>,
}

/// Boots L1 with `testbed.bench=vmm testbed.runs=runs` and reads its lines.
pub(super) fn measure(runs: usize) -> Result<Series, String> {
    let (kernel, initramfs) = testbed::inputs()?;
    // No TESTBED-CASE lines: the whole bench is one "case" to the watcher.
    let bounds = Bounds {
        silence: Duration::from_secs(45),
        case: Duration::from_secs(900),
        total: Duration::from_secs(300 + 20 * runs as u64),
    };
    let extra = format!("testbed.bench=vmm testbed.runs={runs}");
    let attempt = testbed::boot(testbed::qemu_with(&kernel, &initramfs, &extra), bounds);
    let _ = std::fs::write(crate::repo_root().join("build/bench/vmm-l1-console.log"), &attempt.console);
    let mut series = parse(&attempt.console);
    if !matches!(attempt.outcome, Outcome::Done(_)) {
        series.failures.push(format!("L1 did not finish: {:?}", attempt.outcome));
    }
    Ok(series)
}

/// The `VMM-BENCH` lines of L1's console; run 0 of each kind is a warm-up.
fn parse(console: &str) -> Series {
    let mut s = Series {
        boot: BOOT_KEYS.iter().map(|(_, l)| Row::new(l)).collect(),
        restore: RESTORE_KEYS.iter().map(|(_, l)| Row::new(l)).collect(),
        snapshot: String::new(),
        failures: Vec::new(),
    };
    for line in console.lines().filter_map(|l| l.trim_end_matches('\r').strip_prefix("VMM-BENCH ")) {
        let mut words = line.splitn(4, ' ');
        let (kind, run, status, json) = (words.next(), words.next(), words.next(), words.next().unwrap_or(""));
        let (keys, rows): (&[(&str, &str)], &mut Vec<Row>) = match kind {
            Some("boot") => (&BOOT_KEYS, &mut s.boot),
            Some("restore") => (&RESTORE_KEYS, &mut s.restore),
            Some("snapshot") => {
                s.snapshot = line.trim_start_matches("snapshot ").to_string();
                continue;
            }
            _ => continue,
        };
        if run == Some("0") {
            continue;
        }
        let what = format!("{} run {}", kind.unwrap_or("?"), run.unwrap_or("?"));
        if status != Some("0") {
            s.failures.push(format!("{what}: harness status {}", status.unwrap_or("?")));
            continue;
        }
        if let Err(e) = harness_json::parse(json).and_then(|t| since_exec(&t, keys, rows)) {
            s.failures.push(format!("{what}: {e}"));
        }
    }
    s.boot = with_from_main(std::mem::take(&mut s.boot), "main() -> first KVM_RUN");
    s.restore = with_from_main(std::mem::take(&mut s.restore), "main() -> first KVM_RUN");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_read_from_l1_lines_and_the_warm_up_is_left_out() {
        let trace = |exec: f64| {
            format!(
                r#"{{"events":[{{"t_us":{exec},"event":"exec"}},{{"t_us":0.0,"event":"process start"}},{{"t_us":100.0,"event":"vm created"}},{{"t_us":200.0,"event":"memory ready"}},{{"t_us":300.0,"event":"first KVM_RUN"}}],"exit_code":0}}"#
            )
        };
        let console = format!(
            "noise\nVMM-BENCH restore 0 0 {}\r\nVMM-BENCH restore 1 0 {}\nVMM-BENCH restore 2 124 \n\
             VMM-BENCH snapshot 0 6800 KiB\nVMM-BENCH restore 3 0 not json\n",
            trace(-9000.0),
            trace(-500.0)
        );
        let s = parse(&console);
        let first = s.restore.iter().find(|r| r.label.starts_with("exec -> first KVM_RUN")).unwrap();
        assert_eq!(first.values, [800.0]);
        assert_eq!(s.restore.last().unwrap().values, [300.0]);
        assert_eq!(s.snapshot, "0 6800 KiB");
        assert_eq!(s.failures.len(), 2, "{:?}", s.failures);
        assert!(s.failures[0].contains("restore run 2: harness status 124"));
        assert!(s.boot.iter().all(|r| r.values.is_empty()));
    }
}
