//! Parses what fs-bench prints (both guests print the same lines; see
//! guest-userspace/std-programs/fs-bench/src/main.rs) from one run's console.

use std::collections::BTreeMap;

use super::super::capture::Line;

/// One `fs-bench: NAME ...` result.
#[derive(Clone, Debug, PartialEq)]
pub enum Result1 {
    /// `key=value` pairs (ops, bytes, tsc, instr, idle_ns, ...) and the
    /// wall time from the `begin NAME` line to this one, when both were seen.
    Ok { kv: BTreeMap<String, String>, wall_us: Option<f64> },
    /// `error=WHY`.
    Err(String),
}

impl Result1 {
    /// A numeric field of a successful result.
    pub fn num(&self, key: &str) -> Option<f64> {
        match self {
            Result1::Ok { kv, .. } => kv.get(key).and_then(|v| v.parse().ok()),
            Result1::Err(_) => None,
        }
    }

    pub fn wall_us(&self) -> Option<f64> {
        match self {
            Result1::Ok { wall_us, .. } => *wall_us,
            Result1::Err(_) => None,
        }
    }
}

/// Everything one run printed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunLines {
    /// By figure name (`mem` included).
    pub results: BTreeMap<String, Result1>,
    /// `fs-bench: start` seen.
    pub started: bool,
    /// `fs-bench: done errors=N` seen.
    pub done: Option<u32>,
}

const PREFIX: &str = "fs-bench: ";

/// Parses the stamped console lines of one run.
pub fn parse(lines: &[Line]) -> RunLines {
    let mut r = RunLines::default();
    let mut begins: BTreeMap<String, f64> = BTreeMap::new();
    for l in lines {
        // Only lines that start with it: other programs' messages may name fs-bench.
        let Some(rest) = l.text.trim_start().strip_prefix(PREFIX) else { continue };
        let rest = rest.trim();
        let (name, args) = rest.split_once(' ').unwrap_or((rest, ""));
        match name {
            "begin" => {
                begins.insert(args.trim().to_string(), l.t_us);
            }
            "start" => r.started = true,
            "done" => r.done = args.strip_prefix("errors=").and_then(|v| v.trim().parse().ok()).or(Some(0)),
            _ => {
                let res = if let Some(e) = args.split_once("error=").map(|(_, e)| e.trim()) {
                    Result1::Err(e.to_string())
                } else {
                    let kv = args
                        .split_whitespace()
                        .filter_map(|w| w.split_once('='))
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect();
                    Result1::Ok { kv, wall_us: begins.get(name).map(|b| l.t_us - b) }
                };
                r.results.insert(name.to_string(), res);
            }
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(t_us: f64, text: &str) -> Line {
        Line { t_us, text: text.into() }
    }

    #[test]
    fn results_errors_and_wall_times() {
        let lines = [
            line(1.0, "fs-bench: start dir=/mnt"),
            line(10.0, "fs-bench: begin seq_write_64MiB"),
            line(2010.0, "fs-bench: seq_write_64MiB ops=64 bytes=67108864 tsc=500 idle_ns=100 instr=6"),
            line(2020.0, "[  1.0] some kernel line"),
            line(2030.0, "fs-bench: begin rand_read_4KiB"),
            line(2040.0, "fs-bench: rand_read_4KiB error=open /fsb-big: not supported (os error 52)"),
            line(2050.0, "fs-bench: mem free_before_kib=10 free_after_kib=8 growth_kib=2"),
            line(2060.0, "fs-bench: done errors=1"),
        ];
        let r = parse(&lines);
        assert!(r.started);
        assert_eq!(r.done, Some(1));
        let w = &r.results["seq_write_64MiB"];
        assert_eq!(w.num("instr"), Some(6.0));
        assert_eq!(w.num("idle_ns"), Some(100.0));
        assert_eq!(w.wall_us(), Some(2000.0));
        assert_eq!(r.results["rand_read_4KiB"], Result1::Err("open /fsb-big: not supported (os error 52)".into()));
        assert_eq!(r.results["mem"].num("growth_kib"), Some(2.0));
        assert_eq!(r.results["mem"].wall_us(), None);
    }

    #[test]
    fn nothing_printed() {
        let r = parse(&[line(1.0, "init: cannot run /bin/fs-bench: NotFound")]);
        assert_eq!(r, RunLines::default());
    }
}
