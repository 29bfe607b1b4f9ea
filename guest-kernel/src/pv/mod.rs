//! Paravirtual features: which are in use, decided once on the boot CPU and
//! set up on every CPU as it comes up (docs/paravirt.md).
//!
//! Each is used only when the host offers it in CPUID 0x4000_0001 and can be
//! turned off with `nopv=` (`steal`, `eoi`, `spin`, `yield`, `tlb`, `ipi`,
//! `poll`, `all`; a bare `nopv` is `nopv=all`), so its effect can be measured.
//! The boot log gets one line, `pv: <features in use>` or `pv: none`.
//! A hypercall is made only for a feature the host offers: on kvm-pvm any
//! hypercall hangs the vCPU, and vmm-harness hides those features there.
mod eoi;
mod ipi;
mod lock;
pub mod policy;
pub mod selftest;
mod steal;

use crate::arch::x86_64::{apic, cpuid, kvm};
use crate::boot::cmdline::Cmdline;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use pv_abi::kvm_para::{feature, has};

/// Bits of [`IN_USE`], in the order the `pv:` line names them.
const KVMCLOCK: u32 = 1 << 0;
const STEAL_TIME: u32 = 1 << 1;
/// The guest polls its run queue before `hlt` (no host support needed).
const HALT_POLL: u32 = 1 << 2;
/// The host was told not to poll as well (MSR_KVM_POLL_CONTROL = 0).
const POLL_CONTROL: u32 = 1 << 3;
/// EOI skips the APIC write when the host says it may.
const PV_EOI: u32 = 1 << 4;
/// Lock waiters halt and are kicked with KVM_HC_KICK_CPU (PV_UNHALT).
const PV_SPINLOCK: u32 = 1 << 5;
/// Lock waiters halt (with interrupts on) and are kicked with an IPI
/// (`pv_spin=ipi`, hosts without PV_UNHALT).
const SPINLOCK_IPI: u32 = 1 << 6;
/// Waiting for a preempted vCPU yields to it (KVM_HC_SCHED_YIELD).
const PV_YIELD: u32 = 1 << 7;
/// Shootdowns skip preempted vCPUs; the host flushes them on entry.
const PV_TLB_FLUSH: u32 = 1 << 8;
/// IPIs to many CPUs take one hypercall (KVM_HC_SEND_IPI).
const PV_SEND_IPI: u32 = 1 << 9;
const NAMES: [(u32, &str); 10] = [
    (KVMCLOCK, "kvmclock"),
    (STEAL_TIME, "steal-time"),
    (PV_EOI, "pv-eoi"),
    (PV_SPINLOCK, "pv-spinlock"),
    (SPINLOCK_IPI, "spinlock-ipi"),
    (PV_YIELD, "pv-yield"),
    (PV_TLB_FLUSH, "pv-tlb-flush"),
    (PV_SEND_IPI, "pv-send-ipi"),
    (HALT_POLL, "halt-poll"),
    (POLL_CONTROL, "poll-control"),
];
/// `nopv=` words, for the line saying what it turned off.
const OFF_NAMES: [(u16, &str); 7] = [
    (policy::off::STEAL, "steal"),
    (policy::off::EOI, "eoi"),
    (policy::off::SPIN, "spin"),
    (policy::off::YIELD, "yield"),
    (policy::off::TLB, "tlb"),
    (policy::off::IPI, "ipi"),
    (policy::off::POLL, "poll"),
];

/// Written once on the boot CPU before the other CPUs start.
static IN_USE: AtomicU32 = AtomicU32::new(0);
/// The longest halt-polling window: `halt_poll_ns=` (Linux's
/// `guest_halt_poll_ns`), else [`policy::POLL_DEFAULTS`]'s.
static POLL_MAX_NS: AtomicU64 = AtomicU64::new(policy::POLL_DEFAULTS.max_ns);
/// No window longer than this (10 ms) is worth a halt's saving.
const POLL_MAX_LIMIT_NS: u64 = 10_000_000;

fn in_use(bit: u32) -> bool {
    IN_USE.load(Ordering::Relaxed) & bit != 0
}

/// What `nopv=` turns off (every such word counts; a bare `nopv` is `all`).
/// Reports unknown words once, on one line, and what was turned off.
fn nopv_mask(cmdline: &Cmdline) -> u16 {
    let mut unknown: Vec<&[u8]> = Vec::new();
    let mut mask = if cmdline.has_flag("nopv") { policy::off::ALL } else { 0 };
    let mut given = mask != 0;
    for value in cmdline.values("nopv") {
        given = true;
        mask |= policy::parse_nopv(value, &mut |w| {
            if !unknown.contains(&w) {
                unknown.push(w);
            }
        });
    }
    if !unknown.is_empty() {
        kprint!("nopv: ignoring unknown word{}", if unknown.len() == 1 { "" } else { "s" });
        for (i, w) in unknown.iter().enumerate() {
            kprint!("{}\"", if i == 0 { " " } else { ", " });
            crate::console::write_bytes(w);
            kprint!("\"");
        }
        kprintln!(" (known: steal eoi spin yield tlb ipi poll all)");
    }
    if given {
        kprint!("nopv: off:");
        OFF_NAMES.iter().filter(|(b, _)| mask & b != 0).for_each(|(_, n)| kprint!(" {n}"));
        kprintln!("{}", if mask == 0 { " nothing" } else { "" });
    }
    mask
}

/// The steal self-test's busy and rest times in ms (`pv_busy_ms=`,
/// `pv_rest_ms=`, at most a minute), read here with the other options.
static SELFTEST_MS: [AtomicU64; 2] = [AtomicU64::new(100), AtomicU64::new(0)];

pub fn selftest_ms() -> (u64, u64) {
    (SELFTEST_MS[0].load(Ordering::Relaxed), SELFTEST_MS[1].load(Ordering::Relaxed))
}

/// The lock self-test's acquisitions per CPU (`pv_lock_iters=`, 1..=100000):
/// the overcommit benchmark makes it smaller, since without the slow path
/// its time grows steeply with the vCPUs sharing a host CPU.
static SELFTEST_LOCK_ITERS: AtomicU64 = AtomicU64::new(500);

pub fn selftest_lock_iters() -> u64 {
    SELFTEST_LOCK_ITERS.load(Ordering::Relaxed)
}

/// Decides what is in use, sets it up on the boot CPU (index 0) and prints
/// the `pv:` line. After the clock (`kvmclock`: it chose kvmclock) and
/// before the other CPUs start.
pub fn init_boot_cpu(cmdline: &Cmdline, kvmclock: bool) {
    for (slot, name) in SELFTEST_MS.iter().zip(["pv_busy_ms", "pv_rest_ms"]) {
        if let Some(ms) = cmdline.value(name).and_then(|v| v.parse::<u64>().ok()) {
            slot.store(ms.min(60_000), Ordering::Relaxed);
        }
    }
    if let Some(n) = cmdline.value("pv_lock_iters").and_then(|v| v.parse::<u64>().ok()) {
        SELFTEST_LOCK_ITERS.store(n.clamp(1, 100_000), Ordering::Relaxed);
    }
    let off = nopv_mask(cmdline);
    let kvm = cpuid::hypervisor_leaves().kvm_features;
    let mut bits = if kvmclock { KVMCLOCK } else { 0 };
    if let Some(f) = kvm {
        if has(f, feature::STEAL_TIME) && off & policy::off::STEAL == 0 {
            bits |= STEAL_TIME;
        }
        if has(f, feature::PV_EOI) && off & policy::off::EOI == 0 {
            bits |= PV_EOI;
        }
        if off & policy::off::SPIN == 0 {
            // Without PV_UNHALT only waiters with interrupts on could halt;
            // the rest would queue behind descheduled vCPUs in a fair lock,
            // which measured slower than the test-and-set fallback (docs/
            // paravirt.md), so the IPI-kicked lock is opt-in: `pv_spin=ipi`.
            if has(f, feature::PV_UNHALT) {
                bits |= PV_SPINLOCK;
            } else if cmdline.value("pv_spin") == Some("ipi") {
                bits |= SPINLOCK_IPI;
            }
        }
        // Both need the steal-time record's `preempted` byte.
        let steal_on = bits & STEAL_TIME != 0;
        if steal_on && has(f, feature::PV_SCHED_YIELD) && off & policy::off::YIELD == 0 {
            bits |= PV_YIELD;
        }
        if steal_on && has(f, feature::PV_TLB_FLUSH) && off & policy::off::TLB == 0 {
            bits |= PV_TLB_FLUSH;
        }
        if has(f, feature::PV_SEND_IPI) && off & policy::off::IPI == 0 {
            bits |= PV_SEND_IPI;
        }
        // Like Linux's cpuidle-haltpoll, only on KVM: elsewhere nothing
        // says a halt is expensive enough to be worth burning CPU for.
        if off & policy::off::POLL == 0 {
            bits |= HALT_POLL;
            if has(f, feature::POLL_CONTROL) {
                bits |= POLL_CONTROL;
            }
        }
    }
    if let Some(v) = cmdline.value("halt_poll_ns") {
        match v.parse::<u64>() {
            Ok(ns) if ns <= POLL_MAX_LIMIT_NS => POLL_MAX_NS.store(ns, Ordering::Relaxed),
            _ => kprintln!("halt_poll_ns={v}: ignored (want ns, at most {POLL_MAX_LIMIT_NS})"),
        }
    }
    if POLL_MAX_NS.load(Ordering::Relaxed) == 0 {
        bits &= !(HALT_POLL | POLL_CONTROL);
    }
    kvm::init_hypercalls(cpuid::is_amd());
    IN_USE.store(bits, Ordering::Relaxed);
    if let Err(e) = steal_register(0) {
        kprintln!("steal time: cpu 0: off: {e}");
        IN_USE.fetch_and(!(STEAL_TIME | PV_YIELD | PV_TLB_FLUSH), Ordering::Relaxed);
    }
    if in_use(PV_EOI) && !eoi::register(0) {
        IN_USE.fetch_and(!PV_EOI, Ordering::Relaxed);
    }
    setup_poll_control();
    if in_use(PV_SPINLOCK) {
        crate::sync::set_slow_path(&lock::KICK);
    } else if in_use(SPINLOCK_IPI) {
        crate::sync::set_slow_path(&lock::IPI);
    } else if cpuid::under_hypervisor() {
        // No halting waiters: fairness would make every waiter wait for
        // descheduled vCPUs (sync/spinlock.rs). No lock is held here: the
        // boot CPU runs alone and holds none.
        crate::sync::set_unfair(true);
    }
    let bits = IN_USE.load(Ordering::Relaxed);
    kinfo!("pv:");
    NAMES.iter().filter(|(b, _)| bits & b != 0).for_each(|(_, n)| kinfo!(" {n}"));
    kinfoln!("{}", if bits == 0 { " none" } else { "" });
}

fn steal_register(cpu: usize) -> Result<(), steal::StealError> {
    if in_use(STEAL_TIME) {
        steal::register(cpu)?;
    }
    Ok(())
}

fn setup_poll_control() {
    if in_use(POLL_CONTROL) {
        // SAFETY: POLL_CONTROL is only in use when KVM offered it.
        unsafe { kvm::set_host_halt_poll(false) };
    }
}

/// Per-CPU setup on an AP as it comes up (after [`init_boot_cpu`]).
pub fn init_ap(cpu: usize) {
    if let Err(e) = steal_register(cpu) {
        // The scheduler then sees no steal on this CPU: no worse than without.
        kprintln!("steal time: cpu {cpu}: off: {e}");
    }
    if in_use(PV_EOI) && !eoi::register(cpu) {
        kprintln!("pv-eoi: cpu {cpu}: no word for it");
    }
    setup_poll_control();
}

/// Signals the end of the current interrupt: nothing to do when the host
/// does it (PV EOI), else the APIC write.
#[inline]
pub fn eoi() {
    if in_use(PV_EOI) && eoi::host_does_eoi(crate::percpu::current().index) {
        return;
    }
    apic::eoi();
}

/// Sends `vector` to the CPUs in `mask` (bit i: CPU index i): one hypercall
/// under PV_SEND_IPI, else one IPI each.
pub fn send_ipi_many(mask: u64, vector: u8) {
    if in_use(PV_SEND_IPI) {
        ipi::send_many(mask, vector);
        return;
    }
    for c in (0..crate::percpu::MAX_CPUS).filter(|i| mask & (1 << i) != 0).filter_map(crate::percpu::get) {
        apic::send_ipi(c.apic_id, vector);
    }
}

/// For a TLB shootdown: true if `cpu`'s vCPU is preempted and the host will
/// flush its TLB before it runs again (so it needs no IPI).
pub fn flush_tlb_on_entry(cpu: usize) -> bool {
    in_use(PV_TLB_FLUSH) && steal::flush_on_entry(cpu)
}

/// Waiting for `cpu` (an IPI's answer): if the host preempted its vCPU,
/// give it our time. Returns whether it yielded.
pub fn yield_if_preempted(cpu: usize) -> bool {
    if in_use(PV_YIELD) && steal::is_preempted(cpu) {
        ipi::yield_to(cpu);
        return true;
    }
    false
}

/// Nanoseconds the host has stolen from `cpu` (0 without steal time).
#[inline]
pub fn steal_ns(cpu: usize) -> u64 {
    if !in_use(STEAL_TIME) {
        return 0;
    }
    steal::read(cpu).map_or(0, |s| s.steal_ns)
}

/// Whether idle CPUs poll before halting.
#[inline]
pub fn halt_poll() -> bool {
    in_use(HALT_POLL)
}

/// The halt-polling governor's limits (`halt_poll_ns=` sets the maximum).
#[inline]
pub fn poll_params() -> policy::PollParams {
    let max_ns = POLL_MAX_NS.load(Ordering::Relaxed);
    policy::PollParams {
        max_ns,
        grow_start_ns: policy::POLL_DEFAULTS.grow_start_ns.min(max_ns),
        ..policy::POLL_DEFAULTS
    }
}

pub fn steal_time_in_use() -> bool {
    in_use(STEAL_TIME)
}
