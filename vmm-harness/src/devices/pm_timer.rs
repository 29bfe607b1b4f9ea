//! ACPI PM timer: a free-running 3.579545 MHz counter, 32 bits wide
//! (FADT TMR_VAL_EXT), derived from the host monotonic clock.

use std::time::Instant;

/// ACPI PM timer frequency in Hz (fixed by the ACPI specification).
pub use pv_abi::acpi::PM_TIMER_HZ;

pub struct PmTimer {
    start: Instant,
}

impl PmTimer {
    pub fn new(start: Instant) -> Self {
        PmTimer { start }
    }

    /// The counter value now.
    pub fn read(&self) -> u32 {
        ticks(self.start.elapsed().as_nanos())
    }
}

/// Counter value after `ns` nanoseconds (wraps at 2^32).
pub fn ticks(ns: u128) -> u32 {
    (ns.wrapping_mul(u128::from(PM_TIMER_HZ)) / 1_000_000_000) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic() {
        assert_eq!(ticks(0), 0);
        assert_eq!(ticks(1_000_000_000), 3_579_545);
        assert_eq!(ticks(1_000), 3); // 3.58 ticks per microsecond
        assert_eq!(ticks(279), 0);
        assert_eq!(ticks(280), 1); // one tick is ~279.4 ns
                                   // 2^32 ticks take ~1199.86 s; the counter wraps there.
        let wrap_ns = (1u128 << 32) * 1_000_000_000 / u128::from(PM_TIMER_HZ) + 1;
        assert!(ticks(wrap_ns) < 2);
        assert_eq!(ticks(3600 * 1_000_000_000), (3600 * PM_TIMER_HZ % (1 << 32)) as u32);
    }

    #[test]
    fn monotonic_from_start() {
        let t = PmTimer::new(Instant::now());
        let a = t.read();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = t.read();
        assert!(b.wrapping_sub(a) >= 7000, "{a} -> {b}");
    }
}
