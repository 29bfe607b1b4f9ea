//! Min / median / max over repeated measurements.

/// Summary of a sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub n: usize,
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

impl Summary {
    /// `None` for an empty sample; NaNs are ignored.
    pub fn of(values: &[f64]) -> Option<Summary> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
        Some(Summary { n, min: v[0], median, max: v[n - 1] })
    }

    /// max - min.
    pub fn spread(&self) -> f64 {
        self.max - self.min
    }

    /// Spread relative to the median, in percent (0 when the median is 0).
    pub fn spread_pct(&self) -> f64 {
        if self.median == 0.0 {
            0.0
        } else {
            100.0 * self.spread() / self.median.abs()
        }
    }
}

/// `1234.5` us as `1.23 ms`, `12 us`, `1.50 s`.
pub fn fmt_us(us: f64) -> String {
    let a = us.abs();
    if a < 1_000.0 {
        format!("{us:.0} us")
    } else if a < 1_000_000.0 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{:.2} s", us / 1e6)
    }
}

/// An instruction count as `1.23 M`, `456.7 k`, `89`.
pub fn fmt_insns(n: f64) -> String {
    let a = n.abs();
    if a < 1e3 {
        format!("{n:.0}")
    } else if a < 1e6 {
        format!("{:.1} k", n / 1e3)
    } else if a < 1e9 {
        format!("{:.2} M", n / 1e6)
    } else {
        format!("{:.2} G", n / 1e9)
    }
}

/// A byte count as `58.1 KiB`, `2.00 MiB`.
pub fn fmt_bytes(n: u64) -> String {
    let f = n as f64;
    if n < 1024 {
        format!("{n} B")
    } else if n < 1 << 20 {
        format!("{:.1} KiB", f / 1024.0)
    } else if n < 1 << 30 {
        format!("{:.2} MiB", f / 1048576.0)
    } else {
        format!("{:.2} GiB", f / 1073741824.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries() {
        assert_eq!(Summary::of(&[]), None);
        let s = Summary::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.n, s.min, s.median, s.max), (3, 1.0, 2.0, 3.0));
        let s = Summary::of(&[4.0, 1.0, 2.0, 3.0, f64::NAN]).unwrap();
        assert_eq!((s.n, s.median, s.spread()), (4, 2.5, 3.0));
        assert_eq!(Summary::of(&[5.0, 5.0]).unwrap().spread_pct(), 0.0);
        assert_eq!(Summary::of(&[0.0]).unwrap().spread_pct(), 0.0);
        assert!((Summary::of(&[99.0, 101.0]).unwrap().spread_pct() - 2.0).abs() < 1e-9);
    }

    #[test]
    fn formatting() {
        assert_eq!(fmt_us(12.4), "12 us");
        assert_eq!(fmt_us(1234.5), "1.23 ms");
        assert_eq!(fmt_us(1_500_000.0), "1.50 s");
        assert_eq!(fmt_insns(0.0), "0");
        assert_eq!(fmt_insns(456_700.0), "456.7 k");
        assert_eq!(fmt_insns(1_234_567.0), "1.23 M");
        assert_eq!(fmt_insns(1.55e9), "1.55 G");
        assert_eq!(fmt_bytes(58272), "56.9 KiB");
        assert_eq!(fmt_bytes(2 << 20), "2.00 MiB");
    }
}
