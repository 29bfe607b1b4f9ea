//! Output: the table on stdout, `boot.json` and `boot-timeline.svg`.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::measure::{IcountSection, Milestone, Results, WallSection};
use super::mm::MmStats;
use super::stats::{fmt_bytes, fmt_insns, fmt_us, Summary};
use super::svg::{self, Marker, Panel, Row, Segment, Unit};
use super::{harness_json::trace_key, Options};

/// `1234567` as `1,234,567`.
pub fn thousands(n: f64) -> String {
    let neg = n < 0.0;
    let digits = format!("{:.0}", n.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if neg {
        format!("-{out}")
    } else {
        out
    }
}

/// UTC `YYYY-MM-DD HH:MM` from Unix seconds (no time-zone database needed).
pub fn utc(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
}

fn host_line(r: &Results) -> String {
    format!(
        "host: {} ({} cpus), Linux {}, /dev/kvm: {} ({})",
        r.host.cpu_model,
        r.host.cpus,
        r.host.kernel,
        r.host.kvm.name(),
        r.host.kvm_evidence
    )
}

fn size_line(path: &std::path::Path, size: Option<u64>) -> String {
    match size {
        Some(n) => format!(
            "{:<22} {:>12} bytes ({})",
            super::rel(path),
            thousands(n as f64),
            fmt_bytes(n)
        ),
        None => format!("{:<22} absent", super::rel(path)),
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
    let _ = writeln!(
        s,
        "   {:<34} {:>14}   spread (max-min over runs)",
        "milestone", "instructions"
    );
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
    if !a.phases.is_empty() {
        let _ = writeln!(
            s,
            "   bootstat phases (instructions from PVH entry to the end of each phase; +delta):"
        );
        let mut prev = 0.0;
        for m in &a.phases {
            if let Some(x) = Summary::of(&m.values) {
                let _ = writeln!(
                    s,
                    "     {:<32} {:>14}   +{}{}",
                    m.label,
                    thousands(x.median),
                    thousands(x.median - prev),
                    if x.spread() > 0.0 {
                        format!("   spread {}", thousands(x.spread()))
                    } else {
                        String::new()
                    }
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
    let ordered = if delta {
        time_order(ms)
    } else {
        ms.iter().collect()
    };
    for m in ordered {
        match Summary::of(&m.values) {
            Some(x) => {
                let d = match (delta, prev) {
                    (true, Some(p)) => format!("   {:+.1}", x.median - p),
                    _ => String::new(),
                };
                let _ = writeln!(
                    s,
                    "   {:<50} {:>11.1} {:>11.1} {:>11.1}{d}",
                    m.label, x.min, x.median, x.max
                );
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
        let _ = writeln!(s, "   NOTE: {}", super::measure::KERNEL_ONLY);
        let _ = writeln!(s, "   probe boot with the initrd: {}", p.command);
        let list = |v: &[String]| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join(", ")
            }
        };
        let _ = writeln!(
            s,
            "     reached: {}; not reached: {}",
            list(&p.reached),
            list(&p.not_reached)
        );
        let _ = writeln!(
            s,
            "     ended: {}{}",
            p.outcome,
            p.failure
                .as_ref()
                .map_or(String::new(), |f| format!(": {f}"))
        );
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
    let _ = writeln!(
        s,
        "   {:<50} {:>11} {:>11} {:>11}   +median delta",
        "us since spawn", "min", "median", "max"
    );
    milestone_rows(s, &w.milestones, true);
    if w.extra.iter().any(|m| !m.values.is_empty()) {
        let _ = writeln!(
            s,
            "   {:<50} {:>11} {:>11} {:>11}",
            "other figures (us)", "min", "median", "max"
        );
        milestone_rows(s, &w.extra, false);
    }
}

/// The whole stdout table.
pub fn table(r: &Results) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Vireo boot benchmark, {}", utc(r.started_unix));
    let _ = writeln!(s, "{}", host_line(r));
    let _ = writeln!(
        s,
        "{}; kernel command line \"{}\"",
        r.qemu_version,
        super::CMDLINE
    );
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
    let _ = writeln!(
        s,
        "   after memory set-up (`mm:`, {}):",
        r.memory_setup_source
    );
    mem_lines(&mut s, r.memory_setup.as_ref(), "mm:");
    let _ = writeln!(s, "   {}", size_line(&r.kernel_path, r.kernel_size));
    let _ = writeln!(s, "   {}", size_line(&r.initrd_path, r.initrd_size));
    if let (Some(k), Some(i)) = (r.kernel_size, r.initrd_size) {
        let _ = writeln!(
            s,
            "   {:<22} {:>12} bytes ({})",
            "kernel + initrd",
            thousands((k + i) as f64),
            fmt_bytes(k + i)
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "f. Against the targets (/work/shared/docs/targets.md)");
    let _ = writeln!(
        s,
        "   {:<66} {:>9}  {:<7}  Vireo now",
        "figure", "target", ""
    );
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
            let _ = writeln!(
                s,
                "     (in use/free not recognised in that line; the raw line is the figure)"
            );
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

/// One row of the comparison with `/work/shared/docs/targets.md`.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub key: &'static str,
    pub figure: &'static str,
    pub baseline: &'static str,
    pub target: &'static str,
    /// The limit, in `unit`.
    pub limit: f64,
    pub unit: &'static str,
    /// Vireo's figure in `unit`, when measured.
    pub value: Option<f64>,
    /// Vireo's figure as the table prints it.
    pub now: String,
    /// `None` when not measured or not comparable.
    pub met: Option<bool>,
}

/// Limits from `/work/shared/docs/targets.md`.
pub const TARGET_INSNS_TO_USER: f64 = 1.5e6;
pub const TARGET_IDLE_BYTES: u64 = 8 << 20;
pub const TARGET_IMAGE_BYTES: u64 = 2 << 20;
pub const TARGET_FIRST_KVM_RUN_US: f64 = 1500.0;

fn code_median(a: &IcountSection, key: &str) -> Option<f64> {
    a.codes.iter().find(|m| m.key == key).and_then(median)
}

/// The figures `make bench` measures that targets.md sets a target for.
pub fn targets(r: &Results) -> Vec<Target> {
    let mut v = Vec::new();
    let pct = |x: f64, lim: f64| format!("{:.1}% of target", 100.0 * x / lim);

    let insns = code_median(&r.icount, "0x41");
    let user = r.icount.initrd.is_some();
    v.push(Target {
        key: "instructions_to_first_user_instruction",
        figure: "guest instructions, PVH entry -> first user instruction of init",
        baseline: "1.55 G (to init)",
        target: "<= 1.5 M",
        limit: TARGET_INSNS_TO_USER,
        unit: "instructions",
        value: insns,
        now: match (insns, user) {
            (Some(x), true) => format!("{} ({})", thousands(x), pct(x, TARGET_INSNS_TO_USER)),
            (Some(x), false) => format!("{} (kernel's mark; no initrd)", thousands(x)),
            (None, _) => "not measured".into(),
        },
        met: insns.filter(|_| user).map(|x| x <= TARGET_INSNS_TO_USER),
    });

    let idle = r.memory_idle.as_ref().and_then(|m| m.used_bytes);
    v.push(Target {
        key: "idle_memory_in_use",
        figure: "guest memory in use at idle",
        baseline: "18.3 MiB",
        target: "<= 8 MiB",
        limit: TARGET_IDLE_BYTES as f64,
        unit: "bytes",
        value: idle.map(|n| n as f64),
        now: match idle {
            Some(n) => format!(
                "{} ({})",
                fmt_bytes(n),
                pct(n as f64, TARGET_IDLE_BYTES as f64)
            ),
            None => "not measured".into(),
        },
        met: idle.map(|n| n <= TARGET_IDLE_BYTES),
    });

    let total = match (r.kernel_size, r.initrd_size) {
        (Some(k), Some(i)) => Some(k + i),
        _ => None,
    };
    v.push(Target {
        key: "kernel_plus_initrd_bytes",
        figure: "kernel + initrd size",
        baseline: "14.2 MB + 1.2 MB",
        target: "<= 2 MiB",
        limit: TARGET_IMAGE_BYTES as f64,
        unit: "bytes",
        value: total.map(|n| n as f64),
        now: match (r.kernel_size, r.initrd_size) {
            (Some(k), Some(i)) => format!(
                "{} + {} = {} ({})",
                fmt_bytes(k),
                fmt_bytes(i),
                fmt_bytes(k + i),
                pct((k + i) as f64, TARGET_IMAGE_BYTES as f64)
            ),
            (Some(k), None) => format!("{} + no initrd", fmt_bytes(k)),
            _ => "not measured".into(),
        },
        met: total.map(|n| n <= TARGET_IMAGE_BYTES),
    });

    let kvm_run = r
        .harness
        .extra
        .iter()
        .find(|m| m.key == "host main to first KVM_RUN")
        .and_then(median);
    let from_spawn = r
        .harness
        .milestones
        .iter()
        .find(|m| m.key == "first KVM_RUN")
        .and_then(median);
    v.push(Target {
        key: "vmm_start_to_first_kvm_run_us",
        figure: "VMM start -> first KVM_RUN (vmm-harness, host side)",
        baseline: "rust-vmm VMM here 1.1-1.5 ms",
        target: "<= 1.5 ms",
        limit: TARGET_FIRST_KVM_RUN_US,
        unit: "us (median, from the harness's main())",
        value: kvm_run,
        now: match (kvm_run, from_spawn) {
            (Some(x), Some(y)) => format!(
                "{} median from main() ({} from spawn)",
                fmt_us(x),
                fmt_us(y)
            ),
            (Some(x), None) => format!("{} median from main()", fmt_us(x)),
            _ => "not measured".into(),
        },
        met: kvm_run.map(|x| x <= TARGET_FIRST_KVM_RUN_US),
    });
    v
}

fn mem_json(m: Option<&MmStats>, source: &str, line_key: &str) -> Value {
    match m {
        Some(m) => json!({
            line_key: m.raw, "used_bytes": m.used_bytes, "total_bytes": m.total_bytes,
            "free_bytes": m.free_or_derived().map(|f| f.0),
            "free_derived": m.free_or_derived().map(|f| f.1),
            "source": source,
        }),
        None => json!({ "missing": source }),
    }
}

fn milestone_json(m: &Milestone) -> Value {
    match Summary::of(&m.values) {
        Some(x) => json!({
            "key": m.key, "label": m.label, "reached": true, "n": x.n,
            "min": x.min, "median": x.median, "max": x.max, "values": m.values,
        }),
        None => json!({ "key": m.key, "label": m.label, "reached": false }),
    }
}

fn wall_json(w: &WallSection) -> Value {
    if let Some(why) = &w.skipped {
        return json!({ "vmm": w.vmm, "skipped": why });
    }
    json!({
        "vmm": w.vmm,
        "command": w.command,
        "initrd": w.initrd,
        "initrd_probe": w.initrd_probe.as_ref().map(|p| json!({
            "command": p.command, "outcome": p.outcome, "failure": p.failure,
            "reached": p.reached, "not_reached": p.not_reached, "verdict": p.verdict,
        })),
        "unit": "us since spawn",
        "boots_requested": w.boots_requested,
        "boots_run": w.boots_run,
        "boots_ok": w.boots_ok,
        "failures": w.failures,
        "notes": w.notes,
        "milestones": w.milestones.iter().map(milestone_json).collect::<Vec<_>>(),
        "extra": w.extra.iter().map(milestone_json).collect::<Vec<_>>(),
    })
}

/// `boot.json`.
pub fn to_json(r: &Results) -> Value {
    let a = &r.icount;
    json!({
        "schema": 2,
        "started_unix": r.started_unix,
        "started_utc": utc(r.started_unix),
        "elapsed_secs": r.elapsed_secs,
        "host": {
            "cpu_model": r.host.cpu_model,
            "cpus": r.host.cpus,
            "kernel": r.host.kernel,
            "kvm": r.host.kvm.name(),
            "kvm_pvm": r.host.kvm.is_pvm(),
            "kvm_evidence": r.host.kvm_evidence,
            "qemu": r.qemu_version,
        },
        "guest_cmdline": super::CMDLINE,
        "icount": {
            "command": a.command,
            "initrd": a.initrd,
            "skipped": a.skipped,
            "runs": a.runs,
            "runs_ok": a.runs_ok,
            "failures": a.failures,
            "tsc_hz": a.tsc_hz,
            "unit": "guest instructions since PVH entry",
            "codes": a.codes.iter().map(milestone_json).collect::<Vec<_>>(),
            "phases": a.phases.iter().map(milestone_json).collect::<Vec<_>>(),
        },
        "harness": wall_json(&r.harness),
        "qemu_microvm_wall": wall_json(&r.qemu_wall),
        "cloud_hypervisor": wall_json(&r.chv),
        "memory": {
            "idle": mem_json(r.memory_idle.as_ref(), &r.memory_idle_source, "line"),
            "after_setup": mem_json(r.memory_setup.as_ref(), &r.memory_setup_source, "mm_line"),
        },
        "sizes": {
            "kernel.elf": r.kernel_size.map_or(json!("absent"), |n| json!(n)),
            "initrd.cpio": r.initrd_size.map_or(json!("absent"), |n| json!(n)),
            "kernel_plus_initrd": match (r.kernel_size, r.initrd_size) {
                (Some(k), Some(i)) => json!(k + i),
                _ => json!(null),
            },
        },
        "targets": targets(r).iter().map(|t| json!({
            "key": t.key, "figure": t.figure, "linux_baseline": t.baseline,
            "target": t.target, "limit": t.limit, "unit": t.unit,
            "value": t.value, "now": t.now, "met": t.met,
        })).collect::<Vec<_>>(),
    })
}

fn median(m: &Milestone) -> Option<f64> {
    Summary::of(&m.values).map(|s| s.median)
}

/// A row of consecutive phases from (key, segment label, time) points; `markers`
/// are drawn as ticks rather than phase ends. Phases start at 0.
fn timeline_row(
    name: &str,
    note: String,
    points: Vec<(String, String, f64)>,
    markers: &[&str],
) -> Row {
    let mut row = Row {
        name: name.into(),
        note,
        segments: Vec::new(),
        markers: Vec::new(),
    };
    let mut pts: Vec<(String, String, f64)> = Vec::new();
    for (k, label, t) in points {
        if markers.contains(&k.as_str()) {
            row.markers.push(Marker { at: t, label });
        } else {
            pts.push((k, label, t));
        }
    }
    pts.sort_by(|a, b| a.2.total_cmp(&b.2));
    let mut prev = 0.0;
    for (_, label, t) in pts {
        if t > prev {
            row.segments.push(Segment {
                start: prev,
                end: t,
                label,
            });
        } else if let Some(last) = row.segments.last_mut() {
            // Same time as the previous event (e.g. two serial lines in one read).
            last.label = format!("{} + {label}", last.label);
        }
        prev = prev.max(t);
    }
    row
}

fn harness_phase(key: &str) -> String {
    let code = |c: u8| trace_key(c) == key;
    match key {
        "process start" => "exec".into(),
        "vm created" => "create VM".into(),
        "memory ready" => "guest RAM".into(),
        "kernel loaded" => "load kernel".into(),
        "first KVM_RUN" => "vCPU setup".into(),
        "exit" => "to exit".into(),
        "first serial byte" => "first serial byte".into(),
        "boot timer" => "boot timer".into(),
        _ if code(0x40) => "to PVH entry (0x40)".into(),
        _ if code(0x42) => "kernel init (0x42)".into(),
        _ if code(0x41) => "to user (0x41)".into(),
        _ if code(0x43) => "to init ready (0x43)".into(),
        _ => key.into(),
    }
}

fn serial_phase(key: &str) -> String {
    match key {
        "first serial byte" => "start-up to 1st byte".into(),
        "banner line" => "banner".into(),
        "cpu 0 online line" => "to `cpu 0 online`".into(),
        "init line" => "to `init:` (user space)".into(),
        "VIREO-EXIT line" => "to VIREO-EXIT".into(),
        "process exit" => "exit".into(),
        other => harness_phase(other),
    }
}

fn wall_row(
    w: &WallSection,
    name: &str,
    phase: fn(&str) -> String,
    markers: &[&str],
) -> Option<Row> {
    if w.skipped.is_some() || w.boots_ok == 0 {
        return None;
    }
    let points = w
        .milestones
        .iter()
        .filter(|m| m.key != "spawn")
        .filter_map(|m| {
            // Phases are named for what ends at the event; markers for the event.
            let label = if markers.contains(&m.key.as_str()) {
                m.label.clone()
            } else {
                phase(&m.key)
            };
            median(m).map(|t| (m.key.clone(), label, t))
        })
        .collect();
    Some(timeline_row(
        name,
        match (&w.initrd, &w.initrd_probe) {
            (None, Some(_)) => format!("kernel only; median of {}", w.boots_ok),
            _ => format!("median of {} boots", w.boots_ok),
        },
        points,
        markers,
    ))
}

/// `boot-timeline.svg`.
pub fn to_svg(r: &Results) -> String {
    let mut rows = Vec::new();
    let harness_name = format!("vmm-harness ({})", r.host.kvm.name());
    let mut harness_row = wall_row(
        &r.harness,
        &harness_name,
        harness_phase,
        &["first serial byte", "boot timer"],
    );
    if r.harness.initrd.is_none() {
        // Kernel only: 0x41 is the kernel's mark, not a user instruction.
        for seg in harness_row
            .iter_mut()
            .flat_map(|row| row.segments.iter_mut())
        {
            seg.label = seg.label.replace("to user (0x41)", "to 0x41 mark");
        }
    }
    rows.extend(harness_row);
    rows.extend(wall_row(
        &r.qemu_wall,
        "QEMU microvm wall (TCG)",
        serial_phase,
        &[],
    ));
    rows.extend(wall_row(
        &r.chv,
        "Cloud Hypervisor",
        serial_phase,
        &["first serial byte", "banner line", "cpu 0 online line"],
    ));
    let end = rows
        .iter()
        .flat_map(|r| {
            r.segments
                .iter()
                .map(|s| s.end)
                .chain(r.markers.iter().map(|m| m.at))
        })
        .fold(0.0f64, f64::max);
    let mut panels = Vec::new();
    if !rows.is_empty() {
        panels.push(Panel {
            title: "Host wall time from spawn (microseconds; phases end at the named event)".into(),
            unit: Unit::Micros,
            rows: rows.clone(),
            from: 0.0,
            to: end * 1.02,
        });
        // Zoom in where the full scale hides phases: VMM start-up (harness,
        // to PVH entry) and the QEMU boot, each only when the panel before
        // it is more than 3x longer.
        let first = |w: &WallSection, key: &str| {
            w.milestones.iter().find(|m| m.key == key).and_then(median)
        };
        let mut zooms: Vec<(f64, &str)> = Vec::new();
        if let Some(t) = first(&r.harness, &trace_key(0x40)) {
            zooms.push((t * 1.3, "vmm-harness start-up to PVH entry"));
        }
        if let Some(t) = first(&r.qemu_wall, "process exit") {
            zooms.push((t * 1.05, "the QEMU boot"));
        }
        zooms.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut last = end * 1.02;
        for (t, what) in zooms {
            if t <= 0.0 || last <= 3.0 * t {
                continue;
            }
            let step = svg::nice_step(t, 4.0);
            let to = (t / step).ceil() * step;
            panels.push(Panel {
                title: format!("Zoom: the first {} ({what})", super::stats::fmt_us(to)),
                unit: Unit::Micros,
                rows: rows.clone(),
                from: 0.0,
                to,
            });
            last = to;
        }
    }
    let a = &r.icount;
    let points: Vec<(String, String, f64)> = a
        .phases
        .iter()
        .filter_map(|m| median(m).map(|t| (m.key.clone(), m.label.clone(), t)))
        .collect();
    if !points.is_empty() {
        let iend = points.iter().map(|p| p.2).fold(0.0f64, f64::max);
        let row = timeline_row(
            "QEMU -icount",
            format!("instructions, {} runs", a.runs_ok),
            points,
            &[],
        );
        panels.push(Panel {
            title: "Guest instructions from PVH entry (QEMU TCG -icount shift=0; bootstat phases)"
                .into(),
            unit: Unit::Instructions,
            rows: vec![row],
            from: 0.0,
            to: iend * 1.02,
        });
    }
    let mut sub = vec![
        host_line(r),
        format!("{}; {}", utc(r.started_unix), r.qemu_version),
    ];
    if let Some(x) = r
        .icount
        .codes
        .iter()
        .find(|m| m.key == "0x41")
        .and_then(median)
    {
        let what = if r.icount.initrd.is_some() {
            "PVH entry -> first user instruction of init (0x41)"
        } else {
            "PVH entry -> kernel's 0x41 mark (no initrd)"
        };
        let mut line = format!("{what}: {} guest instructions", thousands(x));
        if let Some(y) = code_median(&r.icount, "0x43") {
            line.push_str(&format!(
                "; -> init ready (0x43): {} ({})",
                thousands(y),
                fmt_insns(y)
            ));
        }
        sub.push(line);
    }
    let mut footer = vec![
        "QEMU cannot timestamp port-0x80 writes: its row uses host timestamps of serial lines (first byte, `Vireo` banner, `cpu 0 online`, `init:`, `VIREO-EXIT`).".to_string(),
        "vmm-harness times on kvm-pvm include emulated guest ring 0 (~1 M instructions/s, ~8 us per exit); see docs/benchmarks.md before comparing.".to_string(),
    ];
    if let Some(p) = &r.harness.initrd_probe {
        footer.push(format!(
            "vmm-harness row: kernel only (no initrd). {}.",
            p.verdict
        ));
        footer.push(format!(
            "Its boot with the initrd reached {}; it ended: {}.",
            if p.reached.is_empty() {
                "nothing".to_string()
            } else {
                p.reached.join(", ")
            },
            p.failure.as_deref().unwrap_or(&p.outcome)
        ));
    }
    svg::render("Vireo boot timeline", &sub, &panels, &footer)
}

/// Prints the table and writes `boot.json` and `boot-timeline.svg`.
pub fn write_all(opts: &Options, r: &Results) -> std::io::Result<()> {
    let json_path = opts.out_dir.join("boot.json");
    let svg_path = opts.out_dir.join("boot-timeline.svg");
    let mut j = serde_json::to_string_pretty(&to_json(r)).map_err(std::io::Error::other)?;
    j.push('\n');
    std::fs::write(&json_path, j)?;
    std::fs::write(&svg_path, to_svg(r))?;
    print!("{}", table(r));
    println!();
    println!(
        "wrote {} and {}",
        super::rel(&json_path),
        super::rel(&svg_path)
    );
    println!("vireo-bench took {:.1} s", r.elapsed_secs);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formatting() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1000.0), "1,000");
        assert_eq!(thousands(1_234_567.4), "1,234,567");
        assert_eq!(thousands(-12_345.0), "-12,345");
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_709_210_096), "2024-02-29 12:34 UTC");
    }

    fn results(user_space: bool) -> Results {
        use super::super::host::{Host, KvmKind};
        use super::super::measure::InitrdProbe;
        let m = |k: &str, v: &[f64]| Milestone {
            key: k.into(),
            label: k.into(),
            values: v.to_vec(),
            required: true,
        };
        let initrd = user_space.then(|| "build/initrd.cpio".to_string());
        Results {
            started_unix: 0,
            elapsed_secs: 1.0,
            host: Host {
                cpu_model: "cpu".into(),
                cpus: 2,
                kernel: "6.18".into(),
                kvm: KvmKind::Pvm,
                kvm_evidence: "test".into(),
            },
            qemu_version: "QEMU 7.2".into(),
            icount: IcountSection {
                runs: 1,
                runs_ok: 1,
                initrd: initrd.clone(),
                codes: vec![m("0x41", &[193_463.0]), m("0x43", &[198_288.0])],
                ..Default::default()
            },
            harness: WallSection {
                vmm: "vmm-harness".into(),
                boots_requested: 1,
                boots_run: 1,
                boots_ok: 1,
                milestones: vec![m("first KVM_RUN", &[2289.2])],
                extra: vec![m("host main to first KVM_RUN", &[1048.5])],
                initrd_probe: Some(InitrdProbe {
                    reached: vec!["0x40 kernel entry".into()],
                    outcome: "vmm-harness exit 125 (vCPU failure)".into(),
                    failure: Some("KVM_EXIT_INTERNAL_ERROR on XGETBV".into()),
                    verdict: super::super::measure::initrd_verdict(true),
                    ..Default::default()
                }),
                ..Default::default()
            },
            qemu_wall: WallSection::default(),
            chv: WallSection {
                skipped: Some("skipped: cloud-hypervisor not found".into()),
                ..Default::default()
            },
            memory_idle: Some(super::super::mm::parse_line(
                "255.6 MiB RAM, 254.2 MiB free, 1499 KiB in use (kernel 344 KiB)",
            )),
            memory_idle_source: "test".into(),
            memory_setup: None,
            memory_setup_source: "none".into(),
            kernel_path: "build/kernel.elf".into(),
            kernel_size: Some(277_040),
            initrd_path: "build/initrd.cpio".into(),
            initrd_size: user_space.then_some(385_232),
        }
    }

    #[test]
    fn targets_compare_with_targets_md() {
        let t = targets(&results(true));
        let get = |k: &str| t.iter().find(|t| t.key == k).unwrap().clone();
        let insns = get("instructions_to_first_user_instruction");
        assert_eq!((insns.value, insns.met), (Some(193_463.0), Some(true)));
        assert!(insns.now.starts_with("193,463 (12.9% of target)"));
        let mem = get("idle_memory_in_use");
        assert_eq!(mem.value, Some(1499.0 * 1024.0));
        assert_eq!(mem.met, Some(true));
        let size = get("kernel_plus_initrd_bytes");
        assert_eq!(size.value, Some(662_272.0));
        assert_eq!(size.met, Some(true));
        let run = get("vmm_start_to_first_kvm_run_us");
        assert_eq!((run.value, run.met), (Some(1048.5), Some(true)));
        // Kernel only: the 0x41 count is not the target's figure.
        let t = targets(&results(false));
        let insns = t
            .iter()
            .find(|t| t.key == "instructions_to_first_user_instruction")
            .unwrap();
        assert_eq!(insns.met, None);
        assert!(insns.now.contains("kernel's mark"));
        assert_eq!(t[2].met, None);
    }

    #[test]
    fn kernel_only_harness_is_said_so() {
        let r = results(true);
        let text = table(&r);
        assert!(text.contains("vmm-harness host timeline on /dev/kvm, kernel only (no initrd)"));
        assert!(text.contains(
            "NOTE: user space not measurable on kvm-pvm: syscall does not reach the guest kernel"
        ));
        assert!(text.contains("reached: 0x40 kernel entry; not reached: none"));
        assert!(text.contains("1 vCPU, kernel + build/initrd.cpio"));
        assert!(text.contains("f. Against the targets"));
        let j = to_json(&r);
        assert_eq!(j["schema"], 2);
        assert_eq!(j["harness"]["initrd"], Value::Null);
        assert_eq!(
            j["harness"]["initrd_probe"]["failure"],
            "KVM_EXIT_INTERNAL_ERROR on XGETBV"
        );
        assert_eq!(j["icount"]["initrd"], "build/initrd.cpio");
        assert_eq!(j["memory"]["idle"]["used_bytes"], 1499 * 1024);
        assert_eq!(j["sizes"]["kernel_plus_initrd"], 662_272);
        assert_eq!(j["targets"].as_array().unwrap().len(), 4);
        let svg = to_svg(&r);
        assert!(svg.contains("0x43"));
        assert!(svg.contains("vmm-harness row: kernel only (no initrd)."));
    }

    #[test]
    fn milestones_sort_by_median_and_unreached_stay_put() {
        let m = |k: &str, v: &[f64]| Milestone {
            key: k.into(),
            label: k.into(),
            values: v.to_vec(),
            required: true,
        };
        let ms = vec![
            m("a", &[10.0]),
            m("late", &[50.0]),
            m("b", &[20.0]),
            m("never", &[]),
            m("c", &[30.0]),
        ];
        let keys: Vec<&str> = time_order(&ms).iter().map(|m| m.key.as_str()).collect();
        assert_eq!(keys, ["a", "b", "never", "c", "late"]);
    }

    #[test]
    fn rows_are_consecutive_phases() {
        let pts = vec![
            ("b".to_string(), "B".to_string(), 30.0),
            ("a".to_string(), "A".to_string(), 10.0),
            ("m".to_string(), "M".to_string(), 20.0),
        ];
        let mut pts2 = pts.clone();
        pts2.push(("c".to_string(), "C".to_string(), 30.0));
        let row = timeline_row("r", String::new(), pts2, &["m"]);
        assert_eq!(row.segments[1].label, "B + C");
        let row = timeline_row("r", String::new(), pts, &["m"]);
        assert_eq!(row.segments.len(), 2);
        assert_eq!(
            row.segments[0],
            Segment {
                start: 0.0,
                end: 10.0,
                label: "A".into()
            }
        );
        assert_eq!(
            row.segments[1],
            Segment {
                start: 10.0,
                end: 30.0,
                label: "B".into()
            }
        );
        assert_eq!(
            row.markers,
            vec![Marker {
                at: 20.0,
                label: "M".into()
            }]
        );
    }
}
