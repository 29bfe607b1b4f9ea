//! The TSC as a clock: a fixed-point scale between TSC ticks and ns.
use super::error::TimeError;

pub const NS_PER_SEC: u64 = 1_000_000_000;
/// No x86 TSC runs outside this range; a value outside means a bad leaf or
/// a broken calibration, and a clock built on it would be useless.
const MIN_HZ: u64 = 1_000_000;
const MAX_HZ: u64 = 100_000_000_000;

pub use crate::arch::x86_64::tsc::rdtsc;

pub fn check_hz(hz: u64) -> Result<u64, TimeError> {
    if (MIN_HZ..=MAX_HZ).contains(&hz) {
        Ok(hz)
    } else {
        Err(TimeError::ImplausibleTscHz { hz })
    }
}

/// ns = (tsc * mult) >> 32: one 64x64->128 multiply per read instead of a
/// division. At 3 GHz `mult` is ~1.4e9, so truncating it costs < 1 ns/s.
pub fn mult_for_hz(hz: u64) -> u64 {
    let hz = hz.max(1);
    ((u128::from(NS_PER_SEC) << 32) / u128::from(hz)) as u64
}

pub fn tsc_to_ns(tsc: u64, mult: u64) -> u64 {
    let ns = (u128::from(tsc) * u128::from(mult)) >> 32;
    u64::try_from(ns).unwrap_or(u64::MAX)
}

/// The first TSC value at which `tsc_to_ns` reaches `ns`: the exact inverse,
/// so a timer armed with it never fires before the clock says `ns`.
pub fn ns_to_tsc(ns: u64, mult: u64) -> u64 {
    if mult == 0 {
        return u64::MAX;
    }
    let t = div_ceil_u128(u128::from(ns) << 32, u128::from(mult));
    u64::try_from(t).unwrap_or(u64::MAX)
}

pub fn div_ceil_u128(n: u128, d: u128) -> u128 {
    match (n.checked_div(d), n.checked_rem(d)) {
        (Some(q), Some(0)) => q,
        (Some(q), Some(_)) => q + 1,
        _ => u128::MAX,
    }
}
