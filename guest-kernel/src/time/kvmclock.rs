//! kvmclock: per-vCPU pvclock areas the host keeps current (MSR 0x4b564d01)
//! and the one-shot wall-clock MSR (0x4b564d00). Layouts and protocol:
//! Linux `Documentation/virt/kvm/x86/msr.rst`, platform.md §2.3.
use super::error::TimeError;
use super::tsc_clock::{self, div_ceil_u128, rdtsc, NS_PER_SEC};
use crate::arch::x86_64::kvm;
use crate::arch::x86_64::layout::KERNEL_VMA;
use core::cell::UnsafeCell;
use core::ptr::{addr_of, read_volatile};
use core::sync::atomic::{AtomicU32, AtomicU64};
use pv_abi::MAX_CPUS;

/// Flags bit 0: every vCPU's area yields the same, monotonic time, so any
/// CPU may read CPU 0's area (valid only with KVM_FEATURE_CLOCKSOURCE_STABLE).
pub const PVCLOCK_TSC_STABLE_BIT: u8 = 1 << 0;
/// The host bumps `version` twice per update; a reader that keeps losing the
/// race for this long is facing a broken host, not a busy one.
const MAX_READ_RETRIES: u32 = 1 << 16;

/// `pvclock_vcpu_time_info`; every field sits at its natural alignment, so
/// `repr(C)` matches the packed C layout.
#[repr(C)]
struct PvclockVcpuTimeInfo {
    version: u32,
    pad0: u32,
    tsc_timestamp: u64,
    system_time: u64,
    tsc_to_system_mul: u32,
    tsc_shift: i8,
    flags: u8,
    pad: [u8; 2],
}

/// 32-byte aligned so the area never straddles a page, as the host requires.
#[repr(C, align(32))]
pub struct PvclockArea(UnsafeCell<PvclockVcpuTimeInfo>);

// SAFETY: the kernel never writes an area after registering it; the host's
// concurrent writes are tolerated by reading only through volatile loads
// under the version protocol in `PvclockArea::read`.
unsafe impl Sync for PvclockArea {}

const _: () = assert!(core::mem::size_of::<PvclockArea>() == 32);

impl PvclockArea {
    pub(super) const fn new() -> Self {
        Self(UnsafeCell::new(PvclockVcpuTimeInfo {
            version: 0,
            pad0: 0,
            tsc_timestamp: 0,
            system_time: 0,
            tsc_to_system_mul: 0,
            tsc_shift: 0,
            flags: 0,
            pad: [0; 2],
        }))
    }

    /// A consistent snapshot plus the TSC read inside it, or `None` if the
    /// host never filled the area (version 0) or never let us finish a read.
    #[inline(always)]
    pub fn read(&self) -> Option<(Snapshot, u64)> {
        let p = self.0.get();
        // RDTSC is left unfenced: LFENCE is an SSE2 encoding that the ring-0
        // emulator on kvm-pvm may reject, and `ns_at` saturates if the TSC
        // was sampled a little early.
        // The closure only loads, volatile, as the host writes the area.
        // SAFETY: `p` points into a static that lives forever; its fields are aligned.
        unsafe {
            kvm::read_versioned(addr_of!((*p).version), MAX_READ_RETRIES, || {
                let snap = Snapshot {
                    tsc_timestamp: read_volatile(addr_of!((*p).tsc_timestamp)),
                    system_time: read_volatile(addr_of!((*p).system_time)),
                    mul: read_volatile(addr_of!((*p).tsc_to_system_mul)),
                    shift: read_volatile(addr_of!((*p).tsc_shift)),
                    flags: read_volatile(addr_of!((*p).flags)),
                };
                (snap, rdtsc())
            })
        }
    }

    fn paddr(&self) -> Result<u64, TimeError> {
        virt_to_phys(self.0.get() as u64)
    }
}

/// The clock page programs map read-only (`clock_page.rs`,
/// `pv_abi::clock`): the mode header, then the kvmclock areas.
#[repr(C, align(4096))]
pub struct ClockPage {
    pub(super) mode: AtomicU32,
    _pad: u32,
    pub(super) mult: AtomicU64,
    _reserved: [u64; 6],
    /// One pvclock area per vCPU (kernel CPU index); the boot CPU's first.
    pub areas: [PvclockArea; MAX_CPUS],
}

const _: () = assert!(core::mem::offset_of!(ClockPage, mode) == pv_abi::clock::MODE_AT);
const _: () = assert!(core::mem::offset_of!(ClockPage, mult) == pv_abi::clock::TSC_MULT_AT);
const _: () = assert!(core::mem::offset_of!(ClockPage, areas) == pv_abi::clock::PVCLOCK_AT);
const _: () = assert!(core::mem::size_of::<ClockPage>() == 4096);

pub static PAGE: ClockPage = ClockPage {
    mode: AtomicU32::new(pv_abi::clock::MODE_SYSCALL),
    _pad: 0,
    mult: AtomicU64::new(0),
    _reserved: [0; 6],
    areas: [const { PvclockArea::new() }; MAX_CPUS],
};

/// One area per vCPU, indexed by the kernel's CPU index (0 = boot CPU);
/// they live in the clock page, which programs map to read the time.
pub static AREAS: &[PvclockArea; MAX_CPUS] = &PAGE.areas;

/// Statics live in the kernel image, linked at `KERNEL_VMA + phys`.
fn virt_to_phys(vaddr: u64) -> Result<u64, TimeError> {
    vaddr.checked_sub(KERNEL_VMA).ok_or(TimeError::NoPhysicalAddress)
}

/// One consistent copy of a pvclock area.
#[derive(Clone, Copy, Debug)]
pub struct Snapshot {
    pub tsc_timestamp: u64,
    pub system_time: u64,
    pub mul: u32,
    pub shift: i8,
    pub flags: u8,
}

/// Shifts past these never occur for a TSC between 1 MHz and 100 GHz;
/// clamping keeps the u128 arithmetic below from overflowing.
const MAX_LEFT_SHIFT: u32 = 32;
const MAX_RIGHT_SHIFT: u32 = 63;

impl Snapshot {
    #[inline(always)]
    pub fn stable(&self) -> bool {
        self.flags & PVCLOCK_TSC_STABLE_BIT != 0
    }

    /// The kvmclock time at `tsc`, exactly as the host computes it: shift
    /// the delta, then the 64x32 multiply keeping bits 32..96 (which fit in
    /// 64 bits because `mul` < 2^32). Kept branch-light and inlined: on
    /// kvm-pvm every ring-0 instruction is emulated, ~0.5 us each.
    #[inline(always)]
    pub fn ns_at(&self, tsc: u64) -> u64 {
        pv_abi::clock::pvclock_ns(tsc, self.tsc_timestamp, self.system_time, self.mul, self.shift)
    }

    /// The first TSC value at which `ns_at` reaches `ns` (a past `ns` gives a
    /// past TSC value, which a TSC-deadline timer treats as "fire now").
    pub fn tsc_at(&self, ns: u64) -> u64 {
        let Some(want) = ns.checked_sub(self.system_time) else {
            return self.tsc_timestamp;
        };
        // Smallest shifted delta x with (x * mul) >> 32 >= want.
        let x = div_ceil_u128(u128::from(want) << 32, u128::from(self.mul));
        let delta = if self.shift >= 0 {
            let s = u32::from(self.shift.unsigned_abs()).min(MAX_LEFT_SHIFT);
            div_ceil_u128(x, 1u128 << s)
        } else {
            let s = u32::from(self.shift.unsigned_abs()).min(MAX_RIGHT_SHIFT);
            x.checked_shl(s).filter(|v| v >> s == x).unwrap_or(u128::MAX)
        };
        self.tsc_timestamp.saturating_add(u64::try_from(delta).unwrap_or(u64::MAX))
    }

    /// TSC Hz implied by the scale: 1e9 * 2^(32 - shift) / mul.
    pub fn tsc_hz(&self) -> u64 {
        let num = u128::from(NS_PER_SEC) << 32;
        let s = u32::from(self.shift.unsigned_abs());
        let (num, den) = if self.shift >= 0 {
            (num, u128::from(self.mul) << s.min(MAX_LEFT_SHIFT))
        } else {
            (num << s.min(MAX_LEFT_SHIFT), u128::from(self.mul))
        };
        num.checked_div(den).and_then(|hz| u64::try_from(hz).ok()).unwrap_or(0)
    }

    /// A scale the host could actually have written.
    pub fn plausible(&self) -> bool {
        self.mul != 0 && tsc_clock::check_hz(self.tsc_hz()).is_ok()
    }
}

/// Points the host at `cpu`'s area. Must run on that CPU, and only when KVM
/// advertised CLOCKSOURCE2 (the MSR #GPs otherwise).
pub fn register(cpu: usize) -> Result<(), TimeError> {
    let area = AREAS.get(cpu).ok_or(TimeError::CpuIndexOutOfRange { cpu })?;
    let gpa = area.paddr()?;
    // The caller checked CLOCKSOURCE2, so the MSR exists.
    // SAFETY: the GPA is this CPU's own 32-byte static area, used for nothing else, forever.
    unsafe { kvm::set_system_time(Some(gpa)) };
    Ok(())
}

/// Stops the host writing this CPU's area (used when it turned out unusable).
pub fn unregister() {
    // SAFETY: as in `register`; writing 0 clears the enable bit.
    unsafe { kvm::set_system_time(None) };
}

/// `pvclock_wall_clock`: wall time at kvmclock zero.
#[repr(C)]
struct PvclockWallClock {
    version: u32,
    sec: u32,
    nsec: u32,
}

#[repr(C, align(16))]
struct WallClockArea(UnsafeCell<PvclockWallClock>);

// SAFETY: written only by the host, during our own MSR write on the boot
// CPU; read only through volatile loads under the version protocol.
unsafe impl Sync for WallClockArea {}

static WALL_CLOCK: WallClockArea = WallClockArea(UnsafeCell::new(PvclockWallClock { version: 0, sec: 0, nsec: 0 }));

/// Unix ns at kvmclock zero, so wall time = this + kvmclock time. The host
/// fills the area only during the MSR write, so this is read once at boot.
pub fn wall_clock_at_zero_ns() -> Option<u64> {
    let p = WALL_CLOCK.0.get();
    let gpa = virt_to_phys(p as u64).ok()?;
    // Only called when CLOCKSOURCE2 is advertised.
    // SAFETY: the GPA is a static 16-byte aligned area used for nothing else.
    unsafe { kvm::read_wall_clock_into(gpa) };
    // SAFETY: `p` points into a static; aligned volatile loads only.
    let (sec, nsec) = unsafe {
        kvm::read_versioned(addr_of!((*p).version), MAX_READ_RETRIES, || {
            (read_volatile(addr_of!((*p).sec)), read_volatile(addr_of!((*p).nsec)))
        })
    }?;
    Some(u64::from(sec) * NS_PER_SEC + u64::from(nsec))
}
