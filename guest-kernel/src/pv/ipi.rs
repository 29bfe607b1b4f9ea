//! IPIs to many CPUs in one exit (KVM_HC_SEND_IPI, PV_SEND_IPI), and
//! yielding to a preempted vCPU one waits for (KVM_HC_SCHED_YIELD,
//! PV_SCHED_YIELD). Linux: `kvm_send_ipi_mask` and
//! `kvm_smp_send_call_func_ipi` in `arch/x86/kernel/kvm.c`.
use crate::arch::x86_64::{apic, kvm};
use crate::percpu::{self, MAX_CPUS};
use pv_abi::kvm_para::hypercall;

/// One hypercall covers APIC IDs `min..min + 128` (two 64-bit bitmaps).
const CLUSTER: u32 = 128;
/// ICR delivery mode "fixed" (0) with the vector in bits 0-7.
const ICR_FIXED: u64 = 0;

/// Sends `vector` to every CPU in `mask` (bit i: CPU index i) with as few
/// hypercalls as the APIC IDs allow; falls back to one IPI per CPU if the
/// host refuses.
pub fn send_many(mask: u64, vector: u8) {
    let mut min = 0u32;
    let mut bits = [0u64; 2];
    let mut batch = 0u64;
    for i in (0..MAX_CPUS).filter(|i| mask & (1 << i) != 0) {
        let Some(c) = percpu::get(i) else { continue };
        if batch != 0 && !(min..min + CLUSTER).contains(&c.apic_id) {
            flush(min, bits, batch, vector);
            (bits, batch) = ([0; 2], 0);
        }
        if batch == 0 {
            min = c.apic_id;
        }
        let off = c.apic_id - min;
        bits[(off / 64) as usize] |= 1 << (off % 64);
        batch |= 1 << i;
    }
    if batch != 0 {
        flush(min, bits, batch, vector);
    }
}

fn flush(min: u32, bits: [u64; 2], batch: u64, vector: u8) {
    let icr = ICR_FIXED | u64::from(vector);
    // SAFETY: called only when KVM offers PV_SEND_IPI.
    let r = unsafe { kvm::hypercall(hypercall::SEND_IPI, bits[0], bits[1], u64::from(min), icr) };
    if r < 0 {
        for i in (0..MAX_CPUS).filter(|i| batch & (1 << i) != 0) {
            if let Some(c) = percpu::get(i) {
                apic::send_ipi(c.apic_id, vector);
            }
        }
    }
}

/// Gives the calling vCPU's time to `cpu`'s vCPU (which the host preempted).
pub fn yield_to(cpu: usize) {
    if let Some(c) = percpu::get(cpu) {
        // SAFETY: called only when KVM offers PV_SCHED_YIELD.
        unsafe { kvm::hypercall(hypercall::SCHED_YIELD, u64::from(c.apic_id), 0, 0, 0) };
    }
}
