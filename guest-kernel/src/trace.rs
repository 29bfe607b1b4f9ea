//! Boot-trace codes on the debug port (pv-abi `boot_trace`), and the boot
//! phase timestamps that `bootstat` prints.
use crate::arch::x86_64::port::outb;
use crate::sync::SpinLock;
use pv_abi::boot_trace;

const MAX_PHASES: usize = 16;

struct Phases {
    marks: [(&'static str, u64); MAX_PHASES],
    len: usize,
}

static PHASES: SpinLock<Phases> = SpinLock::new(Phases { marks: [("", 0); MAX_PHASES], len: 0 });

/// Writes a boot-trace code and records it as a phase.
pub fn mark(code: u8) {
    outb(boot_trace::PORT, code);
    phase(boot_trace::name(code).unwrap_or("trace code"));
}

/// Records the end of a boot phase.
pub fn phase(name: &'static str) {
    let tsc = crate::time::rdtsc();
    let mut p = PHASES.lock();
    if p.len < MAX_PHASES {
        let i = p.len;
        p.marks[i] = (name, tsc);
        p.len += 1;
    }
}

/// Prints each phase's TSC delta from the previous one and from PVH entry.
/// Under QEMU `-icount shift=0` TSC ticks are guest instructions.
pub fn print_bootstat(tsc_hz: u64) {
    let entry = crate::arch::x86_64::pvh_entry::entry_tsc();
    let p = PHASES.lock();
    kprintln!("bootstat: tsc {} Hz; phase, tsc delta, tsc since PVH entry, us since entry", tsc_hz);
    let mut prev = entry;
    for &(name, tsc) in &p.marks[..p.len] {
        let since = tsc.wrapping_sub(entry);
        let us = if tsc_hz == 0 { 0 } else { (u128::from(since) * 1_000_000 / u128::from(tsc_hz)) as u64 };
        kprintln!("bootstat: {name:<24} {:>10} {since:>10} {us:>8}", tsc.wrapping_sub(prev));
        prev = tsc;
    }
    kprintln!("bootstat: memory {:#}", crate::mm::stats());
    // Under -icount: the instructions before PVH entry (firmware), which a
    // user program's own TSC reading includes (make bench's std `main`).
    kprintln!("bootstat: PVH entry at tsc {entry}");
}
