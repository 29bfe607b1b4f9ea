//! In-kernel tests of the time module. Every wait is bounded by a poll
//! count, so a broken clock fails a test instead of hanging the run.
use super::pm_timer::{PmTimerPort, PM_TIMER_HZ};
use super::tsc_clock::{rdtsc, NS_PER_SEC};
use super::{cmos, now_ns, ns_to_tsc_deadline, pm_timer, tsc_hz, wall_clock_unix_ns, MODE, MODE_NONE};
use crate::selftest_api::SelfTest;
use alloc::format;
use alloc::string::String;
use core::sync::atomic::Ordering;

static TESTS: [SelfTest; 6] = [
    SelfTest { name: "time: monotonic", run: monotonic },
    SelfTest { name: "time: consistent with tsc", run: consistent_with_tsc },
    SelfTest { name: "time: consistent with pm timer", run: consistent_with_pm_timer },
    SelfTest { name: "time: tsc deadline conversion", run: deadline_conversion },
    SelfTest { name: "time: wall clock after 2025-01-01", run: wall_clock_recent },
    SelfTest { name: "time: civil date conversion", run: civil_dates },
];

pub fn all() -> &'static [SelfTest] {
    &TESTS
}

/// Busy windows are short: under `-icount` each ns spun is an instruction.
const WINDOW_NS: u64 = 200_000;
/// Far more polls than a working clock needs to cover a window.
const MAX_POLLS: u32 = 10_000_000;
/// Where ring 0 is emulated (kvm-pvm: ~0.5 us an instruction, ~40 us a
/// `now_ns`) the reads bracketing a window are slow, so the window grows to
/// keep them below 1/200 of it, up to this.
const MAX_WINDOW_NS: u64 = 50_000_000;

fn initialised() -> Result<(), String> {
    if MODE.load(Ordering::Acquire) == MODE_NONE {
        return Err(String::from("time not initialised"));
    }
    Ok(())
}

/// `x` lies within `[lo, hi]` widened by 1 %.
fn within_1pct_of_range(x: u64, lo: u64, hi: u64) -> bool {
    x.saturating_mul(100) >= lo.saturating_mul(99) && x.saturating_mul(100) <= hi.saturating_mul(101)
}

fn monotonic() -> Result<(), String> {
    initialised()?;
    let mut prev = now_ns();
    for i in 0..1000 {
        let t = now_ns();
        if t < prev {
            return Err(format!("read {i} went back from {prev} to {t} ns"));
        }
        prev = t;
    }
    Ok(())
}

/// A reading of `now_ns` bracketed by two readings of a reference counter,
/// or the other way round: the inner value belongs somewhere in between.
struct Bracket {
    before: u64,
    inner: u64,
    after: u64,
}

fn window_ns(bracket_ns: u64) -> u64 {
    bracket_ns.saturating_mul(200).clamp(WINDOW_NS, MAX_WINDOW_NS)
}

/// Meaningful under kvmclock (ns from the host's scale, Hz from a leaf or
/// derived); with a TSC clock it checks the conversion arithmetic.
fn consistent_with_tsc() -> Result<(), String> {
    initialised()?;
    let hz = tsc_hz().max(1);
    let tsc_to_ns = |t: u64| u64::try_from(u128::from(t) * u128::from(NS_PER_SEC) / u128::from(hz)).unwrap_or(u64::MAX);
    let read = || {
        let before = rdtsc();
        let inner = now_ns();
        Bracket { before, inner, after: rdtsc() }
    };
    let _warm = read();
    let start = read();
    let window_ticks = window_ns(tsc_to_ns(start.after.saturating_sub(start.before))).saturating_mul(hz) / NS_PER_SEC;
    let mut polls = 0;
    while rdtsc().wrapping_sub(start.after) < window_ticks {
        polls += 1;
        if polls > MAX_POLLS {
            return Err(String::from("TSC did not advance"));
        }
    }
    let end = read();
    let by_clock = end.inner.wrapping_sub(start.inner);
    let lo = tsc_to_ns(end.before.saturating_sub(start.after));
    let hi = tsc_to_ns(end.after.saturating_sub(start.before));
    if !within_1pct_of_range(by_clock, lo, hi) {
        return Err(format!("clock says {by_clock} ns, TSC at {hz} Hz says {lo}..{hi} ns"));
    }
    Ok(())
}

/// An independent reference for whatever source was chosen: passes when no
/// PM timer was handed to `init_boot_cpu`.
fn consistent_with_pm_timer() -> Result<(), String> {
    initialised()?;
    let Some(pm) = pm_timer() else { return Ok(()) };
    let read = || {
        let before = now_ns();
        let inner = pm.read();
        Bracket { before, inner: u64::from(inner), after: now_ns() }
    };
    let _warm = read();
    let start = read();
    let window = window_ns(start.after.saturating_sub(start.before));
    let mut polls = 0;
    while now_ns().wrapping_sub(start.after) < window {
        polls += 1;
        if polls > MAX_POLLS {
            return Err(String::from("clock did not advance"));
        }
    }
    let end = read();
    // Fewer ticks than a 24-bit counter wraps in (4.7 s), so one wrap at most.
    let ticks = pm.ticks(start.inner as u32, end.inner as u32);
    let by_pm = u64::from(ticks) * NS_PER_SEC / PM_TIMER_HZ;
    // Each reading may sit up to one tick after the edge it shows.
    let tick_ns = NS_PER_SEC / PM_TIMER_HZ + 1;
    let lo = end.before.saturating_sub(start.after).saturating_sub(tick_ns);
    let hi = end.after.saturating_sub(start.before).saturating_add(tick_ns);
    if !within_1pct_of_range(by_pm, lo, hi) {
        return Err(format!("PM timer says {by_pm} ns, clock says {lo}..{hi} ns"));
    }
    Ok(())
}

fn deadline_conversion() -> Result<(), String> {
    initialised()?;
    let past = ns_to_tsc_deadline(now_ns().saturating_sub(1_000_000));
    if past == 0 || past > rdtsc() {
        return Err(format!("past deadline maps to TSC {past}, not to the past"));
    }
    let deadline = now_ns() + WINDOW_NS / 2;
    let tsc_deadline = ns_to_tsc_deadline(deadline);
    let mut polls = 0;
    while rdtsc() < tsc_deadline {
        polls += 1;
        if polls > MAX_POLLS {
            return Err(format!("TSC never reached deadline {tsc_deadline}"));
        }
    }
    let now = now_ns();
    if now < deadline {
        return Err(format!("TSC deadline reached at {now} ns, before {deadline} ns"));
    }
    // Generous: without icount the host may deschedule us for a while.
    if now - deadline > 50_000_000 {
        return Err(format!("TSC deadline reached {} ns late", now - deadline));
    }
    Ok(())
}

fn wall_clock_recent() -> Result<(), String> {
    initialised()?;
    const JAN_1_2025: u64 = 1_735_689_600;
    const JAN_1_2100: u64 = 4_102_444_800;
    let secs = wall_clock_unix_ns() / NS_PER_SEC;
    if !(JAN_1_2025..JAN_1_2100).contains(&secs) {
        return Err(format!("wall clock says {secs} s since 1970"));
    }
    Ok(())
}

fn civil_dates() -> Result<(), String> {
    let cases: [(u64, u8, u8, Option<u64>); 7] = [
        (1970, 1, 1, Some(0)),
        (2000, 2, 29, Some(11_016)),
        (2000, 3, 1, Some(11_017)),
        (2025, 1, 1, Some(20_089)),
        (2100, 2, 29, None),
        (2024, 13, 1, None),
        (2024, 4, 31, None),
    ];
    for (y, m, d, want) in cases {
        let got = cmos::days_since_epoch(y, m, d);
        if got != want {
            return Err(format!("{y}-{m}-{d}: got {got:?} days, want {want:?}"));
        }
    }
    Ok(())
}
