//! The whole ACPI walk (RSDP, XSDT/RSDT, FADT, MADT, MCFG, DSDT `_S5_`) over
//! an input standing for guest memory at 0xA0000, RSDP first.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vireo_parse::acpi::{parse, AcpiInfo};
use vireo_parse::testdata::ACPI_BASE;
use vireo_parse::SliceMem;

fuzz_target!(|data: &[u8]| {
    let mem = SliceMem { base: ACPI_BASE, bytes: data };
    let mut info = AcpiInfo::EMPTY;
    if parse(&mem, Some(ACPI_BASE), &mut info).is_ok() {
        assert!(info.cpus().len() <= vireo_parse::acpi::MAX_CPUS);
        // Display walks every field.
        let _ = format!("{info}");
    }
});
