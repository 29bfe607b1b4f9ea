//! Why the time module could not set up a clock.
use core::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeError {
    /// No kvmclock, no CPUID frequency leaf, no hint and no PM timer: the TSC
    /// cannot be converted to nanoseconds. (QEMU TCG microvm is such a VM.)
    NoTscFrequency,
    /// The PM timer at `port` did not change while we polled it (absent
    /// device reads as all-ones).
    PmTimerNotTicking { port: u16 },
    /// The TSC did not advance across a calibration window.
    TscNotTicking,
    /// A frequency outside what any x86 TSC runs at (1 MHz..100 GHz).
    ImplausibleTscHz { hz: u64 },
    /// `init_ap` got an index past [`pv_abi::MAX_CPUS`].
    CpuIndexOutOfRange { cpu: usize },
    /// `init_ap` ran twice for one CPU index.
    CpuAlreadyRegistered { cpu: usize },
    /// A per-CPU call came before `init_boot_cpu` succeeded.
    NotInitialized,
    /// The kernel image is not where `KERNEL_VMA` says, so a pvclock area has
    /// no physical address to hand to the host.
    NoPhysicalAddress,
    /// The RTC kept updating (UIP) or changing under us for every attempt.
    RtcBusy,
    /// The RTC holds a date/time that is not one (e.g. month 13).
    RtcInvalid,
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::NoTscFrequency => f.write_str(
                "no TSC frequency source (no kvmclock, no CPUID 0x15/0x16/0x40000010, \
                 no tsc_khz hint, no ACPI PM timer)",
            ),
            Self::PmTimerNotTicking { port } => {
                write!(f, "ACPI PM timer at port {port:#x} is not ticking")
            }
            Self::TscNotTicking => f.write_str("the TSC does not advance"),
            Self::ImplausibleTscHz { hz } => write!(f, "implausible TSC frequency {hz} Hz"),
            Self::CpuIndexOutOfRange { cpu } => {
                write!(f, "cpu index {cpu} out of range (max {})", pv_abi::MAX_CPUS)
            }
            Self::CpuAlreadyRegistered { cpu } => {
                write!(f, "cpu {cpu}'s pvclock area is already registered")
            }
            Self::NotInitialized => f.write_str("time not initialised on the boot CPU"),
            Self::NoPhysicalAddress => f.write_str("pvclock area has no physical address"),
            Self::RtcBusy => f.write_str("CMOS RTC stayed busy (update in progress)"),
            Self::RtcInvalid => f.write_str("CMOS RTC holds an invalid date"),
        }
    }
}
