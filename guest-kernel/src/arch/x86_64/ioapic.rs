//! IOAPIC: routes device interrupt lines (GSIs) to vectors on a CPU.
use super::layout::DIRECT_MAP_BASE;
use crate::acpi::{AcpiInfo, Polarity, Trigger};
use alloc::vec::Vec;
use spin::Once;

static IOAPICS: Once<Vec<IoApic>> = Once::new();

/// Takes the IOAPICs from the MADT. Their lines start masked (reset state).
pub fn init(acpi: &AcpiInfo) {
    IOAPICS.call_once(|| {
        acpi.ioapics()
            .iter()
            // SAFETY: the MADT names these as IOAPIC MMIO bases; they lie
            // below 4 GiB, inside the direct map.
            .map(|io| unsafe { IoApic::new(io.paddr, io.gsi_base) })
            .collect()
    });
}

#[derive(Debug)]
pub enum RouteError {
    NoIoApic,
    NoLineForGsi(u32),
}

impl core::fmt::Display for RouteError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoIoApic => write!(f, "no IOAPIC (none in the MADT, or ACPI absent)"),
            Self::NoLineForGsi(g) => write!(f, "no IOAPIC line serves GSI {g}"),
        }
    }
}

/// Routes ISA IRQ `irq` (after MADT overrides) to `vector` on `apic_id`.
pub fn route_isa_irq(acpi: &AcpiInfo, irq: u8, vector: u8, apic_id: u32) -> Result<u32, RouteError> {
    let ioapics = IOAPICS.get().filter(|v| !v.is_empty()).ok_or(RouteError::NoIoApic)?;
    let (gsi, o) = acpi.isa_irq(irq);
    // ISA defaults: edge-triggered, active high.
    let level = o.is_some_and(|o| o.trigger() == Trigger::Level);
    let active_low = o.is_some_and(|o| o.polarity() == Polarity::ActiveLow);
    ioapics
        .iter()
        .any(|io| io.route(gsi, vector, apic_id, level, active_low))
        .then_some(gsi)
        .ok_or(RouteError::NoLineForGsi(gsi))
}

const IOREGSEL: u64 = 0x00;
const IOWIN: u64 = 0x10;
const REG_VERSION: u32 = 0x01;
const REG_REDIRECT_BASE: u32 = 0x10;
const LEVEL: u64 = 1 << 15;
const ACTIVE_LOW: u64 = 1 << 13;

pub struct IoApic {
    vbase: u64,
    pub gsi_base: u32,
    pub lines: u32,
}

impl IoApic {
    /// # Safety
    /// `paddr` must be the MMIO base of an IOAPIC (from the MADT) inside the direct map.
    pub unsafe fn new(paddr: u64, gsi_base: u32) -> Self {
        let mut io = Self { vbase: DIRECT_MAP_BASE + paddr, gsi_base, lines: 0 };
        io.lines = ((io.read(REG_VERSION) >> 16) & 0xff) + 1;
        io
    }

    fn read(&self, reg: u32) -> u32 {
        // SAFETY: the IOAPIC window registers are valid MMIO (constructor contract).
        unsafe {
            ((self.vbase + IOREGSEL) as *mut u32).write_volatile(reg);
            ((self.vbase + IOWIN) as *const u32).read_volatile()
        }
    }

    fn write(&self, reg: u32, value: u32) {
        // SAFETY: as for `read`.
        unsafe {
            ((self.vbase + IOREGSEL) as *mut u32).write_volatile(reg);
            ((self.vbase + IOWIN) as *mut u32).write_volatile(value);
        }
    }

    fn set_entry(&self, line: u32, entry: u64) {
        self.write(REG_REDIRECT_BASE + line * 2 + 1, (entry >> 32) as u32);
        self.write(REG_REDIRECT_BASE + line * 2, entry as u32);
    }

    /// Routes `gsi` to `vector` on the CPU with `apic_id` (physical destination).
    pub fn route(&self, gsi: u32, vector: u8, apic_id: u32, level: bool, active_low: bool) -> bool {
        let Some(line) = gsi.checked_sub(self.gsi_base).filter(|l| *l < self.lines) else {
            return false;
        };
        let mut entry = u64::from(vector) | (u64::from(apic_id & 0xff) << 56);
        if level {
            entry |= LEVEL;
        }
        if active_low {
            entry |= ACTIVE_LOW;
        }
        self.set_entry(line, entry);
        true
    }
}
