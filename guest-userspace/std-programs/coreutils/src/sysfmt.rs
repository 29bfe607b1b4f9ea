//! How `ps`, `top`, `free` and `uptime` write times, sizes and shares, and
//! how `top` reads its interval: plain functions, tested on the host.
use std::time::Duration;

/// CPU time as `M:SS.cc` (minutes unbounded).
pub fn cpu_time(ns: u64) -> String {
    let cs = ns / 10_000_000;
    format!("{}:{:02}.{:02}", cs / 6000, cs / 100 % 60, cs % 100)
}

/// Bytes as whole KiB, rounded up (what `ps` and `free` show by default).
pub fn kib(bytes: u64) -> u64 {
    bytes.div_ceil(1024)
}

/// Bytes for people: `512B`, `12.5K`, `3.0M`, `1.2G`.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["K", "M", "G", "T"];
    if bytes < 1024 {
        return format!("{bytes}B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1}{}", UNITS[unit])
}

/// `part` of `whole` as a percentage with one decimal (`0.0` when `whole` is 0).
pub fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0.0".into();
    }
    format!("{:.1}", part as f64 * 100.0 / whole as f64)
}

/// Time since boot the way `uptime` says it: `42 s`, `5 min`, `2:05`,
/// `3 days, 2:05`.
pub fn up(ns: u64) -> String {
    let s = ns / 1_000_000_000;
    let (days, h, m) = (s / 86_400, s / 3600 % 24, s / 60 % 60);
    let clock = if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{m} min")
    } else {
        format!("{h}:{m:02}")
    };
    match days {
        0 => clock,
        1 => format!("1 day, {h}:{m:02}"),
        d => format!("{d} days, {h}:{m:02}"),
    }
}

/// The time of day, UTC, `HH:MM:SS`, from Unix ns (`None` without a wall clock).
pub fn time_of_day(unix_ns: u64) -> Option<String> {
    if unix_ns == 0 {
        return None;
    }
    let s = unix_ns / 1_000_000_000 % 86_400;
    Some(format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60))
}

/// A decimal number of seconds between 0.1 and one day (`top -d`).
pub fn interval(s: &str) -> Option<Duration> {
    s.parse::<f64>().ok().filter(|v| (0.1..=86_400.0).contains(v)).map(Duration::from_secs_f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_times() {
        assert_eq!(cpu_time(0), "0:00.00");
        assert_eq!(cpu_time(1_234_567_890), "0:01.23");
        assert_eq!(cpu_time(61_500_000_000), "1:01.50");
        assert_eq!(cpu_time(7_200_000_000_000), "120:00.00");
    }

    #[test]
    fn sizes() {
        assert_eq!((kib(0), kib(1), kib(4096), kib(4097)), (0, 1, 4, 5));
        assert_eq!(human(512), "512B");
        assert_eq!(human(12_800), "12.5K");
        assert_eq!(human(3 << 20), "3.0M");
        assert_eq!(human(5 << 40), "5.0T");
        assert_eq!(human(u64::MAX), "16777216.0T");
    }

    #[test]
    fn shares_and_uptimes() {
        assert_eq!(percent(1, 3), "33.3");
        assert_eq!(percent(5, 0), "0.0");
        assert_eq!(percent(10, 10), "100.0");
        let s = 1_000_000_000;
        assert_eq!(up(42 * s), "42 s");
        assert_eq!(up(300 * s), "5 min");
        assert_eq!(up(3600 * s + 300 * s), "1:05");
        assert_eq!(up(86_400 * s + 125 * s), "1 day, 0:02");
        assert_eq!(up(3 * 86_400 * s + 7500 * s), "3 days, 2:05");
        assert_eq!(time_of_day(0), None);
        assert_eq!(time_of_day(1_709_251_199 * s).as_deref(), Some("23:59:59"));
    }

    #[test]
    fn intervals() {
        assert_eq!(interval("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(interval("2"), Some(Duration::from_secs(2)));
        for bad in ["0", "0.05", "-1", "x", "NaN", "1e9"] {
            assert_eq!(interval(bad), None, "{bad}");
        }
    }
}
