//! Time: a monotonic nanosecond clock, the TSC frequency, TSC-deadline
//! conversion and wall-clock time.
//!
//! The clock, in the order the boot CPU tries them:
//! 1. kvmclock (MSR 0x4b564d01) when the KVM leaves offer CLOCKSOURCE2;
//! 2. the TSC, its frequency from (first that answers) a `tsc_khz` boot
//!    hint, CPUID 0x4000_0010, 0x15, 0x16, or a calibration against the ACPI
//!    PM timer. Never the PIT: Cloud Hypervisor has none, and PIT
//!    calibration is what hangs Linux on TCG microvm.
//!
//! Wall time comes from the kvmclock wall-clock MSR, else the CMOS RTC read
//! once at boot.
//!
//! Epoch: [`now_ns`] counts from the clock's own zero, which is when the VM
//! started (kvmclock's system_time starts at VM creation, the TSC at vCPU
//! reset), not when this kernel started. Keeping the raw epoch makes
//! wall time = (wall time at zero) + `now_ns()`, which is how the kvmclock
//! wall-clock MSR is defined, and keeps boot-time stamps comparable with the
//! VMM's and with `-icount` instruction counts.
mod apic_bus;
use crate::arch::x86_64::cpuid;
pub use crate::arch::x86_64::cpuid::under_hypervisor;
pub use apic_bus::APIC_BUS_HZ;
mod clock_page;
mod cmos;
mod error;
mod kvmclock;
mod pm_timer;
pub mod selftest;
pub mod timer;
mod tsc_clock;

pub use error::TimeError;
pub use pm_timer::PmTimer;
pub use tsc_clock::rdtsc;

use crate::sync::SpinLock;
use core::fmt;
use core::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use tsc_clock::NS_PER_SEC;

/// CPUs with their own pvclock area; CPU indices are `0..MAX_CPUS`, the
/// boot CPU being 0.
/// KVM_CPUID_FEATURES bits (Linux `kvm_para.h`): kvmclock at the new MSRs,
/// and a clock that is stable across CPUs.
const KVM_FEATURE_CLOCKSOURCE2: u32 = 1 << pv_abi::kvm_para::feature::CLOCKSOURCE2;
const KVM_FEATURE_CLOCKSOURCE_STABLE: u32 = 1 << pv_abi::kvm_para::feature::CLOCKSOURCE_STABLE_BIT;

pub use pv_abi::MAX_CPUS;

/// Where the TSC frequency came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TscFreqSource {
    /// `tsc_khz=` on the kernel command line (the lead parses it).
    BootHint,
    Cpuid15,
    Cpuid16,
    Hypervisor40000010,
    /// Derived from the pvclock scale: 1e9 * 2^(32 - shift) / mul.
    KvmClock,
    PmTimerCalibrated,
    /// Calibrated against the local APIC timer at the 1 GHz bus clock that
    /// KVM and QEMU hard-code (Cloud Hypervisor advertises it in 0x40000010).
    ApicBusCalibrated,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockSource {
    KvmClock,
    Tsc(TscFreqSource),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WallSource {
    KvmWallClock,
    CmosRtc,
    /// No wall clock could be read: wall time counts from 1970 at VM start.
    None,
}

/// What `init_boot_cpu` chose. `Display` is the banner's text after
/// "clock: ", e.g. "kvmclock (stable), tsc 2596.130 MHz (cpuid 0x40000010),
/// wall clock kvm".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockInfo {
    pub source: ClockSource,
    pub tsc_hz: u64,
    pub tsc_freq_source: TscFreqSource,
    /// kvmclock set PVCLOCK_TSC_STABLE_BIT and KVM advertised it: every CPU
    /// reads CPU 0's area and no cross-CPU monotonicity fix-up is needed.
    pub kvmclock_stable: bool,
    pub wall_source: WallSource,
}

impl fmt::Display for TscFreqSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BootHint => "boot hint",
            Self::Cpuid15 => "cpuid 0x15",
            Self::Cpuid16 => "cpuid 0x16",
            Self::Hypervisor40000010 => "cpuid 0x40000010",
            Self::KvmClock => "kvmclock",
            Self::PmTimerCalibrated => "pm timer",
            Self::ApicBusCalibrated => "apic timer",
        })
    }
}

impl fmt::Display for ClockInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.source {
            ClockSource::KvmClock if self.kvmclock_stable => f.write_str("kvmclock (stable)")?,
            ClockSource::KvmClock => f.write_str("kvmclock (per-cpu)")?,
            ClockSource::Tsc(_) => f.write_str("tsc")?,
        }
        let khz = self.tsc_hz / 1000;
        write!(f, ", tsc {}.{:03} MHz ({})", khz / 1000, khz % 1000, self.tsc_freq_source)?;
        f.write_str(match self.wall_source {
            WallSource::KvmWallClock => ", wall clock kvm",
            WallSource::CmosRtc => ", wall clock cmos",
            WallSource::None => ", no wall clock",
        })
    }
}

const MODE_NONE: u8 = 0;
/// kvmclock without KVM_FEATURE_CLOCKSOURCE_STABLE: each CPU reads its own area.
const MODE_KVMCLOCK: u8 = 1;
const MODE_TSC: u8 = 2;
/// kvmclock with KVM_FEATURE_CLOCKSOURCE_STABLE: CPU 0's area serves every
/// CPU while its flags say stable. A mode of its own, not a flag beside the
/// mode, because every ring-0 instruction costs ~0.5 us on kvm-pvm.
const MODE_KVMCLOCK_STABLE: u8 = 3;

/// Written by the boot CPU before any other CPU runs; `MODE` is stored last
/// with Release so a reader that sees the mode sees its parameters.
static MODE: AtomicU8 = AtomicU8::new(MODE_NONE);
static TSC_HZ: AtomicU64 = AtomicU64::new(0);
/// `tsc_clock::tsc_to_ns` scale for `TSC_HZ`.
static TSC_MULT: AtomicU64 = AtomicU64::new(0);
/// Latest time handed out when kvmclock is per-CPU: areas of different
/// vCPUs may disagree by a little, and `now_ns` must never go backwards.
static LAST_NS: AtomicU64 = AtomicU64::new(0);
/// Unix ns at clock zero.
static WALL_AT_ZERO_NS: AtomicU64 = AtomicU64::new(0);
static INFO: SpinLock<Option<ClockInfo>> = SpinLock::new(None);
static PM_TIMER: SpinLock<Option<PmTimer>> = SpinLock::new(None);
static CPU_INDEX_FN: spin::Once<fn() -> usize> = spin::Once::new();
/// Bit n: CPU n's pvclock area is registered (bit 0, the boot CPU's, is
/// managed by `init_boot_cpu`).
static AP_AREAS_TAKEN: AtomicU64 = AtomicU64::new(0);

const _: () = assert!(MAX_CPUS <= 64, "AP_AREAS_TAKEN is one u64");

/// Picks and starts the clock on the boot CPU (CPU index 0). Call once,
/// before other CPUs start and before anything asks for the time.
/// Chooses the clock source. `tsc_khz_hint` is a TSC frequency hint (kHz, e.g. from a
/// `tsc_khz=` command-line option), used when the TSC is the clock. It is the
/// only way to get a TSC clock on a VM that offers neither a frequency leaf
/// nor a PM timer, such as QEMU TCG microvm (under `-icount shift=0` the TSC
/// counts ns: `tsc_khz=1000000`).
pub fn init_boot_cpu(pm_timer: Option<PmTimer>, tsc_khz_hint: Option<u64>) -> Result<ClockInfo, TimeError> {
    *PM_TIMER.lock() = pm_timer;
    let hv = cpuid::hypervisor_leaves();
    let timing_hz = hv.timing_tsc_khz.and_then(|khz| tsc_clock::check_hz(u64::from(khz) * 1000).ok());

    if let Some(features) = hv.kvm_features.filter(|f| f & KVM_FEATURE_CLOCKSOURCE2 != 0) {
        if let Some(info) = try_kvmclock(features, timing_hz) {
            return Ok(info);
        }
    }

    let (hz, freq_source) = tsc_frequency(tsc_khz_hint, timing_hz, pm_timer)?;
    TSC_HZ.store(hz, Ordering::Relaxed);
    TSC_MULT.store(tsc_clock::mult_for_hz(hz), Ordering::Relaxed);
    MODE.store(MODE_TSC, Ordering::Release);
    clock_page::publish(pv_abi::clock::MODE_TSC, tsc_clock::mult_for_hz(hz));
    let wall_source = init_wall_from_cmos();
    Ok(publish(ClockInfo {
        source: ClockSource::Tsc(freq_source),
        tsc_hz: hz,
        tsc_freq_source: freq_source,
        kvmclock_stable: false,
        wall_source,
    }))
}

fn publish(info: ClockInfo) -> ClockInfo {
    *INFO.lock() = Some(info);
    info
}

/// `None` when the pvclock area never became valid; the caller then falls
/// back to the TSC.
fn try_kvmclock(features: u32, timing_hz: Option<u64>) -> Option<ClockInfo> {
    kvmclock::register(0).ok()?;
    let snap = match kvmclock::AREAS.first().and_then(|a| a.read()) {
        Some((snap, _)) if snap.plausible() => snap,
        _ => {
            kvmclock::unregister();
            return None;
        }
    };
    let (hz, freq_source) = match timing_hz {
        Some(hz) => (hz, TscFreqSource::Hypervisor40000010),
        None => (snap.tsc_hz(), TscFreqSource::KvmClock),
    };
    let stable_feature = features & KVM_FEATURE_CLOCKSOURCE_STABLE != 0;
    TSC_HZ.store(hz, Ordering::Relaxed);
    TSC_MULT.store(tsc_clock::mult_for_hz(hz), Ordering::Relaxed);
    let mode = if stable_feature { MODE_KVMCLOCK_STABLE } else { MODE_KVMCLOCK };
    MODE.store(mode, Ordering::Release);
    // Without the stable feature each CPU must read its own area: programs ask the kernel.
    let page_mode = if stable_feature { pv_abi::clock::MODE_KVMCLOCK } else { pv_abi::clock::MODE_SYSCALL };
    clock_page::publish(page_mode, tsc_clock::mult_for_hz(hz));

    let wall_source = match kvmclock::wall_clock_at_zero_ns() {
        Some(ns) => {
            WALL_AT_ZERO_NS.store(ns, Ordering::Relaxed);
            WallSource::KvmWallClock
        }
        None => init_wall_from_cmos(),
    };
    Some(publish(ClockInfo {
        source: ClockSource::KvmClock,
        tsc_hz: hz,
        tsc_freq_source: freq_source,
        kvmclock_stable: stable_feature && snap.stable(),
        wall_source,
    }))
}

/// The hint outranks the CPUID leaves, as Linux's `tsc_early_khz` does: it is
/// how an operator overrides a VMM that reports a wrong frequency.
fn tsc_frequency(
    hint_khz: Option<u64>,
    timing_hz: Option<u64>,
    pm_timer: Option<PmTimer>,
) -> Result<(u64, TscFreqSource), TimeError> {
    let stated = [
        (hint_khz.map(|k| k.saturating_mul(1000)), TscFreqSource::BootHint),
        (timing_hz, TscFreqSource::Hypervisor40000010),
        (cpuid::leaf15_tsc_hz(), TscFreqSource::Cpuid15),
        (cpuid::base_frequency_hz(), TscFreqSource::Cpuid16),
    ];
    for (hz, source) in stated {
        if let Some(hz) = hz.and_then(|hz| tsc_clock::check_hz(hz).ok()) {
            return Ok((hz, source));
        }
    }
    match pm_timer {
        Some(pm) => Ok((pm_timer::calibrate_tsc(pm)?, TscFreqSource::PmTimerCalibrated)),
        // QEMU microvm under TCG has no PV clock, no frequency leaf and no
        // PM timer: the APIC timer is the only reference left.
        None if cpuid::under_hypervisor() => Ok((apic_bus::calibrate_tsc()?, TscFreqSource::ApicBusCalibrated)),
        None => Err(TimeError::NoTscFrequency),
    }
}

fn init_wall_from_cmos() -> WallSource {
    match cmos::read_unix_seconds() {
        Ok(secs) => {
            let at_zero = secs.saturating_mul(NS_PER_SEC).saturating_sub(now_ns());
            WALL_AT_ZERO_NS.store(at_zero, Ordering::Relaxed);
            WallSource::CmosRtc
        }
        Err(_) => WallSource::None,
    }
}

/// Per-vCPU setup, on the CPU being started, after [`init_boot_cpu`]:
/// registers that CPU's pvclock area with the host (kvmclock), nothing for
/// TSC clocks. `cpu_index` must be the index `set_cpu_index_fn`'s function
/// returns on this CPU; 0 (the boot CPU, already registered by
/// `init_boot_cpu`) is accepted and re-registers the same area. A failure is
/// printed: the CPU then still reads time from CPU 0's area, which is exact
/// when kvmclock is stable. [`try_init_ap`] returns it instead.
pub fn init_ap(cpu_index: usize) {
    if let Err(e) = try_init_ap(cpu_index) {
        crate::kprintln!("clock: cpu {cpu_index}: {e}");
    }
}

/// [`init_ap`], reporting failure to the caller.
pub fn try_init_ap(cpu_index: usize) -> Result<(), TimeError> {
    if cpu_index >= MAX_CPUS {
        return Err(TimeError::CpuIndexOutOfRange { cpu: cpu_index });
    }
    match MODE.load(Ordering::Acquire) {
        MODE_KVMCLOCK | MODE_KVMCLOCK_STABLE => {
            // Two vCPUs registering one area would have the host interleave
            // both vCPUs' scales in it. Index 0 is the boot CPU's own.
            let bit = 1u64 << cpu_index;
            if cpu_index != 0 && AP_AREAS_TAKEN.fetch_or(bit, Ordering::AcqRel) & bit != 0 {
                return Err(TimeError::CpuAlreadyRegistered { cpu: cpu_index });
            }
            kvmclock::register(cpu_index)
        }
        MODE_TSC => Ok(()),
        _ => Err(TimeError::NotInitialized),
    }
}

/// Tells the clock how to find the current CPU's index, needed only when
/// kvmclock is not stable (each CPU must then read its own area). The first
/// call wins; returns false if one was already set.
pub fn set_cpu_index_fn(f: fn() -> usize) -> bool {
    let mut installed = false;
    CPU_INDEX_FN.call_once(|| {
        installed = true;
        f
    });
    installed
}

/// CPU 0's snapshot when the host vouches that it is valid on every CPU
/// (the common case, and the only one kept on the fast path). Only for
/// `MODE_KVMCLOCK_STABLE`.
#[inline(always)]
fn kvm_stable_snapshot() -> Option<(kvmclock::Snapshot, u64)> {
    kvmclock::AREAS.first().and_then(|a| a.read()).filter(|(snap, _)| snap.stable())
}

/// This CPU's own snapshot, for hosts without a stable kvmclock.
#[inline(never)]
fn kvm_own_snapshot() -> Option<(kvmclock::Snapshot, u64)> {
    let boot = kvmclock::AREAS.first()?;
    let cpu = CPU_INDEX_FN.get().map_or(0, |f| f());
    // An AP that has not registered yet has a zero area: CPU 0's is the best
    // estimate, and the LAST_NS fix-up keeps the result monotonic.
    kvmclock::AREAS.get(cpu).and_then(|a| a.read()).or_else(|| boot.read())
}

#[inline(never)]
fn kvm_now_ns_per_cpu() -> u64 {
    match kvm_own_snapshot() {
        Some((snap, tsc)) => {
            let ns = snap.ns_at(tsc);
            LAST_NS.fetch_max(ns, Ordering::AcqRel).max(ns)
        }
        None => LAST_NS.load(Ordering::Acquire),
    }
}

/// Monotonic nanoseconds since the VM started (see the module docs); 0
/// before `init_boot_cpu`. Safe on any CPU.
pub fn now_ns() -> u64 {
    match MODE.load(Ordering::Acquire) {
        MODE_KVMCLOCK_STABLE => match kvm_stable_snapshot() {
            Some((snap, tsc)) => snap.ns_at(tsc),
            None => kvm_now_ns_per_cpu(),
        },
        MODE_KVMCLOCK => kvm_now_ns_per_cpu(),
        MODE_TSC => tsc_clock::tsc_to_ns(rdtsc(), TSC_MULT.load(Ordering::Relaxed)),
        _ => 0,
    }
}

/// The physical address of the clock page programs map read-only
/// (`pv_abi::clock`).
pub fn clock_page_paddr() -> u64 {
    clock_page::paddr()
}

/// TSC ticks per second; 0 before `init_boot_cpu`.
pub fn tsc_hz() -> u64 {
    TSC_HZ.load(Ordering::Relaxed)
}

/// The TSC value at which a TSC-deadline timer armed on this CPU fires at
/// monotonic time `deadline_ns`: never early by `now_ns`'s account. A past
/// deadline gives a past TSC value (fires at once). Never 0, which would
/// disarm the timer, except before `init_boot_cpu`.
pub fn ns_to_tsc_deadline(deadline_ns: u64) -> u64 {
    match MODE.load(Ordering::Acquire) {
        mode @ (MODE_KVMCLOCK | MODE_KVMCLOCK_STABLE) => {
            let snap = match mode {
                MODE_KVMCLOCK_STABLE => kvm_stable_snapshot().or_else(kvm_own_snapshot),
                _ => kvm_own_snapshot(),
            };
            match snap {
                Some((snap, _)) => snap.tsc_at(deadline_ns).max(1),
                None => tsc_clock::ns_to_tsc(deadline_ns, TSC_MULT.load(Ordering::Relaxed)).max(1),
            }
        }
        MODE_TSC => tsc_clock::ns_to_tsc(deadline_ns, TSC_MULT.load(Ordering::Relaxed)).max(1),
        _ => 0,
    }
}

/// Unix time in ns: the wall time read at boot carried forward by the
/// monotonic clock (so it never jumps, and drifts as the clock drifts).
pub fn wall_clock_unix_ns() -> u64 {
    WALL_AT_ZERO_NS.load(Ordering::Relaxed).saturating_add(now_ns())
}

/// What `init_boot_cpu` chose, if it succeeded.
fn pm_timer() -> Option<PmTimer> {
    *PM_TIMER.lock()
}
