//! `boot.json`: everything measured, with every value, plus the targets.

use serde_json::{json, Value};

use super::super::measure::{Milestone, Results, WallSection};
use super::super::mm::MmStats;
use super::super::stats::Summary;
use super::{targets, utc};

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
        "guest_cmdline": super::super::CMDLINE,
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
            "std_main": a.std_main.as_ref().map(milestone_json),
            "std_main_command": a.std_main_note,
            "user_rate_given": a.user_rate_given.as_ref().map(milestone_json),
            "user_rate_given_command": a.user_rate_given_note,
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
            "initrd": r.initrd_size.map_or(json!("absent"), |n| json!(n)),
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
