//! MCFG: PCIe ECAM windows, kept for the PCI driver.
use super::error::{AcpiError, Sig};
use super::{FixedVec, McfgEntry, MAX_MCFG};
use crate::le;

const ENTRIES: usize = 44;
const ENTRY_LEN: usize = 16;

/// Decodes a checksummed MCFG; returns how many entries did not fit.
pub fn parse(table: &[u8], paddr: u64, out: &mut FixedVec<McfgEntry, MAX_MCFG>) -> Result<usize, AcpiError> {
    let body = table.get(ENTRIES..).unwrap_or(&[]);
    if table.len() < ENTRIES || body.len() % ENTRY_LEN != 0 {
        return Err(AcpiError::BadLength { what: Sig::MCFG, paddr, len: table.len() as u64 });
    }
    let mut dropped = 0;
    for e in body.chunks_exact(ENTRY_LEN) {
        let entry = McfgEntry {
            base: le::u64_at(e, 0).unwrap_or(0),
            segment: le::u16_at(e, 8).unwrap_or(0),
            bus_start: le::u8_at(e, 10).unwrap_or(0),
            bus_end: le::u8_at(e, 11).unwrap_or(0),
        };
        if !out.push(entry) {
            dropped += 1;
        }
    }
    Ok(dropped)
}
