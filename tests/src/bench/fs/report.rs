//! The table on stdout and build/bench/fs.json.

use serde_json::{json, Value};

use super::super::stats::{fmt_insns, fmt_us, Summary};
use super::parse::Result1;
use super::{GuestRuns, Results};

/// The figures, in table order: key (fs-bench's name), label, unit of `instr`.
pub const FIGURES: &[(&str, &str, &str)] = &[
    ("seq_write_64MiB", "seq. write 64 MiB + sync_all", "MiB"),
    ("seq_read_64MiB", "seq. read 64 MiB", "MiB"),
    ("rand_read_4KiB", "random 4 KiB read (2,000)", "read"),
    ("create_1000", "create 1,000 small files", "file"),
    ("stat_1000", "stat 1,000 small files", "file"),
    ("delete_1000", "delete 1,000 small files", "file"),
    ("read1_64MiB", "read 64 MiB, 1st of 2", "MiB"),
    ("read2_64MiB", "read 64 MiB, 2nd of 2", "MiB"),
];

/// Linux's O_DIRECT variant of the random reads.
pub const DIRECT: &str = "rand_read_4KiB_direct";

/// One guest's values for one figure over its runs.
#[derive(Debug, Default, PartialEq)]
pub struct Cell {
    pub instr: Vec<f64>,
    pub tsc: Vec<f64>,
    pub idle_ns: Vec<f64>,
    pub wall_us: Vec<f64>,
    /// Why there is no value, when there is none.
    pub why: Option<String>,
}

impl Cell {
    pub fn median(&self) -> Option<f64> {
        Summary::of(&self.instr).map(|s| s.median)
    }
}

/// Collects figure `key` over `g`'s runs.
pub fn cell(g: &GuestRuns, key: &str) -> Cell {
    let mut c = Cell::default();
    if let Some(u) = &g.unavailable {
        c.why = Some(format!("not available: {u}"));
        return c;
    }
    let mut first_err = None;
    for (i, run) in g.runs.iter().enumerate() {
        match run.results.get(key) {
            Some(r @ Result1::Ok { .. }) => {
                let push = |v: &mut Vec<f64>, x: Option<f64>| v.extend(x);
                push(&mut c.instr, r.num("instr"));
                push(&mut c.tsc, r.num("tsc"));
                push(&mut c.idle_ns, r.num("idle_ns"));
                push(&mut c.wall_us, r.wall_us());
            }
            Some(Result1::Err(e)) => {
                first_err.get_or_insert_with(|| e.clone());
            }
            None => {
                let how = g.outcomes.get(i).map(String::as_str).unwrap_or("");
                first_err.get_or_insert_with(|| format!("no result ({how})"));
            }
        }
    }
    if c.instr.is_empty() {
        c.why = Some(format!("not available: {}", first_err.unwrap_or_else(|| "no runs".into())));
    }
    c
}

/// `field` of the `mem` line over the runs.
fn mem_values(g: &GuestRuns, field: &str) -> Vec<f64> {
    g.runs.iter().filter_map(|r| r.results.get("mem").and_then(|m| m.num(field))).collect()
}

fn med(v: &[f64]) -> Option<f64> {
    Summary::of(v).map(|s| s.median)
}

fn wall(c: &Cell) -> String {
    match Summary::of(&c.wall_us) {
        Some(s) => format!("{} / {} / {}", fmt_us(s.min), fmt_us(s.median), fmt_us(s.max)),
        None => "-".into(),
    }
}

fn instr(c: &Cell) -> String {
    c.median().map(fmt_insns).unwrap_or_else(|| "n/a".into())
}

fn kib(v: Option<f64>) -> String {
    v.map(|k| format!("{:+.1} MiB", k / 1024.0)).unwrap_or_else(|| "n/a".into())
}

/// The stdout table and its notes.
pub fn table(r: &Results) -> String {
    let runs = r.vireo.runs.len().max(r.linux.runs.len());
    let mut s = format!(
        "\nFile system: guest instructions per operation (median of {runs} run(s)), QEMU microvm TCG \
         -icount shift=0,sleep=off, 1 vCPU, 256 MiB, virtio-blk cache=writeback, one 256 MiB ext4 image\n\
         {} ({})\n\n",
        r.qemu, r.date
    );
    s += &format!(
        "{:<38} {:>12} {:>22} {:>9}  {:<30} {}\n",
        "figure (instr per)",
        "Vireo",
        "Linux (buf / O_DIRECT)",
        "V/L",
        "Vireo wall min/med/max",
        "Linux wall min/med/max"
    );
    let mut missing = Vec::new();
    for &(key, label, unit) in FIGURES {
        let (v, l) = (cell(&r.vireo, key), cell(&r.linux, key));
        let direct = (key == "rand_read_4KiB").then(|| cell(&r.linux, DIRECT));
        let linux_ref = direct.as_ref().and_then(Cell::median).or(l.median());
        let ratio = match (v.median(), linux_ref) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
            _ => "-".into(),
        };
        let lcol = match &direct {
            Some(d) => format!("{} / {}", instr(&l), instr(d)),
            None => instr(&l),
        };
        s += &format!(
            "{:<38} {:>12} {:>22} {:>9}  {:<30} {}\n",
            format!("{label} ({unit})"),
            instr(&v),
            lcol,
            ratio,
            wall(&v),
            wall(&l)
        );
        missing.extend(v.why.map(|w| ("Vireo", key, w)));
        missing.extend(l.why.map(|w| ("Linux", key, w)));
    }
    let lcache = med(&mem_values(&r.linux, "cached_after_kib"))
        .zip(med(&mem_values(&r.linux, "cached_before_kib")))
        .map(|(a, b)| format!(" (page cache {})", kib(Some(a - b))))
        .unwrap_or_default();
    s += &format!(
        "{:<38} {:>12} {:>22}\n",
        "memory after 2x 64 MiB read",
        kib(med(&mem_values(&r.vireo, "growth_kib"))),
        format!("{}{lcache}", kib(med(&mem_values(&r.linux, "growth_kib"))))
    );
    s += "\nV/L: Vireo over Linux; random reads against Linux's O_DIRECT. Both leave out the time the \
          guest was idle\n(Linux: /proc/timer_list; Vireo: SysInfo idle_ns). Memory: free memory \
          before minus after.\n";
    for g in ["Vireo", "Linux"] {
        let whys: Vec<&(&str, &str, String)> = missing.iter().filter(|m| m.0 == g).collect();
        if whys.is_empty() {
            continue;
        }
        if whys.iter().all(|m| m.2 == whys[0].2) {
            s += &format!("{g}: every figure {}\n", whys[0].2);
        } else {
            for (_, key, why) in whys {
                s += &format!("{g}: {key} {why}\n");
            }
        }
    }
    for g in [&r.vireo, &r.linux] {
        for (i, (o, f)) in g.outcomes.iter().zip(g.fsck.iter().map(Some).chain(std::iter::repeat(None))).enumerate() {
            let fsck = match f {
                Some(Ok(())) => "e2fsck -fn clean".to_string(),
                Some(Err(e)) => e.clone(),
                None => "not checked".into(),
            };
            s += &format!("{} run {}: {o}; {fsck}\n", g.name, i + 1);
        }
    }
    s
}

fn cell_json(c: &Cell) -> Value {
    let sum = |v: &[f64]| Summary::of(v).map(|s| json!({"min": s.min, "median": s.median, "max": s.max}));
    json!({
        "instr_per_op": c.instr, "instr_median": c.median(), "tsc": c.tsc, "idle_ns": c.idle_ns,
        "wall_us": sum(&c.wall_us), "not_available": c.why,
    })
}

fn guest_json(g: &GuestRuns) -> Value {
    let fsck: Vec<Value> =
        g.fsck.iter().map(|f| json!(f.as_ref().err().cloned().unwrap_or_else(|| "clean".into()))).collect();
    let mem: Vec<Value> = g
        .runs
        .iter()
        .filter_map(|r| match r.results.get("mem") {
            Some(Result1::Ok { kv, .. }) => Some(json!(kv)),
            _ => None,
        })
        .collect();
    json!({
        "command": g.command, "unavailable": g.unavailable, "runs": g.runs.len(), "outcomes": g.outcomes,
        "e2fsck": fsck, "run_wall_s": g.wall_s, "memory": mem,
    })
}

/// build/bench/fs.json.
pub fn json(r: &Results, runs_asked: usize) -> Value {
    let mut figs: Vec<Value> = FIGURES
        .iter()
        .map(|&(key, label, unit)| {
            json!({"key": key, "label": label, "per": unit,
                   "vireo": cell_json(&cell(&r.vireo, key)), "linux": cell_json(&cell(&r.linux, key))})
        })
        .collect();
    figs.push(json!({"key": DIRECT, "label": "random 4 KiB read, O_DIRECT (Linux only)", "per": "read",
                     "linux": cell_json(&cell(&r.linux, DIRECT))}));
    json!({
        "date": r.date, "qemu": r.qemu, "runs_asked": runs_asked,
        "image": {"size_mib": super::image::SIZE_MIB, "fs": "ext4 (make disk's mkfs.ext4 options)"},
        "linux_kernel": r.linux_version, "linux_modules": r.linux_modules, "linux_cmdline": super::linux::CMDLINE,
        "vireo": guest_json(&r.vireo), "linux": guest_json(&r.linux), "figures": figs,
    })
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::*;
    use crate::bench::capture::Line;

    fn run(lines: &[&str]) -> super::super::parse::RunLines {
        let l: Vec<Line> =
            lines.iter().enumerate().map(|(i, t)| Line { t_us: i as f64 * 10.0, text: t.to_string() }).collect();
        parse(&l)
    }

    #[test]
    fn cells_and_reasons() {
        let mut g = GuestRuns { name: "Linux", ..Default::default() };
        for instr in [100, 120] {
            g.runs.push(run(&[
                "fs-bench: begin rand_read_4KiB",
                &format!("fs-bench: rand_read_4KiB ops=2000 bytes=1 tsc=5 idle_ns=1 instr={instr}"),
                "fs-bench: seq_write_64MiB error=disk full",
            ]));
            g.outcomes.push("QEMU exited".into());
        }
        let c = cell(&g, "rand_read_4KiB");
        assert_eq!(c.instr, vec![100.0, 120.0]);
        assert_eq!(c.median(), Some(110.0));
        assert_eq!(c.wall_us, vec![10.0, 10.0]);
        assert_eq!(cell(&g, "seq_write_64MiB").why.as_deref(), Some("not available: disk full"));
        assert_eq!(cell(&g, "stat_1000").why.as_deref(), Some("not available: no result (QEMU exited)"));
        g.unavailable = Some("no network".into());
        assert_eq!(cell(&g, "rand_read_4KiB").why.as_deref(), Some("not available: no network"));
    }

    #[test]
    fn table_with_vireo_missing() {
        let mut vireo = GuestRuns { name: "Vireo", ..Default::default() };
        vireo.runs.push(run(&["init: hello"]));
        vireo.outcomes.push("no fs-bench output".into());
        vireo.fsck.push(Ok(()));
        let linux = GuestRuns { name: "Linux", unavailable: Some("skipped".into()), ..Default::default() };
        let r = Results { vireo, linux, ..Default::default() };
        let t = table(&r);
        assert!(t.contains("Vireo: every figure not available: no result (no fs-bench output)"), "{t}");
        assert!(t.contains("Linux: every figure not available: skipped"), "{t}");
        assert!(t.contains("Vireo run 1: no fs-bench output; e2fsck -fn clean"), "{t}");
        let j = json(&r, 1);
        assert_eq!(j["figures"].as_array().map(Vec::len), Some(FIGURES.len() + 1));
    }
}
