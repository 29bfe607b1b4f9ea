//! Monotonic time from the clock page (`pv_abi::clock`), which the kernel
//! maps read-only into every process: the TSC scaled as the kernel scales
//! it, so no system call. A page that says "ask the kernel" (or a kvmclock
//! area the host is not done writing, or that is not stable across CPUs)
//! falls back to `ClockMonotonic`.
use core::ptr::read_volatile;
use pv_abi::clock::*;

/// Reads a `T` at `off` in the clock page.
///
/// # Safety
/// `off` is one of `pv_abi::clock`'s offsets for a `T`.
#[inline(always)]
unsafe fn at<T: Copy>(off: usize) -> T {
    // The kernel maps the page at PAGE_VADDR in every process before it runs,
    // read-only, for its whole life; volatile because the host rewrites the
    // pvclock area.
    // SAFETY: mapped (above), and the caller passes an aligned in-page offset.
    unsafe { read_volatile((PAGE_VADDR as usize + off) as *const T) }
}

/// Nanoseconds since boot, or `None`: ask the kernel.
#[inline]
pub fn page_now_ns() -> Option<u64> {
    // SAFETY: MODE_AT holds a u32.
    match unsafe { at::<u32>(MODE_AT) } {
        // SAFETY: TSC_MULT_AT holds a u64.
        MODE_TSC => Some(tsc_ns(crate::rdtsc(), unsafe { at::<u64>(TSC_MULT_AT) })),
        MODE_KVMCLOCK => kvmclock_ns(),
        _ => None,
    }
}

/// The pvclock area under its version protocol: an odd or changed version
/// means the host was writing; a few tries, then the kernel.
fn kvmclock_ns() -> Option<u64> {
    for _ in 0..4 {
        // SAFETY: PVCLOCK_VERSION_AT holds a u32 (as each offset below holds its type).
        let v1 = unsafe { at::<u32>(PVCLOCK_VERSION_AT) };
        if v1 & 1 != 0 {
            continue;
        }
        core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
        // SAFETY: as above.
        let (ts, sys, mul, shift, flags) = unsafe {
            (
                at::<u64>(PVCLOCK_TSC_TIMESTAMP_AT),
                at::<u64>(PVCLOCK_SYSTEM_TIME_AT),
                at::<u32>(PVCLOCK_MUL_AT),
                at::<i8>(PVCLOCK_SHIFT_AT),
                at::<u8>(PVCLOCK_FLAGS_AT),
            )
        };
        let tsc = crate::rdtsc();
        core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
        // SAFETY: as above.
        if unsafe { at::<u32>(PVCLOCK_VERSION_AT) } != v1 {
            continue;
        }
        return (flags & PVCLOCK_TSC_STABLE != 0 && v1 != 0).then(|| pvclock_ns(tsc, ts, sys, mul, shift));
    }
    None
}
