//! The ACPI fixed-hardware layout Cloud Hypervisor uses (HW-reduced FADT),
//! which vmm-harness reproduces. Guests still read the real addresses from
//! the FADT; these constants are for the VMM side and for tests.

/// Sleep control register (SystemIO, 8-bit); see `exit::CHV_SLEEP_S5`.
pub const SLEEP_CONTROL_PORT: u16 = crate::exit::CHV_SLEEP_PORT;
/// Sleep status register (SystemIO, 8-bit).
pub const SLEEP_STATUS_PORT: u16 = 0x601;
/// ACPI PM timer (FADT X_PM_TMR_BLK), 32-bit (TMR_VAL_EXT).
pub const PM_TIMER_PORT: u16 = 0x608;
/// The ACPI PM timer's fixed rate.
pub const PM_TIMER_HZ: u64 = 3_579_545;
