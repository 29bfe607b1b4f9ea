//! Parses what the benchmark reads: `wrk --latency`'s report and the guests'
//! `bench: mark ...` lines (bench-mark on Vireo, /init on Linux).

/// One wrk run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Wrk {
    pub requests: u64,
    pub seconds: f64,
    pub rps: f64,
    /// Latency average and percentiles, in microseconds.
    pub lat_avg_us: Option<f64>,
    pub p50_us: Option<f64>,
    pub p90_us: Option<f64>,
    pub p99_us: Option<f64>,
    /// Socket errors (connect + read + write + timeout) and non-2xx/3xx answers.
    pub socket_errors: u64,
    pub non_2xx: u64,
    /// wrk's own words for the socket errors (`connect 0, read 2, write 0, timeout 0`).
    pub socket_detail: Option<String>,
}

impl Wrk {
    pub fn errors(&self) -> u64 {
        self.socket_errors + self.non_2xx
    }
}

/// `415.47us`, `1.02ms`, `2.00s`, `1.50m` in microseconds.
pub fn duration_us(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, mult) = if let Some(n) = s.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix("ms") {
        (n, 1e3)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1e6)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60e6)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3600e6)
    } else {
        return None;
    };
    num.parse::<f64>().ok().filter(|v| v.is_finite()).map(|v| v * mult)
}

/// wrk's stdout; `Err` says what is missing.
pub fn wrk(out: &str) -> Result<Wrk, String> {
    let mut w = Wrk::default();
    let (mut have_requests, mut have_rps) = (false, false);
    for line in out.lines() {
        let t = line.trim();
        let words: Vec<&str> = t.split_whitespace().collect();
        match words.as_slice() {
            // Not "Latency Distribution".
            ["Latency", avg, ..] if duration_us(avg).is_some() => w.lat_avg_us = duration_us(avg),
            ["50%", v] => w.p50_us = duration_us(v),
            ["90%", v] => w.p90_us = duration_us(v),
            ["99%", v] => w.p99_us = duration_us(v),
            [n, "requests", "in", d, ..] => {
                w.requests = n.parse().map_err(|_| format!("bad request count in {t:?}"))?;
                w.seconds = duration_us(d.trim_end_matches(',')).ok_or_else(|| format!("bad duration in {t:?}"))? / 1e6;
                have_requests = true;
            }
            ["Requests/sec:", v] => {
                w.rps = v.parse().map_err(|_| format!("bad Requests/sec in {t:?}"))?;
                have_rps = true;
            }
            ["Socket", "errors:", rest @ ..] => {
                // connect 0, read 0, write 0, timeout 0
                w.socket_errors = rest.iter().filter_map(|x| x.trim_end_matches(',').parse::<u64>().ok()).sum();
                w.socket_detail = Some(rest.join(" "));
            }
            ["Non-2xx", "or", "3xx", "responses:", n] => w.non_2xx = n.parse().unwrap_or(0),
            _ => {}
        }
    }
    match (have_requests, have_rps) {
        (true, true) => Ok(w),
        _ => Err("no 'N requests in' / 'Requests/sec:' lines in wrk's output".into()),
    }
}

/// One `bench: mark` answer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mark {
    /// Guest time: under -icount shift=0, instructions plus idle time.
    pub uptime_ns: u64,
    pub idle_ns: u64,
    pub free_kib: Option<u64>,
}

pub const MARK_PREFIX: &str = "bench: mark ";

/// `bench: mark uptime_ns=U idle_ns=I free_kib=F` (anything before `bench:`
/// is ignored: the console may have left a prompt or an echo there).
pub fn mark(line: &str) -> Option<Mark> {
    let rest = &line[line.find(MARK_PREFIX)? + MARK_PREFIX.len()..];
    let field = |k: &str| {
        rest.split_whitespace().find_map(|w| w.strip_prefix(k).and_then(|v| v.strip_prefix('='))).map(str::trim)
    };
    Some(Mark {
        uptime_ns: field("uptime_ns")?.parse().ok()?,
        idle_ns: field("idle_ns")?.parse().ok()?,
        free_kib: field("free_kib").and_then(|v| v.parse().ok()),
    })
}

/// Guest instructions per request between two marks: the guest time that
/// was not idle, over the requests (`None` for no requests or a clock that
/// went backwards).
pub fn instr_per(before: &Mark, after: &Mark, requests: u64) -> Option<f64> {
    let busy =
        after.uptime_ns.checked_sub(before.uptime_ns)?.checked_sub(after.idle_ns.checked_sub(before.idle_ns)?)?;
    (requests > 0).then(|| busy as f64 / requests as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRK: &str = "Running 5s test @ http://127.0.0.1:40123/index.html
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    15.20ms    3.10ms  61.00ms   88.00%
    Req/Sec     1.05k   101.00     1.20k    70.00%
  Latency Distribution
     50%   14.90ms
     75%   16.00ms
     90%   18.50ms
     99%   30.10ms
  10480 requests in 5.01s, 8.34MB read
  Socket errors: connect 0, read 7, write 0, timeout 2
  Non-2xx or 3xx responses: 3
Requests/sec:   2091.82
Transfer/sec:      1.66MB
";

    #[test]
    fn wrk_report() {
        let w = wrk(WRK).unwrap();
        assert_eq!((w.requests, w.rps, w.socket_errors, w.non_2xx, w.errors()), (10480, 2091.82, 9, 3, 12));
        assert!((w.seconds - 5.01).abs() < 1e-9);
        assert_eq!((w.lat_avg_us, w.p50_us, w.p99_us), (Some(15200.0), Some(14900.0), Some(30100.0)));
        assert_eq!(w.p90_us, Some(18500.0));
        assert_eq!(w.socket_detail.as_deref(), Some("connect 0, read 7, write 0, timeout 2"));
        // A clean run has no error lines at all.
        let clean: String =
            WRK.lines().filter(|l| !l.contains("errors") && !l.contains("Non-2xx")).collect::<Vec<_>>().join("\n");
        assert_eq!(wrk(&clean).unwrap().errors(), 0);
        assert!(wrk("unable to connect to 127.0.0.1:1 Connection refused").is_err());
        assert!(wrk("  x requests in 5.00s, 1MB read\nRequests/sec: 1").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(duration_us("415.47us"), Some(415.47));
        assert_eq!(duration_us("1.02ms"), Some(1020.0));
        assert_eq!(duration_us("2.00s"), Some(2e6));
        assert_eq!(duration_us("1.50m"), Some(90e6));
        assert_eq!(duration_us("12"), None);
        assert_eq!(duration_us("xms"), None);
    }

    #[test]
    fn mark_lines() {
        let m = mark("bench: mark uptime_ns=2000 idle_ns=500 free_kib=250000").unwrap();
        assert_eq!(m, Mark { uptime_ns: 2000, idle_ns: 500, free_kib: Some(250000) });
        let m2 = mark("~ # bench: mark uptime_ns=12000 idle_ns=1500 free_kib=unknown").unwrap();
        assert_eq!(m2.free_kib, None);
        assert_eq!(instr_per(&m, &m2, 10), Some(900.0));
        assert_eq!(instr_per(&m, &m2, 0), None);
        assert_eq!(instr_per(&m2, &m, 10), None);
        assert_eq!(mark("bench: mark uptime_ns=1"), None);
        assert_eq!(mark("bench: error=cannot run /bin/httpd: not found"), None);
        assert_eq!(mark("init: mark uptime_ns=1 idle_ns=0"), None);
    }
}
