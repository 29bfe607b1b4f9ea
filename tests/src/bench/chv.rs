//! Parser for Cloud Hypervisor's debug-port (I/O port 0x80) log lines.
//!
//! Cloud Hypervisor logs every byte the guest writes to port 0x80 at `warn`
//! level (so with the default log level, on stderr unless `--log-file`):
//!
//! ```text
//! cloud-hypervisor:   0.071234s: <vcpu0> WARN:devices/src/legacy/debug_port.rs:73 -- [Debug I/O port: Kernel code 0x40] 0.012345 seconds
//! ```
//!
//! The first time is the logger's (since the process set up logging); the last
//! is the debug port's own (since the VM's device manager was created).
//!
//! **The >1 s quirk (v53 and earlier):** `devices/src/legacy/debug_port.rs`
//! formats the debug-port time as `"{}.{:>06} seconds"` with
//! `elapsed.as_secs()` and `elapsed.as_micros()`, i.e. the "fraction" is the
//! *total* microseconds, not the sub-second part. Below one second that is
//! harmless (`0.012345` = 12 345 us), but 1.5 s prints as `1.1500000 seconds`.
//! A correct sub-second fraction has exactly six digits, and the quirk gives
//! at least seven digits whenever the whole seconds are >= 1, so: more than six
//! fraction digits means the fraction is the total in microseconds.

/// One debug-port write as Cloud Hypervisor logged it.
#[derive(Clone, Debug, PartialEq)]
pub struct DebugPortWrite {
    pub code: u8,
    /// The debug port's own elapsed time, in microseconds (quirk-corrected).
    pub port_us: u64,
    /// The logger's timestamp at the start of the line, in microseconds, if present.
    pub log_us: Option<f64>,
}

/// Parses `S.F` as Cloud Hypervisor's debug port prints it, into microseconds.
pub fn parse_port_seconds(s: &str) -> Option<u64> {
    let (secs, frac) = s.split_once('.')?;
    if secs.is_empty() || frac.is_empty() {
        return None;
    }
    if !secs.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: u64 = secs.parse().ok()?;
    let frac_val: u64 = frac.parse().ok()?;
    if frac.len() > 6 {
        // `{as_secs}.{as_micros:>06}`: the fraction is the total.
        Some(frac_val)
    } else {
        // A true fraction; pad to six digits (`0.5` = 500 000 us).
        let scale = 10u64.pow(6 - frac.len() as u32);
        secs.checked_mul(1_000_000)?.checked_add(frac_val * scale)
    }
}

/// Parses a Rust `Duration`/float `Debug` rendering such as `0.071234s`,
/// `71.234ms`, `71.2µs` or `12ns` into microseconds.
pub fn parse_duration_us(s: &str) -> Option<f64> {
    let s = s.trim();
    let units: [(&str, f64); 5] = [("ms", 1e3), ("µs", 1.0), ("us", 1.0), ("ns", 1e-3), ("s", 1e6)];
    for (suffix, scale) in units {
        if let Some(num) = s.strip_suffix(suffix) {
            let v: f64 = num.trim().parse().ok()?;
            return v.is_finite().then_some(v * scale);
        }
    }
    None
}

/// Parses one log line; `None` if it is not a debug-port line.
pub fn parse_line(line: &str) -> Option<DebugPortWrite> {
    let line = line.trim_end_matches(['\r', '\n']);
    let at = line.find("code 0x")?;
    // The bracketed part names the port: "[Debug I/O port: Kernel code 0x40]".
    let before = &line[..at];
    if !before.contains("Debug I/O port") && !before.contains("Debug code") {
        return None;
    }
    let after = &line[at + "code 0x".len()..];
    let end = after.find(']')?;
    let code = u8::from_str_radix(&after[..end], 16).ok()?;
    let tail = after[end + 1..].trim_start();
    let value = tail.strip_suffix("seconds")?.trim();
    let port_us = parse_port_seconds(value)?;
    let log_us = line
        .strip_prefix("cloud-hypervisor:")
        .and_then(|r| r.trim_start().split_once(':'))
        .and_then(|(t, _)| parse_duration_us(t));
    Some(DebugPortWrite { code, port_us, log_us })
}

/// All debug-port writes in a log, in order.
pub fn parse(text: &str) -> Vec<DebugPortWrite> {
    text.lines().filter_map(parse_line).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The debug port's formatting, exactly as Cloud Hypervisor writes it.
    fn chv_seconds(elapsed: Duration) -> String {
        format!("{}.{:>06}", elapsed.as_secs(), elapsed.as_micros())
    }

    /// A whole line as the v53 logger writes it (`{:>10.6?}s` of an f32).
    fn chv_line(log_s: f32, code: u8, elapsed: Duration) -> String {
        format!(
            "cloud-hypervisor: {:>10.6?}s: <vcpu0> WARN:devices/src/legacy/debug_port.rs:73 -- [Debug I/O port: Kernel code 0x{:x}] {} seconds",
            log_s,
            code,
            chv_seconds(elapsed)
        )
    }

    #[test]
    fn fractions_below_one_second() {
        assert_eq!(chv_seconds(Duration::from_micros(12_345)), "0.012345");
        assert_eq!(parse_port_seconds("0.012345"), Some(12_345));
        assert_eq!(parse_port_seconds("0.000007"), Some(7));
        assert_eq!(parse_port_seconds("0.999999"), Some(999_999));
    }

    #[test]
    fn fractions_above_one_second_are_total_microseconds() {
        // The quirk: 1.5 s prints as "1.1500000".
        assert_eq!(chv_seconds(Duration::from_micros(1_500_000)), "1.1500000");
        assert_eq!(parse_port_seconds("1.1500000"), Some(1_500_000));
        assert_eq!(parse_port_seconds("1.1000001"), Some(1_000_001));
        assert_eq!(parse_port_seconds("12.12000345"), Some(12_000_345));
        // A correctly formatted fraction (six digits) still parses as one.
        assert_eq!(parse_port_seconds("1.500000"), Some(1_500_000));
        assert_eq!(parse_port_seconds("2.5"), Some(2_500_000));
        for bad in ["", "1", ".5", "1.", "a.5", "1.5x", "-1.5"] {
            assert_eq!(parse_port_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn parses_v53_lines() {
        let l = chv_line(0.071234, 0x40, Duration::from_micros(12_345));
        let w = parse_line(&l).unwrap();
        assert_eq!(w.code, 0x40);
        assert_eq!(w.port_us, 12_345);
        assert!((w.log_us.unwrap() - 71_234.0).abs() < 1.0, "{l}");

        let l = chv_line(2.25, 0x41, Duration::from_micros(2_200_123));
        assert!(l.contains("0x41] 2.2200123 seconds"), "{l}");
        let w = parse_line(&format!("{l}\r\n")).unwrap();
        assert_eq!((w.code, w.port_us), (0x41, 2_200_123));
        assert!((w.log_us.unwrap() - 2_250_000.0).abs() < 1.0);
    }

    #[test]
    fn parses_older_logger_formats_and_bare_messages() {
        let w = parse_line(
            "cloud-hypervisor: 71.234567ms: <vcpu0> WARN:devices/src/legacy/debug_port.rs:60 -- [Debug I/O port: Kernel code 0x42] 0.070001 seconds",
        )
        .unwrap();
        assert_eq!((w.code, w.port_us), (0x42, 70_001));
        assert!((w.log_us.unwrap() - 71_234.567).abs() < 1e-3);
        let w = parse_line("[Debug I/O port: Userspace code 0x7f] 3.3000000 seconds").unwrap();
        assert_eq!((w.code, w.port_us, w.log_us), (0x7f, 3_000_000, None));
    }

    #[test]
    fn ignores_other_lines() {
        for l in [
            "cloud-hypervisor:   0.001000s: <vmm> WARN:vmm/src/lib.rs:1 -- something else",
            "Vireo 0.1.0 (x86_64, PVH)",
            "[Debug I/O port: Kernel code 0xzz] 0.1 seconds",
            "[Debug I/O port: Kernel code 0x40] soon",
            "error code 0x40] 0.000001 seconds",
        ] {
            assert_eq!(parse_line(l), None, "{l}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_us("0.071234s"), Some(71_234.0));
        assert_eq!(parse_duration_us("1.5ms"), Some(1_500.0));
        assert_eq!(parse_duration_us("250µs"), Some(250.0));
        assert_eq!(parse_duration_us("250ns"), Some(0.25));
        assert_eq!(parse_duration_us("fast"), None);
    }
}
