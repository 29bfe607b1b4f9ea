//! `boot-timeline.svg`: each VMM's median boot as a row of consecutive
//! phases, zoomed panels, and the `-icount` phases.

use super::super::harness_json::trace_key;
use super::super::measure::{Results, WallSection};
use super::super::stats::fmt_insns;
use super::super::svg::{self, Marker, Panel, Row, Segment, Unit};
use super::{code_median, host_line, median, thousands, utc};

/// A row of consecutive phases from (key, segment label, time) points; `markers`
/// are drawn as ticks rather than phase ends. Phases start at 0.
fn timeline_row(name: &str, note: String, points: Vec<(String, String, f64)>, markers: &[&str]) -> Row {
    let mut row = Row { name: name.into(), note, segments: Vec::new(), markers: Vec::new() };
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
            row.segments.push(Segment { start: prev, end: t, label });
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

fn wall_row(w: &WallSection, name: &str, phase: fn(&str) -> String, markers: &[&str]) -> Option<Row> {
    if w.skipped.is_some() || w.boots_ok == 0 {
        return None;
    }
    let points = w
        .milestones
        .iter()
        .filter(|m| m.key != "spawn")
        .filter_map(|m| {
            // Phases are named for what ends at the event; markers for the event.
            let label = if markers.contains(&m.key.as_str()) { m.label.clone() } else { phase(&m.key) };
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
    let mut harness_row = wall_row(&r.harness, &harness_name, harness_phase, &["first serial byte", "boot timer"]);
    if r.harness.initrd.is_none() {
        // Kernel only: 0x41 is the kernel's mark, not a user instruction.
        for seg in harness_row.iter_mut().flat_map(|row| row.segments.iter_mut()) {
            seg.label = seg.label.replace("to user (0x41)", "to 0x41 mark");
        }
    }
    rows.extend(harness_row);
    rows.extend(wall_row(&r.qemu_wall, "QEMU microvm wall (TCG)", serial_phase, &[]));
    rows.extend(wall_row(
        &r.chv,
        "Cloud Hypervisor",
        serial_phase,
        &["first serial byte", "banner line", "cpu 0 online line"],
    ));
    let end = rows
        .iter()
        .flat_map(|r| r.segments.iter().map(|s| s.end).chain(r.markers.iter().map(|m| m.at)))
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
        let first = |w: &WallSection, key: &str| w.milestones.iter().find(|m| m.key == key).and_then(median);
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
                title: format!("Zoom: the first {} ({what})", super::super::stats::fmt_us(to)),
                unit: Unit::Micros,
                rows: rows.clone(),
                from: 0.0,
                to,
            });
            last = to;
        }
    }
    let a = &r.icount;
    let points: Vec<(String, String, f64)> =
        a.phases.iter().filter_map(|m| median(m).map(|t| (m.key.clone(), m.label.clone(), t))).collect();
    if !points.is_empty() {
        let iend = points.iter().map(|p| p.2).fold(0.0f64, f64::max);
        let row = timeline_row("QEMU -icount", format!("instructions, {} runs", a.runs_ok), points, &[]);
        panels.push(Panel {
            title: "Guest instructions from PVH entry (QEMU TCG -icount shift=0; bootstat phases)".into(),
            unit: Unit::Instructions,
            rows: vec![row],
            from: 0.0,
            to: iend * 1.02,
        });
    }
    let mut sub = vec![host_line(r), format!("{}; {}", utc(r.started_unix), r.qemu_version)];
    if let Some(x) = r.icount.codes.iter().find(|m| m.key == "0x41").and_then(median) {
        let what = if r.icount.initrd.is_some() {
            "PVH entry -> first user instruction of init (0x41)"
        } else {
            "PVH entry -> kernel's 0x41 mark (no initrd)"
        };
        let mut line = format!("{what}: {} guest instructions", thousands(x));
        if let Some(y) = code_median(&r.icount, "0x43") {
            line.push_str(&format!("; -> init ready (0x43): {} ({})", thousands(y), fmt_insns(y)));
        }
        sub.push(line);
    }
    let mut footer = vec![
        "QEMU cannot timestamp port-0x80 writes: its row uses host timestamps of serial lines (first byte, `Vireo` banner, `cpu 0 online`, `init:`, `VIREO-EXIT`).".to_string(),
        "vmm-harness times on kvm-pvm include emulated guest ring 0 (~1 M instructions/s, ~8 us per exit); see docs/benchmarks.md before comparing.".to_string(),
    ];
    if let Some(p) = &r.harness.initrd_probe {
        footer.push(format!("vmm-harness row: kernel only (no initrd). {}.", p.verdict));
        footer.push(format!(
            "Its boot with the initrd reached {}; it ended: {}.",
            if p.reached.is_empty() { "nothing".to_string() } else { p.reached.join(", ") },
            p.failure.as_deref().unwrap_or(&p.outcome)
        ));
    }
    svg::render("Vireo boot timeline", &sub, &panels, &footer)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(row.segments[0], Segment { start: 0.0, end: 10.0, label: "A".into() });
        assert_eq!(row.segments[1], Segment { start: 10.0, end: 30.0, label: "B".into() });
        assert_eq!(row.markers, vec![Marker { at: 20.0, label: "M".into() }]);
    }
}
