//! The in-kernel IOAPIC's state as KVM_GET_IRQCHIP gives it and
//! KVM_SET_IRQCHIP takes it: its redirection entries as plain `u64`s and
//! its line-asserted bits, for the restore (which settles them) and the
//! timeout postmortem (which prints them). One place reads the union.
use kvm_bindings::{kvm_irqchip, KVM_IRQCHIP_IOAPIC};

/// Redirection entry bits (82093AA datasheet, 3.2.4).
pub const RTE_VECTOR: u64 = 0xff;
pub const RTE_REMOTE_IRR: u64 = 1 << 14;
pub const RTE_LEVEL: u64 = 1 << 15;
pub const RTE_MASKED: u64 = 1 << 16;

/// The pins' redirection entries and the IOAPIC's IRR (line asserted, a
/// bit per pin); `None` when `chip` is not the IOAPIC.
pub fn entries(chip: &kvm_irqchip) -> Option<(Vec<u64>, u32)> {
    if chip.chip_id != KVM_IRQCHIP_IOAPIC {
        return None;
    }
    // For chip_id KVM_IRQCHIP_IOAPIC, KVM filled the `ioapic` member.
    // SAFETY: every field of it is a plain integer, valid for any bits.
    let io = unsafe { &chip.chip.ioapic };
    let bits = io.redirtbl.iter().map(|e| {
        // SAFETY: `bits` covers the whole entry; any value is valid.
        unsafe { e.bits }
    });
    Some((bits.collect(), io.irr))
}

/// Sets pin `pin`'s redirection entry (nothing for another chip or pin).
pub fn set_entry(chip: &mut kvm_irqchip, pin: usize, bits: u64) {
    if chip.chip_id != KVM_IRQCHIP_IOAPIC {
        return;
    }
    // SAFETY: the `ioapic` member of an IOAPIC chip; any bits are valid.
    if let Some(e) = unsafe { chip.chip.ioapic.redirtbl.get_mut(pin) } {
        e.bits = bits;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_written_read_back_and_other_chips_refused() {
        let mut chip = kvm_irqchip { chip_id: KVM_IRQCHIP_IOAPIC, ..Default::default() };
        set_entry(&mut chip, 5, 0x45 | RTE_LEVEL);
        set_entry(&mut chip, 99, 1);
        let (e, irr) = entries(&chip).unwrap();
        assert_eq!((e[5], e[4], irr), (0x45 | RTE_LEVEL, 0, 0));
        let mut pic = kvm_irqchip { chip_id: kvm_bindings::KVM_IRQCHIP_PIC_MASTER, ..Default::default() };
        set_entry(&mut pic, 5, 1);
        assert!(entries(&pic).is_none());
    }
}
