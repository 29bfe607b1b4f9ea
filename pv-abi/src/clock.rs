//! The clock page: monotonic time without a system call.
//!
//! Every process has one read-only page at [`PAGE_VADDR`], written by the
//! kernel once the clock is chosen (and, for kvmclock, kept current by the
//! host itself: the page holds the boot CPU's pvclock area, as Linux's vDSO
//! maps its pvclock page). A program reads the TSC and scales it exactly as
//! the kernel's `now_ns` does, so both sides agree on every deadline. A
//! page whose mode is [`MODE_SYSCALL`] (no clock yet, or a kvmclock that is
//! not stable across CPUs) means: ask the kernel (`ClockMonotonic`).
//!
//! An HTTP request cost 20 `ClockMonotonic` calls (std's `Instant::now`,
//! socket deadlines, the I/O server's loop), about a sixth of its
//! instructions, before this page.

/// Where the page is mapped in every process: just below the motor
/// runtime's vtable page ([`crate::motor::RT_VDSO_VTABLE_VADDR`]).
pub const PAGE_VADDR: u64 = crate::motor::RT_VDSO_VTABLE_VADDR - crate::PAGE_SIZE;

/// Offset of the `u32` mode.
pub const MODE_AT: usize = 0;
/// Ask the kernel.
pub const MODE_SYSCALL: u32 = 0;
/// ns = [`tsc_ns`]`(rdtsc, mult)`, `mult` the `u64` at [`TSC_MULT_AT`].
pub const MODE_TSC: u32 = 1;
/// ns from the pvclock area at [`PVCLOCK_AT`] ([`pvclock_ns`]), read under
/// its version protocol, while its flags have [`PVCLOCK_TSC_STABLE`].
pub const MODE_KVMCLOCK: u32 = 2;
/// Offset of the TSC scale for [`MODE_TSC`].
pub const TSC_MULT_AT: usize = 8;
/// Offset of the boot CPU's `pvclock_vcpu_time_info` (32 bytes: version
/// u32, pad, tsc_timestamp u64, system_time u64, mul u32, shift i8, flags
/// u8), written by the host.
pub const PVCLOCK_AT: usize = 64;
pub const PVCLOCK_VERSION_AT: usize = PVCLOCK_AT;
pub const PVCLOCK_TSC_TIMESTAMP_AT: usize = PVCLOCK_AT + 8;
pub const PVCLOCK_SYSTEM_TIME_AT: usize = PVCLOCK_AT + 16;
pub const PVCLOCK_MUL_AT: usize = PVCLOCK_AT + 24;
pub const PVCLOCK_SHIFT_AT: usize = PVCLOCK_AT + 28;
pub const PVCLOCK_FLAGS_AT: usize = PVCLOCK_AT + 29;
/// Flags bit 0: every vCPU's area gives the same, monotonic time.
pub const PVCLOCK_TSC_STABLE: u8 = 1;

/// The TSC as a clock: ns = (tsc * mult) >> 32.
#[inline(always)]
pub fn tsc_ns(tsc: u64, mult: u64) -> u64 {
    let ns = (u128::from(tsc) * u128::from(mult)) >> 32;
    u64::try_from(ns).unwrap_or(u64::MAX)
}

/// kvmclock's time at `tsc`, exactly as the host computes it: shift the
/// delta, then the 64x32 multiply keeping bits 32..96.
#[inline(always)]
pub fn pvclock_ns(tsc: u64, tsc_timestamp: u64, system_time: u64, mul: u32, shift: i8) -> u64 {
    // A TSC sampled before tsc_timestamp (a speculated RDTSC) would wrap to
    // ~2^64 ticks; treat it as "now". Shifts wrap modulo 64 like Linux's.
    let delta = tsc.saturating_sub(tsc_timestamp);
    let delta = if shift >= 0 {
        delta.wrapping_shl(u32::from(shift.unsigned_abs()))
    } else {
        delta.wrapping_shr(u32::from(shift.unsigned_abs()))
    };
    let ns = ((u128::from(delta) * u128::from(mul)) >> 32) as u64;
    system_time.wrapping_add(ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_sits_below_the_vtable_page_and_its_fields_inside_it() {
        assert_eq!(PAGE_VADDR, 0x21FE_FFFF_E000);
        assert!(PVCLOCK_FLAGS_AT < crate::PAGE_SIZE as usize);
        assert_eq!(PVCLOCK_AT % 32, 0, "a pvclock area may not straddle 32 bytes");
    }

    #[test]
    fn tsc_scale_matches_a_known_rate() {
        // 1 GHz: mult = 2^32.
        assert_eq!(tsc_ns(1_000_000, 1 << 32), 1_000_000);
        // 2.5 GHz: 2.5e9 ticks are one second.
        let mult = ((1_000_000_000u128 << 32) / 2_500_000_000) as u64;
        assert!((999_999_990..=1_000_000_000).contains(&tsc_ns(2_500_000_000, mult)));
    }

    #[test]
    fn pvclock_scales_and_never_goes_back_for_an_early_tsc() {
        // mul 2^31 with shift 0: half a ns per tick.
        assert_eq!(pvclock_ns(1100, 100, 5_000, 1 << 31, 0), 5_500);
        assert_eq!(pvclock_ns(1100, 100, 5_000, 1 << 31, 1), 6_000);
        assert_eq!(pvclock_ns(1100, 100, 5_000, 1 << 31, -1), 5_250);
        assert_eq!(pvclock_ns(50, 100, 5_000, 1 << 31, 0), 5_000);
    }
}
