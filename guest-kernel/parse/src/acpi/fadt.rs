//! The FADT fields the kernel needs: flags, DSDT address, PM timer, sleep
//! and reset registers. Fields past the table's length (older, shorter
//! revisions) read as absent.
use super::error::{AcpiError, Sig};
use super::gas::{self, Gas};
use super::PmTimerInfo;
use crate::{le, PhysMem};

/// The ACPI 1.0 FADT ends with the flags field.
const MIN_LEN: usize = 116;

// Offsets (ACPI 6.5 table 5.9).
const DSDT: usize = 40;
const SCI_INT: usize = 46;
const PM1A_CNT_BLK: usize = 64;
const PM1B_CNT_BLK: usize = 68;
const PM_TMR_BLK: usize = 76;
const FLAGS: usize = 112;
const RESET_REG: usize = 116;
const RESET_VALUE: usize = 128;
const X_DSDT: usize = 140;
const X_PM1A_CNT_BLK: usize = 172;
const X_PM1B_CNT_BLK: usize = 184;
const X_PM_TMR_BLK: usize = 208;
const SLEEP_CONTROL_REG: usize = 244;

const TMR_VAL_EXT: u32 = 1 << 8;
const RESET_REG_SUP: u32 = 1 << 10;
const HW_REDUCED_ACPI: u32 = 1 << 20;

/// Where SLP_TYP/SLP_EN are written to enter a sleep state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SleepRegs {
    /// HW-reduced ACPI: one 8-bit sleep control register.
    SleepControl(Gas),
    /// Fixed hardware: PM1a (and optional PM1b) control, 16 bits.
    Pm1 { a: Gas, b: Option<Gas> },
}

#[derive(Clone, Copy, Debug)]
pub struct Fadt {
    pub hw_reduced: bool,
    pub sci_irq: u16,
    pub dsdt: Option<u64>,
    pub pm_timer: Option<PmTimerInfo>,
    pub sleep: Option<SleepRegs>,
    pub reset: Option<(Gas, u8)>,
}

/// Decodes a checksummed FADT.
/// MMIO registers must lie in `mem` (see [`Gas::parse`]).
pub fn parse<'a>(mem: &impl PhysMem<'a>, table: &[u8], paddr: u64) -> Result<Fadt, AcpiError> {
    if table.len() < MIN_LEN {
        return Err(AcpiError::BadLength { what: Sig::FADT, paddr, len: table.len() as u64 });
    }
    let flags = le::u32_at(table, FLAGS).unwrap_or(0);
    let hw_reduced = flags & HW_REDUCED_ACPI != 0;
    let gas_at = |off: usize| table.get(off..off + gas::LEN).and_then(|raw| Gas::parse(raw, mem));
    let nonzero = |v: u64| (v != 0).then_some(v);

    // The 64-bit X_ field wins when set (ACPI 6.5 5.2.9).
    let dsdt = le::u64_at(table, X_DSDT)
        .and_then(nonzero)
        .or_else(|| le::u32_at(table, DSDT).map(u64::from).and_then(nonzero));

    let pm_timer = pm_timer_port(table).map(|port| PmTimerInfo { port, bits32: flags & TMR_VAL_EXT != 0 });

    let sleep = if hw_reduced {
        gas_at(SLEEP_CONTROL_REG).map(SleepRegs::SleepControl)
    } else {
        let legacy = |off: usize| {
            let port = le::u32_at(table, off).and_then(|p| u16::try_from(p).ok())?;
            Gas::io(port, 2)
        };
        let a = gas_at(X_PM1A_CNT_BLK).or_else(|| legacy(PM1A_CNT_BLK));
        let b = gas_at(X_PM1B_CNT_BLK).or_else(|| legacy(PM1B_CNT_BLK));
        a.map(|a| SleepRegs::Pm1 { a, b })
    };

    let reset = if flags & RESET_REG_SUP != 0 { gas_at(RESET_REG).zip(le::u8_at(table, RESET_VALUE)) } else { None };

    Ok(Fadt { hw_reduced, sci_irq: le::u16_at(table, SCI_INT).unwrap_or(0), dsdt, pm_timer, sleep, reset })
}

/// The PM timer's I/O port: X_PM_TMR_BLK if set, else PM_TMR_BLK. A timer in
/// memory space is not supported (no VMM we target has one).
fn pm_timer_port(table: &[u8]) -> Option<u16> {
    let x = table.get(X_PM_TMR_BLK..X_PM_TMR_BLK + gas::LEN);
    let x_addr = x.and_then(|g| le::u64_at(g, 4)).unwrap_or(0);
    let port = if x_addr != 0 {
        // SystemIO only.
        if x.and_then(|g| le::u8_at(g, 0)) != Some(1) {
            return None;
        }
        x_addr
    } else {
        le::u32_at(table, PM_TMR_BLK).unwrap_or(0).into()
    };
    // The timer is a 4-byte register.
    u16::try_from(port).ok().filter(|&p| p != 0 && p <= 0xFFFC)
}
