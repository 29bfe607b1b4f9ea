//! Interrupt lines (GSIs) through the IOAPICs the MADT lists: their
//! registers are mapped uncached here, and ISA IRQs are resolved to GSIs
//! with the MADT's overrides.
use crate::acpi::{AcpiInfo, Polarity, Trigger};
use crate::arch::x86_64::ioapic::{self, RouteError};

/// Maps every IOAPIC uncached and hands them to the arch driver.
pub fn init(acpi: &AcpiInfo) {
    let mapped = acpi.ioapics().iter().filter_map(|io| match crate::mm::paging::map_mmio(io.paddr, 4096) {
        Ok(va) => Some((va, io.gsi_base)),
        Err(e) => {
            kprintln!("ioapic: cannot map {:#x}: {e:?}", io.paddr);
            None
        }
    });
    // SAFETY: each mapping covers that IOAPIC's register window and is never unmapped.
    unsafe { ioapic::init(mapped) };
}

/// Routes ISA IRQ `irq` (after MADT overrides) to `vector` on `apic_id`;
/// returns its GSI.
pub fn route_isa_irq(acpi: &AcpiInfo, irq: u8, vector: u8, apic_id: u32) -> Result<u32, RouteError> {
    let (gsi, o) = acpi.isa_irq(irq);
    // ISA defaults: edge-triggered, active high.
    let level = o.is_some_and(|o| o.trigger() == Trigger::Level);
    let active_low = o.is_some_and(|o| o.polarity() == Polarity::ActiveLow);
    ioapic::route_gsi(gsi, vector, apic_id, level, active_low)?;
    Ok(gsi)
}
