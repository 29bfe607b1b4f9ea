//! Entering S5 and resetting through the registers the FADT names.
use super::gas::GasWrite;
use super::{info, SleepS5};

/// PM1 control: SLP_TYP in bits 12-10, SLP_EN bit 13 (ACPI 6.5 4.8.4.2.1).
pub const fn pm1_value(slp_typ: u8) -> u16 {
    ((slp_typ as u16 & 7) << 10) | (1 << 13)
}

/// HW-reduced sleep control: SLP_TYP in bits 4-2, SLP_EN bit 5 (ACPI 6.5 4.8.3.7).
pub const fn sleep_control_value(slp_typ: u8) -> u8 {
    ((slp_typ & 7) << 2) | (1 << 5)
}

/// Requests S5. Returns if there is nothing to write or the VMM has not
/// stopped us by the time the write completes; the caller then falls back.
pub fn power_off() {
    let Some(s5) = info().and_then(|i| i.sleep_s5) else {
        return;
    };
    match s5 {
        SleepS5::SleepControl { reg, slp_typ, .. } => reg.write(sleep_control_value(slp_typ).into()),
        SleepS5::Pm1 { a, b, slp_typ_a, slp_typ_b } => {
            // PM1a and PM1b form one logical register: both get their half.
            a.write(pm1_value(slp_typ_a).into());
            if let Some(b) = b {
                b.write(pm1_value(slp_typ_b).into());
            }
        }
    }
}

/// Writes the FADT reset value to the reset register, if the FADT offers
/// one. Returns if there is none or the VMM ignored it. Parsed and verified
/// at boot with the rest of the FADT; `poweroff::reboot` calls it.
pub fn reset() {
    if let Some(r) = info().and_then(|i| i.reset) {
        r.reg.write(r.value.into());
    }
}
