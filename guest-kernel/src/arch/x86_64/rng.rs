//! The CPU's random-number instructions. Callers check CPUID first
//! ([`super::cpuid::has_rdrand`], [`super::cpuid::has_rdseed`]).

/// One RDRAND; `None` when the DRNG had nothing (CF = 0), which can happen
/// transiently.
pub fn rdrand() -> Option<u64> {
    let (v, ok): (u64, u8);
    // SAFETY: RDRAND touches no memory; on a CPU without it this is #UD,
    // which callers avoid by checking CPUID.
    unsafe {
        core::arch::asm!("rdrand {v}", "setc {ok}", v = out(reg) v, ok = out(reg_byte) ok, options(nomem, nostack))
    };
    (ok != 0).then_some(v)
}

/// One RDSEED; `None` when no seed was ready (CF = 0).
pub fn rdseed() -> Option<u64> {
    let (v, ok): (u64, u8);
    // SAFETY: as for `rdrand`.
    unsafe {
        core::arch::asm!("rdseed {v}", "setc {ok}", v = out(reg) v, ok = out(reg_byte) ok, options(nomem, nostack))
    };
    (ok != 0).then_some(v)
}
