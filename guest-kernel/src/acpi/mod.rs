//! ACPI: the tables a VMM describes (CPUs, interrupt controllers, PM timer,
//! S5 and reset registers, PCIe ECAM windows), parsed once at boot by
//! `vireo_parse::acpi` over the direct map, and the registers they name.
//!
//! Tables are read only through `mm::phys::bytes`; registers are written
//! through [`gas::GasWrite`].
pub mod gas;
pub mod selftest;
mod sleep;
mod tables;

pub use sleep::{power_off, reset};
pub use tables::{info, init};
// The parsed description, under the names the rest of the kernel uses.
#[allow(unused_imports)]
pub use vireo_parse::acpi::{
    AcpiError, AcpiInfo, Gas, IoApic, IrqOverride, LocalApic, McfgEntry, PmTimerInfo, Polarity, ResetReg, Sig, SleepS5,
    Trigger, MAX_CPUS,
};
