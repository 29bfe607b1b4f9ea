//! The table on stdout and build/bench/http.json.

use serde_json::{json, Value};

use super::super::stats::{fmt_insns, Summary};
use super::run::{GuestRuns, Results};
use super::CONNECTIONS;

/// Issue 12's targets: Vireo's requests/s over Linux's, and instructions per request.
pub const TARGET_RATIO: f64 = 3.0;
pub const TARGET_INSTR: f64 = 50_000.0;
/// targets.md: guest instructions to "httpd accepting".
pub const TARGET_READY_INSTR: f64 = 4_000_000.0;

/// Per-run values of one figure of one guest (runs without it left out).
fn values(g: &GuestRuns, f: impl Fn(&super::run::Run) -> Option<f64>) -> Vec<f64> {
    g.runs.iter().filter_map(f).collect()
}

pub fn rps(g: &GuestRuns, conns: u32) -> Vec<f64> {
    values(g, |r| r.loads.iter().find(|(c, _)| *c == conns).and_then(|(_, l)| l.as_ref().ok()).map(|l| l.wrk.rps))
}

pub fn instr(g: &GuestRuns, conns: u32) -> Vec<f64> {
    values(g, |r| r.loads.iter().find(|(c, _)| *c == conns).and_then(|(_, l)| l.as_ref().ok()?.instr_per_req()))
}

fn latency(g: &GuestRuns, conns: u32, p99: bool) -> Vec<f64> {
    values(g, |r| {
        let l = r.loads.iter().find(|(c, _)| *c == conns)?.1.as_ref().ok()?;
        if p99 {
            l.wrk.p99_us
        } else {
            l.wrk.p50_us
        }
    })
}

fn errors(g: &GuestRuns, conns: u32) -> Vec<f64> {
    values(g, |r| r.loads.iter().find(|(c, _)| *c == conns)?.1.as_ref().ok().map(|l| l.wrk.errors() as f64))
}

pub fn to_first_answer(g: &GuestRuns) -> Vec<f64> {
    values(g, |r| r.instr_to_first_answer().map(|n| n as f64))
}

pub fn bulk_mb_s(g: &GuestRuns) -> Vec<f64> {
    values(g, |r| r.bulk.as_ref()?.as_ref().ok().map(|b| b.mb_per_s()))
}

fn bulk_instr(g: &GuestRuns) -> Vec<f64> {
    values(g, |r| r.bulk.as_ref()?.as_ref().ok()?.instr_per_mib())
}

fn free(g: &GuestRuns, after: bool) -> Vec<f64> {
    values(g, |r| {
        let (b, a) = r.free_kib();
        if after { a } else { b }.map(|k| k as f64)
    })
}

fn med(v: &[f64]) -> Option<f64> {
    Summary::of(v).map(|s| s.median)
}

fn mmm(v: &[f64], f: impl Fn(f64) -> String) -> String {
    match Summary::of(v) {
        Some(s) if s.n > 1 => format!("{} / {} / {}", f(s.min), f(s.median), f(s.max)),
        Some(s) => f(s.median),
        None => "n/a".into(),
    }
}

fn num(x: f64) -> String {
    format!("{x:.0}")
}

fn ms(us: f64) -> String {
    format!("{:.2} ms", us / 1e3)
}

fn mib(kib: f64) -> String {
    format!("{:.1} MiB", kib / 1024.0)
}

/// Whether Vireo meets the request-rate target at `conns` (None: no figures).
pub fn ratio(r: &Results, conns: u32) -> Option<f64> {
    match (med(&rps(&r.vireo, conns)), med(&rps(&r.linux, conns))) {
        (Some(v), Some(l)) if l > 0.0 => Some(v / l),
        _ => None,
    }
}

fn verdict(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "met",
        Some(false) => "NOT met",
        None => "n/a",
    }
}

/// The stdout table and its notes.
pub fn table(r: &Results) -> String {
    let runs = r.vireo.runs.len().max(r.linux.runs.len());
    let mut s = format!(
        "\nHTTP: wrk on the host through QEMU user networking (hostfwd), QEMU microvm TCG -icount shift=0,sleep=on, \
         1 vCPU, 256 MiB;\n{runs} run(s) per guest, {} s per wrk run, min / median / max over the runs\n{}, {} ({})\n\n",
        r.duration_s, r.qemu, r.wrk, r.date
    );
    s += &format!("{:<36} {:>28} {:>28} {:>7}  {}\n", "figure", "Vireo", "Linux (busybox httpd)", "V/L", "target");
    let mut row = |label: String, v: String, l: String, ratio: String, target: String| {
        s += &format!("{label:<36} {v:>28} {l:>28} {ratio:>7}  {target}\n");
    };
    for c in CONNECTIONS {
        let rt = ratio(r, c);
        row(
            format!("requests/s, {c} conn"),
            mmm(&rps(&r.vireo, c), num),
            mmm(&rps(&r.linux, c), num),
            rt.map(|x| format!("{x:.2}x")).unwrap_or_else(|| "-".into()),
            format!(">= {TARGET_RATIO}x Linux: {}", verdict(rt.map(|x| x >= TARGET_RATIO))),
        );
    }
    for c in CONNECTIONS {
        let (v, l) = (med(&instr(&r.vireo, c)), med(&instr(&r.linux, c)));
        row(
            format!("instructions per request, {c} conn"),
            v.map(fmt_insns).unwrap_or_else(|| "n/a".into()),
            l.map(fmt_insns).unwrap_or_else(|| "n/a".into()),
            v.zip(l).filter(|(_, l)| *l > 0.0).map(|(v, l)| format!("{:.2}x", v / l)).unwrap_or_else(|| "-".into()),
            format!("<= 50 k: {}", verdict(v.map(|x| x <= TARGET_INSTR))),
        );
    }
    let (v, l) = (med(&to_first_answer(&r.vireo)), med(&to_first_answer(&r.linux)));
    row(
        "instructions to the first answer".into(),
        v.map(fmt_insns).unwrap_or_else(|| "n/a".into()),
        l.map(fmt_insns).unwrap_or_else(|| "n/a".into()),
        v.zip(l).filter(|(_, l)| *l > 0.0).map(|(v, l)| format!("{:.3}x", v / l)).unwrap_or_else(|| "-".into()),
        format!("<= 4 M: {}", verdict(v.map(|x| x <= TARGET_READY_INSTR))),
    );
    for c in CONNECTIONS {
        let lat = |g: &GuestRuns| match (med(&latency(g, c, false)), med(&latency(g, c, true))) {
            (Some(a), Some(b)) => format!("{} / {}", ms(a), ms(b)),
            _ => "n/a".into(),
        };
        row(format!("latency p50 / p99, {c} conn"), lat(&r.vireo), lat(&r.linux), String::new(), String::new());
    }
    let errs = |g: &GuestRuns| {
        let per: Vec<String> = CONNECTIONS
            .iter()
            .map(|&c| {
                let e = errors(g, c);
                if e.is_empty() {
                    "n/a".into()
                } else {
                    format!("{}", e.iter().sum::<f64>())
                }
            })
            .collect();
        per.join(" / ")
    };
    row("wrk errors (all runs), 1 / 32 conn".into(), errs(&r.vireo), errs(&r.linux), String::new(), "none".into());
    let mem = |g: &GuestRuns| match (med(&free(g, false)), med(&free(g, true))) {
        (Some(b), Some(a)) => format!("{} / {}", mib(b), mib(a)),
        _ => "n/a".into(),
    };
    row("free memory, first / last mark".into(), mem(&r.vireo), mem(&r.linux), String::new(), String::new());
    row(
        "bulk 64 MiB, 1 connection, MB/s".into(),
        mmm(&bulk_mb_s(&r.vireo), |x| format!("{x:.1}")),
        mmm(&bulk_mb_s(&r.linux), |x| format!("{x:.1}")),
        match (med(&bulk_mb_s(&r.vireo)), med(&bulk_mb_s(&r.linux))) {
            (Some(v), Some(l)) if l > 0.0 => format!("{:.2}x", v / l),
            _ => "-".into(),
        },
        String::new(),
    );
    row(
        "bulk, instructions per MiB".into(),
        med(&bulk_instr(&r.vireo)).map(fmt_insns).unwrap_or_else(|| "n/a".into()),
        med(&bulk_instr(&r.linux)).map(fmt_insns).unwrap_or_else(|| "n/a".into()),
        String::new(),
        String::new(),
    );
    s += "\nInstructions per request: (guest time - guest idle time) between the marks around each wrk run, over \
          its requests\n(Linux: /proc/timer_list, idle=poll; Vireo: rdtsc and SysInfo idle_ns). Memory: free guest \
          memory at the run's first\nmark (before wrk) and last (after the bulk download); Linux's MemFree falls by \
          the page cache the download fills.\nTo the first answer: guest time minus idle time at a mark taken as \
          soon as the server first answered (targets.md's\n\"httpd accepting\", plus that first request and the \
          refused tries before it; Vireo from QEMU's start, Linux from its kernel's).\n";
    for g in [&r.vireo, &r.linux] {
        if let Some(u) = &g.unavailable {
            s += &format!("{}: not available: {u}\n", g.name);
        }
        for (i, run) in g.runs.iter().enumerate() {
            let mut notes = vec![format!("served after {:.1} s", run.ready_s)];
            for (c, l) in &run.loads {
                match l {
                    Err(e) => notes.push(format!("{c} conn: {e}")),
                    Ok(l) if l.wrk.errors() > 0 => notes.push(format!(
                        "{c} conn: wrk errors: {}, non-2xx {}",
                        l.wrk.socket_detail.as_deref().unwrap_or("-"),
                        l.wrk.non_2xx
                    )),
                    Ok(_) => {}
                }
            }
            if let Some(Err(e)) = &run.bulk {
                notes.push(format!("bulk: {e}"));
            }
            notes.push(run.outcome.clone());
            s += &format!("{} run {}: {}\n", g.name, i + 1, notes.join("; "));
        }
        for f in &g.failed {
            s += &format!("{}: a later run did not serve: {f}\n", g.name);
        }
    }
    s
}

fn sum(v: &[f64]) -> Value {
    Summary::of(v).map_or(Value::Null, |s| json!({"min": s.min, "median": s.median, "max": s.max}))
}

fn guest_json(g: &GuestRuns) -> Value {
    let per_conn: Vec<Value> = CONNECTIONS
        .iter()
        .map(|&c| {
            json!({"connections": c, "requests_per_s": rps(g, c), "requests_per_s_summary": sum(&rps(g, c)),
                   "instr_per_request": instr(g, c), "instr_per_request_median": med(&instr(g, c)),
                   "latency_p50_us": latency(g, c, false), "latency_p99_us": latency(g, c, true),
                   "errors": errors(g, c)})
        })
        .collect();
    let runs: Vec<Value> = g
        .runs
        .iter()
        .map(|r| {
            let loads: Vec<Value> = r
                .loads
                .iter()
                .map(|(c, l)| match l {
                    Ok(l) => json!({"connections": c, "requests": l.wrk.requests, "seconds": l.wrk.seconds,
                        "requests_per_s": l.wrk.rps, "latency_avg_us": l.wrk.lat_avg_us, "p50_us": l.wrk.p50_us,
                        "p90_us": l.wrk.p90_us, "p99_us": l.wrk.p99_us, "socket_errors": l.wrk.socket_errors,
                        "socket_errors_detail": l.wrk.socket_detail,
                        "non_2xx": l.wrk.non_2xx, "instr_per_request": l.instr_per_req(),
                        "mark_before": mark_json(&l.before), "mark_after": mark_json(&l.after),
                        "profile_snapshots": l.snapshots.as_ref().map(|(a, b)| [a.display().to_string(), b.display().to_string()])}),
                    Err(e) => json!({"connections": c, "error": e}),
                })
                .collect();
            let bulk = match &r.bulk {
                Some(Ok(b)) => json!({"seconds": b.seconds, "mb_per_s": b.mb_per_s(),
                                      "instr_per_mib": b.instr_per_mib()}),
                Some(Err(e)) => json!({"error": e}),
                None => Value::Null,
            };
            let (fb, fa) = r.free_kib();
            json!({"ready_s": r.ready_s, "ready_mark": r.ready_mark.as_ref().map(mark_json),
                   "instr_to_first_answer": r.instr_to_first_answer(), "loads": loads, "bulk": bulk, "free_kib_first": fb,
                   "free_kib_last": fa, "outcome": r.outcome})
        })
        .collect();
    json!({"command": g.command, "unavailable": g.unavailable, "failed_runs": g.failed, "figures": per_conn,
           "bulk_mb_per_s": bulk_mb_s(g), "bulk_instr_per_mib": bulk_instr(g), "runs": runs})
}

fn mark_json(m: &super::parse::Mark) -> Value {
    json!({"uptime_ns": m.uptime_ns, "idle_ns": m.idle_ns, "free_kib": m.free_kib})
}

/// build/bench/http.json.
pub fn json(r: &Results) -> Value {
    let targets: Vec<Value> = CONNECTIONS
        .iter()
        .map(|&c| {
            json!({"connections": c, "ratio": ratio(r, c), "ratio_target": TARGET_RATIO,
                   "vireo_instr_per_request": med(&instr(&r.vireo, c)), "instr_target": TARGET_INSTR})
        })
        .collect();
    json!({
        "date": r.date, "qemu": r.qemu, "wrk": r.wrk, "runs_asked": r.runs_asked, "duration_s": r.duration_s,
        "files": {"small": super::site::SMALL, "small_bytes": super::site::SMALL_LEN,
                  "bulk": super::site::BULK, "bulk_bytes": super::site::BULK_LEN},
        "linux_kernel": r.linux_version, "linux_modules": r.linux_modules, "linux_cmdline": super::linux::CMDLINE,
        "vireo_cmdline": super::run::VIREO_CMDLINE,
        "vireo": guest_json(&r.vireo), "linux": guest_json(&r.linux), "targets": targets,
    })
}

#[cfg(test)]
mod tests {
    use super::super::parse::{Mark, Wrk};
    use super::super::run::{Bulk, Load, Run};
    use super::*;

    fn mark(up: u64, idle: u64, free: u64) -> Mark {
        Mark { uptime_ns: up, idle_ns: idle, free_kib: Some(free) }
    }

    fn run(rps1: f64, rps32: f64) -> Run {
        let load = |rps: f64| Load {
            wrk: Wrk {
                requests: 1000,
                seconds: 1.0,
                rps,
                p50_us: Some(500.0),
                p99_us: Some(900.0),
                ..Default::default()
            },
            before: mark(0, 0, 2048),
            after: mark(600_000_000, 30_000_000, 2048),
            snapshots: None,
        };
        Run {
            loads: vec![(1, Ok(load(rps1))), (32, Ok(load(rps32)))],
            bulk: Some(Ok(Bulk { seconds: 2.0, before: mark(0, 0, 2048), after: mark(64, 0, 1024) })),
            ready_s: 12.0,
            ready_mark: Some(mark(1_700_000_000, 40_000_000, 2048)),
            outcome: "QEMU exited (exit status: 0)".into(),
        }
    }

    #[test]
    fn figures_and_targets() {
        let mut linux = GuestRuns { name: "Linux", ..Default::default() };
        linux.runs = vec![run(100.0, 200.0), run(120.0, 220.0), run(110.0, 240.0)];
        let vireo = GuestRuns {
            name: "Vireo",
            unavailable: Some("cannot run /bin/httpd: not found".into()),
            ..Default::default()
        };
        let r = Results { vireo, linux, duration_s: 5, runs_asked: 3, ..Default::default() };
        assert_eq!(rps(&r.linux, 1), vec![100.0, 120.0, 110.0]);
        assert_eq!(instr(&r.linux, 32), vec![570_000.0; 3]);
        assert_eq!(ratio(&r, 1), None);
        let t = table(&r);
        assert!(t.contains("100 / 110 / 120"), "{t}");
        assert!(t.contains("570.0 k"), "{t}");
        assert!(t.contains("Vireo: not available: cannot run /bin/httpd: not found"), "{t}");
        assert!(t.contains("2.0 MiB / 1.0 MiB"), "{t}");
        assert!(t.contains("33.6"), "{t}"); // 64 MiB in 2 s
        assert!(t.contains("Linux run 3: served after 12.0 s; QEMU exited"), "{t}");
        assert!(t.contains("1.66 G"), "instructions to the first answer: {t}");
        assert_eq!(to_first_answer(&r.linux), vec![1_660_000_000.0; 3]);
        let j = json(&r);
        assert_eq!(j["linux"]["runs"].as_array().map(Vec::len), Some(3));
        assert_eq!(j["vireo"]["unavailable"], "cannot run /bin/httpd: not found");
        let mut r2 = r;
        r2.vireo = GuestRuns { name: "Vireo", ..Default::default() };
        r2.vireo.runs = vec![run(400.0, 600.0)];
        assert_eq!(ratio(&r2, 1).map(|x| (x * 100.0).round()), Some(364.0));
        assert!(table(&r2).contains(">= 3x Linux: met"));
        assert!(table(&r2).contains("<= 50 k: NOT met"));
    }
}
