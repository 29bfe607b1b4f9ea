//! PV EOI (MSR_KVM_PV_EOI_EN): one word per vCPU in which the host sets bit
//! 0 when it injects an interrupt whose end it can signal itself; the
//! guest's EOI then clears the bit instead of writing the APIC's EOI
//! register, which is a VM exit without APICv/AVIC. Linux:
//! `kvm_guest_apic_eoi_write` in `arch/x86/kernel/kvm.c`.
use crate::arch::x86_64::kvm;
use crate::arch::x86_64::layout::KERNEL_VMA;
use core::sync::atomic::{AtomicU32, Ordering};
use pv_abi::MAX_CPUS;

/// Bit 0: the host will do this EOI.
const PENDING: u32 = 1;

/// The host writes each word only while its vCPU is not running, so the
/// vCPU's own atomic read-modify-write cannot race with it.
static WORDS: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];

/// Points the host at `cpu`'s word. Must run on that CPU, and only when
/// KVM offered PV_EOI. False if the word has no physical address.
pub fn register(cpu: usize) -> bool {
    let Some(word) = WORDS.get(cpu) else { return false };
    // Statics live in the kernel image, linked at `KERNEL_VMA + phys`.
    let Some(gpa) = (word.as_ptr() as u64).checked_sub(KERNEL_VMA) else { return false };
    // The caller checked that PV_EOI is offered.
    // SAFETY: the word is this CPU's own aligned static, used for nothing else.
    unsafe { kvm::set_pv_eoi(Some(gpa)) };
    true
}

/// Whether the host takes care of this interrupt's EOI (and so the APIC
/// write can be skipped); clears the flag either way.
#[inline]
pub fn host_does_eoi(cpu: usize) -> bool {
    WORDS.get(cpu).is_some_and(|w| w.fetch_and(!PENDING, Ordering::Relaxed) & PENDING != 0)
}
