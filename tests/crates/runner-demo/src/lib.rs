//! A little library with the kinds of tests a crate has: passing, ignored
//! and `should_panic` (which under `-Zpanic-abort-tests` runs in a child
//! process of the harness).

/// The sum of the squares of 1..=n.
pub fn sum_of_squares(n: u64) -> u64 {
    (1..=n).map(|i| i * i).sum()
}

/// The exit status `--exit=N` asks for (0 without one).
pub fn exit_status(args: &[String]) -> Result<u8, String> {
    match args.iter().find_map(|a| a.strip_prefix("--exit=")) {
        Some(n) => n.parse().map_err(|_| format!("--exit={n}: not a status 0-255")),
        None => Ok(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squares() {
        assert_eq!(sum_of_squares(3), 14);
    }

    #[test]
    fn status_from_args() {
        assert_eq!(exit_status(&["a".into(), "--exit=7".into()]), Ok(7));
        assert!(exit_status(&["--exit=300".into()]).is_err());
    }

    #[test]
    #[should_panic(expected = "attempt to")]
    fn overflow_panics_in_debug() {
        let big = std::hint::black_box(u64::MAX);
        let _ = big + 1;
    }

    #[test]
    #[ignore = "shows that ignored tests are counted"]
    fn ignored() {}

    #[test]
    fn threads_and_hashmaps() {
        let handles: Vec<_> = (1..=4).map(|n| std::thread::spawn(move || sum_of_squares(n))).collect();
        let sums: std::collections::HashMap<usize, u64> =
            handles.into_iter().enumerate().map(|(i, h)| (i, h.join().unwrap())).collect();
        assert_eq!(sums[&3], 30);
    }
}
