//! CR3: which page tables the CPU walks. The kernel's own PML4 is recorded
//! here once memory management has built it, so every path back to it (a
//! thread leaving its CPU, the exception dump) uses the one address.
use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::registers::control::Cr3;
use x86_64::structures::paging::PhysFrame;
use x86_64::PhysAddr;

/// The kernel's PML4 (0 until memory management has built it).
static KERNEL_PML4: AtomicU64 = AtomicU64::new(0);

/// Records the kernel's PML4 (boot, once its tables are built).
pub fn set_kernel(pml4_paddr: u64) {
    KERNEL_PML4.store(pml4_paddr, Ordering::Release);
}

/// The kernel's PML4, 0 before memory management has built it.
pub fn kernel() -> u64 {
    KERNEL_PML4.load(Ordering::Acquire)
}

/// The PML4 the calling CPU walks now.
pub fn current() -> u64 {
    Cr3::read().0.start_address().as_u64()
}

/// Loads `pml4` unless the CPU already walks it (a reload would flush the
/// TLB for nothing).
///
/// # Safety
/// `pml4` must be a live top-level table whose kernel half is the kernel's,
/// so the running code, data and stack stay mapped.
pub unsafe fn load(pml4: u64) {
    let (cur, flags) = Cr3::read();
    if cur.start_address().as_u64() != pml4 {
        let frame = PhysFrame::containing_address(PhysAddr::new(pml4));
        // SAFETY: per the caller's contract.
        unsafe { Cr3::write(frame, flags) };
    }
}

/// Back to the kernel's own page tables (a no-op before they exist).
pub fn load_kernel() {
    let pml4 = kernel();
    if pml4 != 0 {
        // SAFETY: the kernel's PML4 maps all kernel code, data and stacks
        // (IST stacks included) and is never freed.
        unsafe { load(pml4) };
    }
}
