//! ACPI: the tables a VMM describes (CPUs, interrupt controllers, PM timer,
//! S5 and reset registers, PCIe ECAM windows), parsed once at boot by
//! `vireo_parse::acpi` over the direct map, and the registers they name.
//!
//! Tables are read only through `mm::phys::bytes`; registers are written
//! through [`gas::GasWrite`].
pub mod gas;
mod sleep;
pub mod selftest;

use crate::mm::phys::Phys;
use spin::Once;

pub use sleep::power_off;
// The parsed description, under the names the rest of the kernel uses.
#[allow(unused_imports)]
pub use vireo_parse::acpi::{
    AcpiError, AcpiInfo, Gas, IoApic, IrqOverride, LocalApic, McfgEntry, PmTimerInfo, Polarity, ResetReg, Sig, SleepS5,
    Trigger, MAX_CPUS,
};

static ACPI: Once<AcpiInfo> = Once::new();

/// Finds and parses the tables once; later calls return the first result.
/// With `rsdp_paddr` None (Firecracker) the BIOS area is scanned.
pub fn init(rsdp_paddr: Option<u64>) -> Result<&'static AcpiInfo, AcpiError> {
    if let Some(info) = ACPI.get() {
        return Ok(info);
    }
    let mut info = AcpiInfo::EMPTY;
    vireo_parse::acpi::parse(&Phys, rsdp_paddr, &mut info)?;
    Ok(ACPI.call_once(|| info))
}

/// The parsed tables, once [`init`] has succeeded.
pub fn info() -> Option<&'static AcpiInfo> {
    ACPI.get()
}
