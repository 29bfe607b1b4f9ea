//! The ACPI PM timer (3.579545 MHz), used only to measure the TSC when no
//! CPUID leaf or kvmclock states its frequency. Cloud Hypervisor has no PIT
//! or HPET, so this is the one calibration reference every target can have.
use super::error::TimeError;
use super::tsc_clock::{self, rdtsc};
use crate::arch::x86_64::port::inl;

pub use pv_abi::acpi::PM_TIMER_HZ;

/// Where the FADT says the timer is, and whether it counts 32 bits
/// (FADT flag TMR_VAL_EXT) or 24: the ACPI module's description of it.
pub use crate::acpi::PmTimerInfo as PmTimer;

/// Calibration windows start at 64 ticks (17.9 us) and double, three at a
/// time, until three back-to-back windows agree within 0.1 %. Under
/// `-icount` (boot cost is counted in instructions, one per ns spun) they
/// agree at once, for ~55k instructions; under TCG without icount each PM
/// read has a few hundred ns of host jitter and it takes ~1000-tick windows,
/// a few ms in all.
const FIRST_WINDOW_TICKS: u32 = 64;
const MAX_WINDOW_TICKS: u32 = 4096;
const AGREEMENT_PPM: u64 = 1000;
/// Polls before we give up waiting for one tick (279 ns). Absent timers read
/// as a constant all-ones and must not hang boot.
const EDGE_POLLS: u32 = 200_000;
/// Polls per expected tick before we give up on a window: a tick comes
/// every 279 ns and a poll takes at least ~20 ns even under icount.
const POLLS_PER_TICK: u32 = 1000;

/// Reading the timer's port (its description, `mask` and `ticks` come
/// with the parsed FADT).
pub trait PmTimerPort {
    fn read(&self) -> u32;
    fn wait_edge(&self) -> Result<(u32, u64), TimeError>;
    fn wait_ticks(&self, pm0: u32, ticks: u32, max_polls: u32) -> Result<(u32, u32, u64), TimeError>;
}

impl PmTimerPort for PmTimer {
    fn read(&self) -> u32 {
        inl(self.port) & self.mask()
    }

    /// Waits for the counter to move, so a window starts right at an edge and
    /// the quantisation error is one poll, not one 279 ns tick.
    fn wait_edge(&self) -> Result<(u32, u64), TimeError> {
        let first = self.read();
        for _ in 0..EDGE_POLLS {
            let v = self.read();
            let t = rdtsc();
            if v != first {
                return Ok((v, t));
            }
            core::hint::spin_loop();
        }
        Err(TimeError::PmTimerNotTicking { port: self.port })
    }

    /// Spins until at least `ticks` have passed since the reading `pm0`;
    /// returns the first (counter, ticks, TSC) read after that edge.
    fn wait_ticks(&self, pm0: u32, ticks: u32, max_polls: u32) -> Result<(u32, u32, u64), TimeError> {
        for _ in 0..max_polls {
            let v = self.read();
            let t = rdtsc();
            let d = self.ticks(pm0, v);
            if d >= ticks {
                return Ok((v, d, t));
            }
        }
        Err(TimeError::PmTimerNotTicking { port: self.port })
    }
}

/// Converts `tsc_delta` over `pm_ticks` PM-timer ticks to TSC Hz.
pub fn hz_from(tsc_delta: u64, pm_ticks: u32) -> u64 {
    if pm_ticks == 0 {
        return 0;
    }
    let hz = u128::from(tsc_delta) * u128::from(PM_TIMER_HZ) / u128::from(pm_ticks);
    u64::try_from(hz).unwrap_or(u64::MAX)
}

/// Measures the TSC against the PM timer in edge-aligned windows (see
/// `FIRST_WINDOW_TICKS`) and returns the median of the last three, which
/// survives one window stretched by a host preemption.
pub fn calibrate_tsc(pm: PmTimer) -> Result<u64, TimeError> {
    let (mut pm_prev, mut tsc_prev) = pm.wait_edge()?;
    let mut window = FIRST_WINDOW_TICKS;
    loop {
        let mut rates = [0u64; 3];
        for rate in rates.iter_mut() {
            let (v, ticks, t) = pm.wait_ticks(pm_prev, window, window * POLLS_PER_TICK)?;
            if t <= tsc_prev {
                return Err(TimeError::TscNotTicking);
            }
            *rate = hz_from(t - tsc_prev, ticks);
            pm_prev = v;
            tsc_prev = t;
        }
        let [a, b, c] = rates;
        let (lo, hi) = (a.min(b).min(c), a.max(b).max(c));
        let median = a.min(b).max(a.max(b).min(c));
        let agree = u128::from(hi - lo) * 1_000_000 <= u128::from(median) * u128::from(AGREEMENT_PPM);
        if agree || window >= MAX_WINDOW_TICKS {
            return tsc_clock::check_hz(median);
        }
        window *= 2;
    }
}
