//! What each vCPU was doing when the run timed out: one line per vCPU on
//! stderr, so that a hung guest says where it hung (a vCPU halted with its
//! APIC timer unarmed and interrupts on is a lost wake-up; one spinning at
//! one RIP is a livelock). The RIPs resolve against the kernel ELF with
//! `addr2line -e build/kernel.elf`. A last line gives the IOAPIC pins in
//! use, so an interrupt line stuck "awaiting EOI" (remote IRR) shows too.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use kvm_bindings::kvm_lapic_state;
use kvm_ioctls::{VcpuFd, VmFd};

use crate::ioapic::{self, RTE_LEVEL, RTE_MASKED, RTE_REMOTE_IRR, RTE_VECTOR};

/// Each vCPU's line, by vCPU id.
static LINES: Mutex<BTreeMap<u64, String>> = Mutex::new(BTreeMap::new());
/// The VM, for its IOAPIC.
static VM: OnceLock<Arc<VmFd>> = OnceLock::new();
/// How long vCPU 0 waits for the others' lines.
const GATHER: Duration = Duration::from_millis(200);

/// Local APIC register offsets (Intel SDM vol. 3, table 11-1).
const TPR: usize = 0x80;
const ISR: usize = 0x100;
const IRR: usize = 0x200;
const LVT_TIMER: usize = 0x320;
const TIMER_INITIAL: usize = 0x380;
const TIMER_CURRENT: usize = 0x390;
/// LVT mask bit.
const MASKED: u32 = 1 << 16;
/// RFLAGS.IF.
const IF: u64 = 1 << 9;

fn reg(lapic: &kvm_lapic_state, offset: usize) -> u32 {
    let b = |i: usize| lapic.regs[offset + i] as u8;
    u32::from_le_bytes([b(0), b(1), b(2), b(3)])
}

/// The highest vector set in an ISR/IRR-style 256-bit register, if any.
fn highest(lapic: &kvm_lapic_state, base: usize) -> Option<u32> {
    (0..8u32).rev().find_map(|i| {
        let word = reg(lapic, base + 0x10 * i as usize);
        (word != 0).then(|| i * 32 + 31 - word.leading_zeros())
    })
}

fn vector(v: Option<u32>) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:#x}"))
}

fn mp_state_name(state: u32) -> &'static str {
    match state {
        kvm_bindings::KVM_MP_STATE_RUNNABLE => "runnable",
        kvm_bindings::KVM_MP_STATE_UNINITIALIZED => "uninitialized",
        kvm_bindings::KVM_MP_STATE_INIT_RECEIVED => "init-received",
        kvm_bindings::KVM_MP_STATE_HALTED => "halted",
        kvm_bindings::KVM_MP_STATE_SIPI_RECEIVED => "sipi-received",
        _ => "other",
    }
}

/// The VM whose IOAPIC [`ioapic`] describes.
pub fn watch(vm: Arc<VmFd>) {
    let _ = VM.set(vm);
}

/// One line with every IOAPIC pin that has a vector: pin, vector, level or
/// edge, and `masked`, `remote-irr` (delivered, awaiting EOI), `irr` (line
/// asserted) when set; `None` when the guest routed none.
pub fn ioapic() -> Option<String> {
    let vm = VM.get()?;
    let mut chip = kvm_bindings::kvm_irqchip { chip_id: kvm_bindings::KVM_IRQCHIP_IOAPIC, ..Default::default() };
    vm.get_irqchip(&mut chip).ok()?;
    let (entries, irr) = ioapic::entries(&chip)?;
    entries.iter().any(|&b| b & RTE_VECTOR != 0).then(|| describe_ioapic(irr, &entries))
}

fn describe_ioapic(irr: u32, entries: &[u64]) -> String {
    let mut s = "IOAPIC at timeout:".to_string();
    for (pin, &bits) in entries.iter().enumerate() {
        if bits & RTE_VECTOR == 0 {
            continue;
        }
        let trigger = if bits & RTE_LEVEL != 0 { "level" } else { "edge" };
        s += &format!(" pin {pin} vector {:#x} {trigger}", bits & RTE_VECTOR);
        let flags = [
            (bits & RTE_MASKED != 0, "masked"),
            (bits & RTE_REMOTE_IRR != 0, "remote-irr"),
            (irr & (1 << pin) != 0, "irr"),
        ];
        for (_, name) in flags.iter().filter(|(set, _)| *set) {
            s += &format!(" {name}");
        }
        s.push(';');
    }
    s
}

/// Record this vCPU's line for [`gather`].
pub fn record(id: u64, fd: &VcpuFd) {
    let line = describe(id, fd);
    LINES.lock().unwrap_or_else(|e| e.into_inner()).insert(id, line);
}

/// Wait (up to 200 ms) until `count` vCPUs have recorded their lines, and
/// return them in vCPU order, one per line.
pub fn gather(count: usize) -> String {
    let start = Instant::now();
    loop {
        let lines = LINES.lock().unwrap_or_else(|e| e.into_inner());
        if lines.len() >= count || start.elapsed() >= GATHER {
            return lines.values().cloned().collect::<Vec<_>>().join("\nvmm-harness: ");
        }
        drop(lines);
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// One line describing `fd`'s state; parts KVM would not give are left out.
pub fn describe(id: u64, fd: &VcpuFd) -> String {
    let mut s = format!("vCPU {id} at timeout:");
    if let Ok(mp) = fd.get_mp_state() {
        s += &format!(" {}", mp_state_name(mp.mp_state));
    }
    if let Ok(r) = fd.get_regs() {
        let irq = if r.rflags & IF != 0 { "on" } else { "off" };
        s += &format!(" rip {:#x} rsp {:#x} interrupts {irq}", r.rip, r.rsp);
    }
    if let Ok(sr) = fd.get_sregs() {
        s += &format!(" cr3 {:#x}", sr.cr3);
    }
    if let Ok(l) = fd.get_lapic() {
        let lvt = reg(&l, LVT_TIMER);
        let timer = if lvt & MASKED != 0 { "masked".to_string() } else { format!("vector {:#x}", lvt & 0xff) };
        s += &format!(
            "; apic tpr {:#x} isr {} irr {} timer {timer} mode {} initial {} current {}",
            reg(&l, TPR),
            vector(highest(&l, ISR)),
            vector(highest(&l, IRR)),
            (lvt >> 17) & 3,
            reg(&l, TIMER_INITIAL),
            reg(&l, TIMER_CURRENT),
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lapic_with(offset: usize, value: u32) -> kvm_lapic_state {
        let mut l = kvm_lapic_state::default();
        for (i, b) in value.to_le_bytes().iter().enumerate() {
            l.regs[offset + i] = *b as _;
        }
        l
    }

    #[test]
    fn highest_vector_of_a_bitmap() {
        assert_eq!(highest(&kvm_lapic_state::default(), IRR), None);
        assert_eq!(highest(&lapic_with(IRR + 0x10 * 7, 1 << 31), IRR), Some(0xff));
        assert_eq!(highest(&lapic_with(IRR + 0x10, 0b101), IRR), Some(34));
    }

    #[test]
    fn ioapic_line_names_the_pins_in_use() {
        let mut e = [0u64; 24];
        e[4] = 0x24 | 1 << 16;
        e[5] = 0x25 | 1 << 15 | 1 << 14;
        assert_eq!(
            describe_ioapic(1 << 5, &e),
            "IOAPIC at timeout: pin 4 vector 0x24 edge masked; pin 5 vector 0x25 level remote-irr irr;"
        );
    }

    #[test]
    fn register_is_little_endian() {
        assert_eq!(reg(&lapic_with(TIMER_INITIAL, 0x1234_5678), TIMER_INITIAL), 0x1234_5678);
    }
}
