//! The table `make bench` prints on stdout.

use std::fmt::Write as _;

use super::super::measure::{IcountSection, Milestone, Results, WallSection};
use super::super::mm::MmStats;
use super::super::stats::{fmt_bytes, Summary};
use super::{host_line, targets, thousands, utc};

fn size_line(path: &std::path::Path, size: Option<u64>) -> String {
    match size {
        Some(n) => format!("{:<22} {:>12} bytes ({})", super::super::rel(path), thousands(n as f64), fmt_bytes(n)),
        None => format!("{:<22} absent", super::super::rel(path)),
    }
}

/// What a section booted: `kernel + build/initrd.cpio`, or kernel only.
fn boot_what(initrd: &Option<String>) -> String {
    match initrd {
        Some(i) => format!("kernel + {i}"),
        None => "kernel only (no initrd)".into(),
    }
}

fn icount_table(s: &mut String, a: &IcountSection) {
    let _ = writeln!(
        s,
        "a. Guest instructions from PVH entry: QEMU TCG microvm, -icount shift=0,sleep=off, 1 vCPU, {} ({} of {} runs usable)",
        boot_what(&a.initrd),
        a.runs_ok,
        a.runs
    );
    if let Some(why) = &a.skipped {
        let _ = writeln!(s, "   {why}");
        return;
    }
    for f in &a.failures {
        let _ = writeln!(s, "   ! {f}");
    }
    let _ = writeln!(s, "   {:<34} {:>14}   spread (max-min over runs)", "milestone", "instructions");
    for m in &a.codes {
        match Summary::of(&m.values) {
            Some(x) => {
                let _ = writeln!(
                    s,
                    "   {:<34} {:>14}   {} ({:.3}%)",
                    m.label,
                    thousands(x.median),
                    thousands(x.spread()),
                    x.spread_pct()
                );
            }
            None if a.runs_ok == 0 => {
                let _ = writeln!(s, "   {:<34} {:>14}", m.label, "not measured");
            }
            None => {
                let _ = writeln!(s, "   {:<34} {:>14}", m.label, "not reached");
            }
        }
    }
    for (m, note) in [(&a.std_main, &a.std_main_note), (&a.user_rate_given, &a.user_rate_given_note)] {
        if let Some(m) = m {
            let v = Summary::of(&m.values).map_or("not measured".to_string(), |x| thousands(x.median));
            let _ = writeln!(s, "   {:<34} {:>14}   ({})", m.label, v, note.as_deref().unwrap_or(""));
        }
    }
    if !a.phases.is_empty() {
        let _ = writeln!(s, "   bootstat phases (instructions from PVH entry to the end of each phase; +delta):");
        let mut prev = 0.0;
        for m in &a.phases {
            if let Some(x) = Summary::of(&m.values) {
                let _ = writeln!(
                    s,
                    "     {:<32} {:>14}   +{}{}",
                    m.label,
                    thousands(x.median),
                    thousands(x.median - prev),
                    if x.spread() > 0.0 { format!("   spread {}", thousands(x.spread())) } else { String::new() }
                );
                prev = x.median;
            }
        }
    }
}

/// Milestones in time order (by median); one not reached keeps its place
/// after the milestone it follows in `ms`.
pub fn time_order(ms: &[Milestone]) -> Vec<&Milestone> {
    let mut key = f64::NEG_INFINITY;
    let mut keyed: Vec<(f64, usize, &Milestone)> = Vec::new();
    for (i, m) in ms.iter().enumerate() {
        if let Some(x) = Summary::of(&m.values) {
            key = x.median;
        }
        keyed.push((key, i, m));
    }
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    keyed.into_iter().map(|(_, _, m)| m).collect()
}

fn milestone_rows(s: &mut String, ms: &[Milestone], delta: bool) {
    let mut prev: Option<f64> = None;
    let ordered = if delta { time_order(ms) } else { ms.iter().collect() };
    for m in ordered {
        match Summary::of(&m.values) {
            Some(x) => {
                let d = match (delta, prev) {
                    (true, Some(p)) => format!("   {:+.1}", x.median - p),
                    _ => String::new(),
                };
                let _ = writeln!(s, "   {:<50} {:>11.1} {:>11.1} {:>11.1}{d}", m.label, x.min, x.median, x.max);
                prev = Some(x.median);
            }
            None if m.required => {
                let _ = writeln!(s, "   {:<50} {:>11}", m.label, "not reached");
            }
            None => {}
        }
    }
}

fn wall_table(s: &mut String, tag: &str, w: &WallSection, what: &str) {
    if let Some(why) = &w.skipped {
        let _ = writeln!(s, "{tag}. {}: {why}", w.vmm);
        return;
    }
    let _ = writeln!(
        s,
        "{tag}. {} {what}, {}: {} of {} boots ok (requested {})",
        w.vmm,
        boot_what(&w.initrd),
        w.boots_ok,
        w.boots_run,
        w.boots_requested
    );
    if let Some(p) = &w.initrd_probe {
        let _ = writeln!(s, "   NOTE: {}", p.verdict);
        let _ = writeln!(s, "   NOTE: {}", super::super::measure::KERNEL_ONLY);
        let _ = writeln!(s, "   probe boot with the initrd: {}", p.command);
        let list = |v: &[String]| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join(", ")
            }
        };
        let _ = writeln!(s, "     reached: {}; not reached: {}", list(&p.reached), list(&p.not_reached));
        let _ =
            writeln!(s, "     ended: {}{}", p.outcome, p.failure.as_ref().map_or(String::new(), |f| format!(": {f}")));
    }
    for n in &w.notes {
        let _ = writeln!(s, "   note: {n}");
    }
    for f in w.failures.iter().take(5) {
        let _ = writeln!(s, "   ! {f}");
    }
    if w.failures.len() > 5 {
        let _ = writeln!(s, "   ! ... and {} more failures", w.failures.len() - 5);
    }
    let _ = writeln!(s, "   {:<50} {:>11} {:>11} {:>11}   +median delta", "us since spawn", "min", "median", "max");
    milestone_rows(s, &w.milestones, true);
    if w.extra.iter().any(|m| !m.values.is_empty()) {
        let _ = writeln!(s, "   {:<50} {:>11} {:>11} {:>11}", "other figures (us)", "min", "median", "max");
        milestone_rows(s, &w.extra, false);
    }
}

/// The whole stdout table.
pub fn table(r: &Results) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Vireo boot benchmark, {}", utc(r.started_unix));
    let _ = writeln!(s, "{}", host_line(r));
    let _ = writeln!(s, "{}; kernel command line \"{}\"", r.qemu_version, super::super::CMDLINE);
    let _ = writeln!(s);
    icount_table(&mut s, &r.icount);
    let _ = writeln!(s);
    wall_table(&mut s, "b", &r.harness, "host timeline on /dev/kvm");
    let _ = writeln!(s);
    wall_table(
        &mut s,
        "c",
        &r.qemu_wall,
        "wall time (host timestamps of serial lines; QEMU cannot timestamp port 0x80)",
    );
    let _ = writeln!(s);
    wall_table(&mut s, "d", &r.chv, "wall time");
    let _ = writeln!(s);
    let _ = writeln!(s, "e. Memory in use after boot, and image sizes");
    let _ = writeln!(s, "   idle (`bootstat: memory`, {}):", r.memory_idle_source);
    mem_lines(&mut s, r.memory_idle.as_ref(), "bootstat: memory");
    let _ = writeln!(s, "   after memory set-up (`mm:`, {}):", r.memory_setup_source);
    mem_lines(&mut s, r.memory_setup.as_ref(), "mm:");
    let _ = writeln!(s, "   {}", size_line(&r.kernel_path, r.kernel_size));
    let _ = writeln!(s, "   {}", size_line(&r.initrd_path, r.initrd_size));
    if let (Some(k), Some(i)) = (r.kernel_size, r.initrd_size) {
        let _ =
            writeln!(s, "   {:<22} {:>12} bytes ({})", "kernel + initrd", thousands((k + i) as f64), fmt_bytes(k + i));
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "f. Against the targets (../shared/docs/targets.md)");
    let _ = writeln!(s, "   {:<66} {:>9}  {:<7}  Vireo now", "figure", "target", "");
    for t in targets(r) {
        let _ = writeln!(
            s,
            "   {:<66} {:>9}  {:<7}  {}",
            t.figure,
            t.target,
            match t.met {
                Some(true) => "met",
                Some(false) => "NOT met",
                None => "-",
            },
            t.now,
        );
    }
    s
}

fn mem_lines(s: &mut String, m: Option<&MmStats>, prefix: &str) {
    let Some(m) = m else {
        let _ = writeln!(s, "     (not printed)");
        return;
    };
    let _ = writeln!(s, "     {prefix} {}", m.raw);
    let show = |n: u64| format!("{} ({} bytes)", fmt_bytes(n), thousands(n as f64));
    match (m.used_bytes, m.free_or_derived()) {
        (None, None) => {
            let _ = writeln!(s, "     (in use/free not recognised in that line; the raw line is the figure)");
        }
        (u, f) => {
            let used = u.map_or("?".to_string(), show);
            let free = match f {
                Some((n, false)) => show(n),
                Some((n, true)) => format!("{} = RAM - in use", show(n)),
                None => "?".to_string(),
            };
            let _ = writeln!(s, "     in use {used}   free {free}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milestones_sort_by_median_and_unreached_stay_put() {
        let m = |k: &str, v: &[f64]| Milestone { key: k.into(), label: k.into(), values: v.to_vec(), required: true };
        let ms = vec![m("a", &[10.0]), m("late", &[50.0]), m("b", &[20.0]), m("never", &[]), m("c", &[30.0])];
        let keys: Vec<&str> = time_order(&ms).iter().map(|m| m.key.as_str()).collect();
        assert_eq!(keys, ["a", "b", "never", "c", "late"]);
    }
}
