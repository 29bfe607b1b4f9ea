//! `vireo-bench-overcommit` (`make bench-overcommit`, part of `make bench`;
//! docs/paravirt.md "Measured"): Vireo's paravirtual interfaces against
//! `nopv=all` when vCPUs outnumber host CPUs.
//!
//! Two settings, each PV on and off alternating, N runs:
//! - the real-KVM test bed (L1 with one CPU, so every vCPU of L2 shares it):
//!   2, 4 and 8 vCPUs run the `pv-lock` and `pv-tlb` self-tests and then
//!   `/bin/overcommit` (futex ping-pong, unmaps with shootdowns); L1's
//!   /init does the runs (`testbed.bench=overcommit`, tests/testbed/init);
//! - kvm-pvm directly (no hypercalls there: spin versus halt-and-IPI only),
//!   the harness pinned to host CPU 0 with `taskset`, 2 and 4 vCPUs, the
//!   same self-tests (user space cannot run on kvm-pvm).
//!
//! Figures per setting: completion time (L1's clock for the test bed, the
//! host's here) and the CPU time of the harness process (its vCPU threads;
//! `vmm-harness --trace` prints it). A benchmark: never fails on a number.
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::stats::Summary;
use crate::testbed::{self, Bounds, Case, Outcome};

const DEFAULT_RUNS: usize = 5;
/// The self-tests' workload (docs/paravirt.md).
const GUEST_CMDLINE: &str = "selftest=pv-lock,pv-tlb pv_lock_iters=100";
const TESTBED_CPUS: [u32; 3] = [2, 4, 8];
const PVM_CPUS: [u32; 2] = [2, 4];

const USAGE: &str = "usage: vireo-bench-overcommit [--runs N] [--no-testbed] [--no-pvm]\n\
  N runs of each vCPU count with PV on and with nopv=all (default 5; VIREO_BENCH_OC_RUNS)\n";

/// One run: completion seconds (boot included), the workload's own seconds
/// by the guest's clock, and the harness's CPU seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub secs: f64,
    pub work_secs: Option<f64>,
    pub cpu_secs: Option<f64>,
}

/// The number after the last `" in "` before `unit` in `line`.
fn time_in(line: &str, unit: &str) -> Option<f64> {
    let head = line.split(unit).next()?;
    head.rsplit(" in ").next()?.trim().parse().ok()
}

/// Seconds the workload took by the guest's clock: the `pv-lock:` and
/// `pv-tlb:` self-test lines plus, when user space ran, both phases of the
/// `overcommit:` line. `None` without the two self-test lines.
pub fn work_secs(lines: &[String]) -> Option<f64> {
    let find = |p: &str| lines.iter().map(|l| l.trim_end_matches('\r')).find(|l| l.starts_with(p));
    let lock = time_in(find("pv-lock: ")?, " us,")?;
    let tlb = time_in(find("pv-tlb: ")?, " us (")?;
    let user_ms = find("overcommit: ").map_or(Some(0.0), |l| {
        let (futex, unmap) = l.split_once(" ms, ")?;
        let futex_ms: f64 = futex.rsplit(" in ").next()?.parse().ok()?;
        Some(futex_ms + time_in(unmap, " ms")?)
    })?;
    Some((lock + tlb) / 1e6 + user_ms / 1e3)
}

/// Every run of one (setting, vCPUs, PV) cell.
#[derive(Clone, Debug, Default)]
pub struct Cell {
    pub samples: Vec<Sample>,
    pub failures: Vec<String>,
}

/// (setting, vCPUs, PV on) -> cell, in table order.
pub type Results = Vec<((&'static str, u32, bool), Cell)>;

/// `vmm-harness: cpu time 534418 us (...)` -> 0.534418.
pub fn cpu_secs(lines: &[String]) -> Option<f64> {
    lines.iter().find_map(|l| {
        let rest = l.trim_end_matches('\r').split("vmm-harness: cpu time ").nth(1)?;
        rest.split_whitespace().next()?.parse::<f64>().ok().map(|us| us / 1e6)
    })
}

/// `oc-4cpu-pvoff-3` -> (4, false).
pub fn case_key(name: &str) -> Option<(u32, bool)> {
    let rest = name.strip_prefix("oc-")?;
    let (cpus, rest) = rest.split_once("cpu-")?;
    let pv = match rest.split('-').next()? {
        "pvon" => true,
        "pvoff" => false,
        _ => return None,
    };
    Some((cpus.parse().ok()?, pv))
}

fn cell<'a>(r: &'a mut Results, key: (&'static str, u32, bool)) -> &'a mut Cell {
    if let Some(i) = r.iter().position(|(k, _)| *k == key) {
        return &mut r[i].1;
    }
    r.push((key, Cell::default()));
    &mut r.last_mut().expect("just pushed").1
}

/// Adds the test bed's cases to `r`.
pub fn add_testbed_cases(r: &mut Results, cases: &[Case]) {
    for c in cases {
        let Some((cpus, pv)) = case_key(&c.name) else { continue };
        let cell = cell(r, ("test bed", cpus, pv));
        if c.passed {
            cell.samples.push(Sample { secs: c.secs, work_secs: work_secs(&c.output), cpu_secs: cpu_secs(&c.output) });
        } else {
            cell.failures.push(format!("{}: {}", c.name, c.why));
        }
    }
}

fn log(msg: &str) {
    eprintln!("vireo-bench-overcommit: {msg}");
}

fn testbed_runs(runs: usize, r: &mut Results) {
    let (kernel, initramfs) = match testbed::inputs() {
        Ok(k) => k,
        Err(why) => return log(&format!("test bed skipped: {why}")),
    };
    // The slowest run (8 vCPUs, nopv=all) takes about a minute.
    let bounds = Bounds {
        silence: Duration::from_secs(45),
        case: Duration::from_secs(330),
        total: Duration::from_secs(600 + 300 * runs as u64),
    };
    let extra = format!("testbed.bench=overcommit testbed.runs={runs}");
    log(&format!("test bed: {runs} runs of {TESTBED_CPUS:?} vCPUs, PV on and off, on one L1 CPU"));
    let report = testbed::attempts(|| testbed::qemu_with(&kernel, &initramfs, &extra), bounds);
    let last = report.last();
    let _ = std::fs::write(crate::repo_root().join("build/bench/overcommit-l1-console.log"), &last.console);
    match &last.outcome {
        Outcome::Done(cases) => add_testbed_cases(r, cases),
        other => {
            add_testbed_cases(r, &last.cases);
            log(&format!("test bed did not finish: {other:?}"));
        }
    }
}

fn pvm_runs(runs: usize, r: &mut Results) {
    if let Err(why) = crate::kvm_available() {
        return log(&format!("kvm-pvm skipped: {why}"));
    }
    let kernel = crate::kernel();
    for run in 0..runs {
        for cpus in PVM_CPUS {
            for pv in [true, false] {
                let cmdline = if pv { GUEST_CMDLINE.to_string() } else { format!("nopv=all {GUEST_CMDLINE}") };
                let mut cmd = Command::new("taskset");
                cmd.args(["-c", "0"]).arg(crate::harness()).arg("boot").arg("--kernel").arg(&kernel);
                cmd.args(["--cpus", &cpus.to_string(), "--trace", "--timeout", "300", "--cmdline", &cmdline]);
                let t0 = Instant::now();
                let out = cmd.output();
                let secs = t0.elapsed().as_secs_f64();
                let cell = cell(r, ("kvm-pvm", cpus, pv));
                match out {
                    Ok(o) if o.status.success() => {
                        let text =
                            format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
                        let lines: Vec<String> = text.lines().map(String::from).collect();
                        cell.samples.push(Sample { secs, work_secs: work_secs(&lines), cpu_secs: cpu_secs(&lines) });
                    }
                    Ok(o) => cell.failures.push(format!("run {}: {}", run + 1, o.status)),
                    Err(e) => cell.failures.push(format!("taskset: {e}")),
                }
            }
        }
    }
}

fn fmt(s: Option<Summary>) -> String {
    s.map_or("-".into(), |s| format!("{:.2} / {:.2} / {:.2}", s.min, s.median, s.max))
}

/// The stdout table: per setting and vCPU count, PV on and off, and how
/// many times faster PV is (ratio of the workload's medians).
pub fn table(r: &Results) -> String {
    let mut s = String::from(
        "\nOvercommit (all vCPUs on one CPU): seconds, min / median / max\n\
         setting    vCPUs  PV   workload (guest clock)  whole run (with boot)  harness CPU time       PV speed-up\n",
    );
    let of = |c: &Cell, f: fn(&Sample) -> Option<f64>| Summary::of(&c.samples.iter().filter_map(f).collect::<Vec<_>>());
    for ((setting, cpus, pv), c) in r {
        let work = of(c, |x| x.work_secs);
        let ratio = if *pv {
            let off = r.iter().find(|(k, _)| *k == (*setting, *cpus, false)).and_then(|(_, c)| of(c, |x| x.work_secs));
            match (work, off) {
                (Some(on), Some(off)) if on.median > 0.0 => format!("{:.1}x", off.median / on.median),
                _ => "-".into(),
            }
        } else {
            String::new()
        };
        let pv = if *pv { "on" } else { "off" };
        s += &format!(
            "{setting:<10} {cpus:>5}  {pv:<4} {:<23} {:<22} {:<22} {ratio}\n",
            fmt(work),
            fmt(of(c, |x| Some(x.secs))),
            fmt(of(c, |x| x.cpu_secs))
        );
        for f in &c.failures {
            s += &format!("           failed: {f}\n");
        }
    }
    s
}

pub fn json(r: &Results) -> Value {
    let cells: Vec<Value> = r
        .iter()
        .map(|((setting, cpus, pv), c)| {
            json!({
                "setting": setting, "vcpus": cpus, "pv": pv,
                "completion_s": c.samples.iter().map(|x| x.secs).collect::<Vec<_>>(),
                "workload_s": c.samples.iter().map(|x| x.work_secs).collect::<Vec<_>>(),
                "cpu_s": c.samples.iter().map(|x| x.cpu_secs).collect::<Vec<_>>(),
                "failures": c.failures,
            })
        })
        .collect();
    json!({ "benchmark": "overcommit", "guest_cmdline": GUEST_CMDLINE, "cells": cells })
}

pub fn main(args: &[String]) -> i32 {
    let mut runs = std::env::var("VIREO_BENCH_OC_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_RUNS);
    let (mut testbed_on, mut pvm_on) = (true, true);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => match it.next().and_then(|v| v.parse::<usize>().ok()).filter(|&n| n > 0) {
                Some(n) => runs = n,
                None => {
                    eprint!("vireo-bench-overcommit: --runs needs a positive number\n{USAGE}");
                    return 2;
                }
            },
            "--no-testbed" => testbed_on = false,
            "--no-pvm" => pvm_on = false,
            "-h" | "--help" => {
                print!("{USAGE}");
                return 0;
            }
            other => {
                eprint!("vireo-bench-overcommit: unknown argument {other:?}\n{USAGE}");
                return 2;
            }
        }
    }
    let out_dir = crate::repo_root().join("build/bench");
    let _ = std::fs::create_dir_all(&out_dir);
    let mut r = Results::new();
    if testbed_on {
        testbed_runs(runs, &mut r);
    }
    if pvm_on {
        pvm_runs(runs, &mut r);
    }
    print!("{}", table(&r));
    let path = out_dir.join("overcommit.json");
    match std::fs::write(&path, json(&r).to_string()) {
        Ok(()) => println!("\nWrote {}", super::rel(Path::new(&path))),
        Err(e) => log(&format!("cannot write {}: {e}", path.display())),
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(name: &str, passed: bool, secs: f64, out: &[&str]) -> Case {
        Case {
            name: name.into(),
            passed,
            secs,
            why: if passed { String::new() } else { "exit status 124, want 0".into() },
            output: out.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn case_names_give_cpus_and_pv() {
        assert_eq!(case_key("oc-4cpu-pvoff-3"), Some((4, false)));
        assert_eq!(case_key("oc-8cpu-pvon-12"), Some((8, true)));
        assert_eq!(case_key("user-space-4cpu"), None);
        assert_eq!(case_key("oc-xcpu-pvon-1"), None);
        assert_eq!(case_key("oc-2cpu-pvmaybe-1"), None);
    }

    #[test]
    fn cpu_time_comes_from_the_harness_line() {
        let lines = ["pv-lock: ...".to_string(), "vmm-harness: cpu time 534418 us (user 1 us, system 2 us)\r".into()];
        assert_eq!(cpu_secs(&lines), Some(0.534418));
        assert_eq!(cpu_secs(&["nothing".to_string()]), None);
    }

    #[test]
    fn workload_is_the_self_tests_plus_the_program() {
        let lines: Vec<String> = [
            "pv-lock: 4 cpus, 400 acquisitions in 205121 us, 102 halted waits, 102 kicks",
            "selftest: pv-lock: contended lock stays exclusive ... ok (222499 us)",
            "pv-tlb: 200 shootdowns of 3 cpus in 225 us (1127 ns each): 0 acks, 600 skipped as preempted",
            "overcommit: 4 cpus, 400 ping-pong rounds x 2 pairs in 84.0 ms, 100 unmaps in 174.0 ms\r",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let w = work_secs(&lines).unwrap();
        assert!((w - (0.205121 + 0.000225 + 0.258)).abs() < 1e-9, "{w}");
        // Kernel only (kvm-pvm): the two self-tests.
        assert!((work_secs(&lines[..3]).unwrap() - 0.205346).abs() < 1e-9);
        assert_eq!(work_secs(&lines[1..]), None);
    }

    #[test]
    fn cases_fill_cells_and_the_ratio_is_off_over_on() {
        let mut r = Results::new();
        let cpu = "vmm-harness: cpu time 1000000 us (user 0 us, system 1000000 us)";
        let lock = |us: u32| format!("pv-lock: 2 cpus, 200 acquisitions in {us} us, 0 halted waits, 0 kicks");
        let tlb = "pv-tlb: 200 shootdowns of 1 cpus in 0 us (0 ns each): 200 acks, 0 skipped as preempted";
        let (l1, l3, l8) = (lock(1_000_000), lock(3_000_000), lock(8_000_000));
        add_testbed_cases(
            &mut r,
            &[
                case("oc-2cpu-pvon-1", true, 1.5, &[&l1, tlb, cpu]),
                case("oc-2cpu-pvoff-1", true, 8.5, &[&l8, tlb, cpu]),
                case("oc-2cpu-pvon-2", true, 3.5, &[&l3, tlb]),
                case("oc-2cpu-pvoff-2", false, 300.0, &[]),
                case("user-space-1cpu", true, 1.0, &[]),
            ],
        );
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].1.samples.len(), 2);
        assert_eq!(r[0].1.samples[1].cpu_secs, None);
        assert_eq!(r[0].1.samples[1].work_secs, Some(3.0));
        assert_eq!(r[1].1.failures, vec!["oc-2cpu-pvoff-2: exit status 124, want 0".to_string()]);
        let t = table(&r);
        // Workload medians: on (1 + 3) / 2 = 2, off 8: 4x.
        assert!(t.contains("4.0x"), "{t}");
        assert!(t.contains("failed: oc-2cpu-pvoff-2"), "{t}");
    }
}
