//! `date`: the time now, UTC, ISO 8601 (`2026-12-07T13:34:41Z`), from
//! `SystemTime` (on Vireo the kernel's boot-time wall clock plus the
//! monotonic clock).
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::common::{bad_args, usage_error};

pub const USAGE: &str =
    "usage: date [-u]\nPrints the current time in UTC as ISO 8601 (YYYY-MM-DDTHH:MM:SSZ); -u is accepted (always UTC).";

pub fn run(args: &[String]) -> ExitCode {
    match crate::args::parse(args, "u", "") {
        Err(e) => bad_args("date", USAGE, &e),
        Ok(a) if !a.operands.is_empty() => usage_error("date", USAGE, "setting the time is not supported"),
        Ok(_) => match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => {
                println!("{}", iso8601(d.as_secs()));
                ExitCode::SUCCESS
            }
            Err(_) => {
                eprintln!("date: the clock is before 1970");
                ExitCode::FAILURE
            }
        },
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the Unix epoch.
pub fn iso8601(secs: u64) -> String {
    let (y, m, d) = civil(secs / 86_400);
    let s = secs % 86_400;
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", s / 3600, s / 60 % 60, s % 60)
}

/// `YYYY-MM-DD HH:MM` (what `ls -l` shows).
pub fn short(secs: u64) -> String {
    let iso = iso8601(secs);
    format!("{} {}", &iso[..10], &iso[11..16])
}

/// (year, month, day) of a day count since 1970-01-01, in the proleptic
/// Gregorian calendar (eras of 400 years, years starting in March so the
/// leap day is last).
fn civil(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(iso8601(1_798_761_600), "2027-01-01T00:00:00Z");
        assert_eq!(iso8601(4_102_444_800), "2100-01-01T00:00:00Z");
        assert_eq!(short(1_709_251_199), "2024-02-29 23:59");
    }

    #[test]
    fn every_day_follows_the_last() {
        let (mut y, mut m, mut d) = civil(0);
        for day in 1..200_000 {
            let next = civil(day);
            let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
            let len = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m as usize - 1];
            let want = if d < len {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
            assert_eq!(next, want, "day {day}");
            (y, m, d) = next;
        }
    }
}
