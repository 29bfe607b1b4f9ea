//! How the kernel's lock (`crate::sync::SpinLock`) halts its waiters and
//! kicks them: KVM_HC_KICK_CPU when the host offers PV_UNHALT (a kicked vCPU
//! leaves `hlt` even with interrupts off, and a kick that comes before the
//! `hlt` still ends it), else the wake-up IPI, which can only end a halt
//! taken with interrupts on; with interrupts off, waiters then spin. Linux:
//! `kvm_wait` and `kvm_kick_cpu` in `arch/x86/kernel/kvm.c`.
use crate::arch::x86_64::{apic, kvm, trap::vector};
use crate::percpu;
use crate::sync::SlowPath;
use core::sync::atomic::{AtomicU32, Ordering};
use pv_abi::kvm_para::hypercall;
use pv_abi::MAX_CPUS;
use x86_64::instructions::interrupts;

/// KVM_HC_KICK_CPU and halting with interrupts off.
pub static KICK: SlowPath = SlowPath { cpu: percpu::index, cpus: all_cpus, wait: wait_unhalt, kick: kick_hypercall };
/// The wake-up IPI; halting only with interrupts on.
pub static IPI: SlowPath = SlowPath { cpu: percpu::index, cpus: all_cpus, wait: wait_ipi, kick: kick_ipi };

fn all_cpus() -> usize {
    MAX_CPUS
}

/// Halts with interrupts as they were; with them on, `sti; hlt` after the
/// last look so that no interrupt (or IPI kick) falls between the two.
fn halt_unless(word: &AtomicU32, value: u32) {
    let on = interrupts::are_enabled();
    interrupts::disable();
    if word.load(Ordering::SeqCst) != value {
        if on {
            interrupts::enable_and_hlt();
            return;
        }
        x86_64::instructions::hlt();
    }
    if on {
        interrupts::enable();
    }
}

fn wait_unhalt(word: &AtomicU32, value: u32) -> bool {
    halt_unless(word, value);
    true
}

fn wait_ipi(word: &AtomicU32, value: u32) -> bool {
    if !interrupts::are_enabled() {
        return false;
    }
    halt_unless(word, value);
    true
}

fn kick_hypercall(cpu: usize) {
    if let Some(c) = percpu::get(cpu) {
        // SAFETY: this path is installed only when KVM offers PV_UNHALT.
        unsafe { kvm::hypercall(hypercall::KICK_CPU, 0, u64::from(c.apic_id), 0, 0) };
    }
}

fn kick_ipi(cpu: usize) {
    if let Some(c) = percpu::get(cpu) {
        apic::send_ipi(c.apic_id, vector::IPI_WAKE);
    }
}
