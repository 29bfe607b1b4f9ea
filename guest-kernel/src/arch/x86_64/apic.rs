//! Local APIC: x2APIC through MSRs when the CPU offers it, else xAPIC
//! through MMIO. Holds the EOI seam (`eoi`) that paravirtual EOI will use.
use super::cpuid;
use super::layout::DIRECT_MAP_BASE;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use x86_64::registers::model_specific::Msr;

const IA32_APIC_BASE: u32 = 0x1b;
const IA32_TSC_DEADLINE: u32 = 0x6e0;
const APIC_BASE_ENABLE: u64 = 1 << 11;
const APIC_BASE_X2APIC: u64 = 1 << 10;
const XAPIC_DEFAULT_PADDR: u64 = 0xfee0_0000;

/// Register offsets in xAPIC MMIO terms; x2APIC MSR = 0x800 + offset / 16.
mod reg {
    pub const ID: u32 = 0x20;
    pub const TPR: u32 = 0x80;
    pub const EOI: u32 = 0xb0;
    pub const SVR: u32 = 0xf0;
    pub const ICR_LOW: u32 = 0x300;
    pub const ICR_HIGH: u32 = 0x310;
    pub const LVT_TIMER: u32 = 0x320;
    pub const TIMER_INIT: u32 = 0x380;
    pub const TIMER_CURRENT: u32 = 0x390;
    pub const TIMER_DIV: u32 = 0x3e0;
}

const ICR_INIT: u32 = 0x500;
const ICR_STARTUP: u32 = 0x600;
const ICR_LEVEL_ASSERT: u32 = 1 << 14;
const ICR_DELIVERY_PENDING: u32 = 1 << 12;
const LVT_MASKED: u32 = 1 << 16;
const LVT_TSC_DEADLINE: u32 = 0b10 << 17;

static X2APIC: AtomicBool = AtomicBool::new(false);
static TSC_DEADLINE: AtomicBool = AtomicBool::new(false);
static XAPIC_VBASE: AtomicU64 = AtomicU64::new(0);

fn read(off: u32) -> u32 {
    if X2APIC.load(Ordering::Relaxed) {
        // SAFETY: reading an x2APIC register MSR has no side effects we rely on.
        unsafe { Msr::new(0x800 + off / 16).read() as u32 }
    } else {
        let p = (XAPIC_VBASE.load(Ordering::Relaxed) + u64::from(off)) as *const u32;
        // SAFETY: the xAPIC page is mapped in the direct map; registers are 32-bit aligned.
        unsafe { p.read_volatile() }
    }
}

fn write(off: u32, value: u32) {
    if X2APIC.load(Ordering::Relaxed) {
        // SAFETY: writes to x2APIC MSRs affect only interrupt delivery.
        unsafe { Msr::new(0x800 + off / 16).write(u64::from(value)) }
    } else {
        let p = (XAPIC_VBASE.load(Ordering::Relaxed) + u64::from(off)) as *mut u32;
        // SAFETY: as for `read`.
        unsafe { p.write_volatile(value) }
    }
}

/// Enables the calling CPU's local APIC. The boot CPU's call chooses the
/// mode for all CPUs.
pub fn init_cpu(boot_cpu: bool, spurious_vector: u8) {
    let mut base_msr = Msr::new(IA32_APIC_BASE);
    if boot_cpu {
        X2APIC.store(cpuid::has_x2apic(), Ordering::Relaxed);
        TSC_DEADLINE.store(cpuid::has_tsc_deadline(), Ordering::Relaxed);
    }
    // The IDT handles every vector the APIC may deliver.
    // SAFETY: enabling the APIC (and x2APIC mode if the CPU has it) is the architected sequence.
    unsafe {
        let base = base_msr.read();
        if boot_cpu && XAPIC_VBASE.load(Ordering::Relaxed) == 0 {
            // No uncached mapping was given: the direct map (fine under
            // emulation, where every access traps anyway).
            XAPIC_VBASE.store(DIRECT_MAP_BASE + (base & 0xf_ffff_f000), Ordering::Relaxed);
        }
        let mut want = base | APIC_BASE_ENABLE;
        if X2APIC.load(Ordering::Relaxed) {
            want |= APIC_BASE_X2APIC;
        }
        if want != base {
            base_msr.write(want);
        }
    }
    write(reg::TPR, 0);
    write(reg::SVR, 0x100 | u32::from(spurious_vector));
    write(reg::LVT_TIMER, LVT_MASKED);
}

/// Physical address of the xAPIC register page (from IA32_APIC_BASE).
pub fn mmio_paddr() -> u64 {
    // SAFETY: reading IA32_APIC_BASE has no side effects.
    let base = unsafe { Msr::new(IA32_APIC_BASE).read() } & 0xf_ffff_f000;
    if base == 0 {
        XAPIC_DEFAULT_PADDR
    } else {
        base
    }
}

/// Uses `vbase`, an uncached mapping of [`mmio_paddr`], for xAPIC register
/// access on every CPU. Call before the boot CPU's [`init_cpu`].
pub fn set_mmio_base(vbase: u64) {
    XAPIC_VBASE.store(vbase, Ordering::Relaxed);
}

pub fn is_x2apic() -> bool {
    X2APIC.load(Ordering::Relaxed)
}

pub fn has_tsc_deadline() -> bool {
    TSC_DEADLINE.load(Ordering::Relaxed)
}

pub fn id() -> u32 {
    if is_x2apic() {
        read(reg::ID)
    } else {
        read(reg::ID) >> 24
    }
}

/// Signals end of interrupt. The one place PV EOI will short-circuit.
pub fn eoi() {
    write(reg::EOI, 0);
}

fn send_icr(dest: u32, low: u32) {
    if is_x2apic() {
        // SAFETY: an ICR write sends an IPI; the vectors are handled.
        unsafe { Msr::new(0x830).write((u64::from(dest) << 32) | u64::from(low)) }
    } else {
        write(reg::ICR_HIGH, dest << 24);
        write(reg::ICR_LOW, low);
        while read(reg::ICR_LOW) & ICR_DELIVERY_PENDING != 0 {
            core::hint::spin_loop();
        }
    }
}

/// Sends a fixed-delivery IPI with `vector` to the CPU with `apic_id`.
pub fn send_ipi(apic_id: u32, vector: u8) {
    send_icr(apic_id, u32::from(vector) | ICR_LEVEL_ASSERT);
}

pub fn send_init(apic_id: u32) {
    send_icr(apic_id, ICR_INIT | ICR_LEVEL_ASSERT);
}

/// Start-up IPI: the AP starts in real mode at `page << 12`.
pub fn send_startup(apic_id: u32, page: u8) {
    send_icr(apic_id, ICR_STARTUP | u32::from(page));
}

/// Arms the timer in TSC-deadline mode: `vector` fires once the TSC reaches
/// `tsc` (at least 1: 0 would disarm). Replaces any earlier arm.
pub fn arm_tsc_deadline(vector: u8, tsc: u64) {
    write(reg::LVT_TIMER, u32::from(vector) | LVT_TSC_DEADLINE);
    // SAFETY: arming the TSC deadline only schedules a timer interrupt.
    unsafe { Msr::new(IA32_TSC_DEADLINE).write(tsc.max(1)) }
}

/// Arms the timer in one-shot mode: `vector` fires after `ticks` bus
/// cycles at divide-by-1. Replaces any earlier arm.
pub fn arm_oneshot(vector: u8, ticks: u32) {
    write(reg::TIMER_DIV, 0b1011); // divide by 1
    write(reg::LVT_TIMER, u32::from(vector));
    write(reg::TIMER_INIT, ticks.max(1));
}

/// Lets the timer count down from its maximum, masked, at divide-by-1
/// (a free-running reference for clock calibration).
pub fn timer_free_run_start() {
    write(reg::TIMER_DIV, 0b1011);
    write(reg::LVT_TIMER, LVT_MASKED);
    write(reg::TIMER_INIT, u32::MAX);
}

pub fn timer_current_count() -> u32 {
    read(reg::TIMER_CURRENT)
}

pub fn timer_free_run_stop() {
    write(reg::TIMER_INIT, 0);
}
