//! `sleep SECONDS`: waits (a decimal number of seconds).
use std::process::ExitCode;
use std::time::Duration;

use crate::common::usage_error;

pub const USAGE: &str = "usage: sleep SECONDS\nWaits SECONDS (a decimal number, e.g. 0.5).";

pub fn run(args: &[String]) -> ExitCode {
    match parse(args) {
        Some(d) => {
            std::thread::sleep(d);
            ExitCode::SUCCESS
        }
        None => usage_error("sleep", USAGE, "expected one number of seconds"),
    }
}

fn parse(args: &[String]) -> Option<Duration> {
    let [s] = args else { return None };
    s.parse::<f64>().ok().filter(|s| *s >= 0.0 && *s <= 1e9).map(Duration::from_secs_f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_decimal_and_bounded() {
        let p = |s: &str| parse(&[s.to_string()]);
        assert_eq!(p("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(p("2"), Some(Duration::from_secs(2)));
        for bad in ["-1", "x", "inf", "NaN", "1e300"] {
            assert_eq!(p(bad), None, "{bad}");
        }
        assert_eq!(parse(&[]), None);
    }
}
