//! The tables, parsed once. A leaf, so the register code in `power.rs` reads
//! them without depending on the ACPI layer that re-exports it.
use crate::mm::phys::Phys;
use spin::Once;
use vireo_parse::acpi::{AcpiError, AcpiInfo};

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
