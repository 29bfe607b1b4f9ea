//! MADT: CPUs (xAPIC and x2APIC entries), IOAPICs, interrupt overrides and
//! the local APIC address, in one walk over the entries.
use super::error::{AcpiError, Sig};
use super::{AcpiInfo, IoApic, IrqOverride, LocalApic};
use crate::le;

const LOCAL_APIC_ADDR: usize = 36;
const FLAGS: usize = 40;
const ENTRIES: usize = 44;
const PCAT_COMPAT: u32 = 1 << 0;

const LOCAL_APIC: u8 = 0;
const IO_APIC: u8 = 1;
const INTERRUPT_OVERRIDE: u8 = 2;
const LOCAL_APIC_ADDR_OVERRIDE: u8 = 5;
const LOCAL_X2APIC: u8 = 9;

const ENABLED: u32 = 1 << 0;
const ONLINE_CAPABLE: u32 = 1 << 1;

/// Calls `f(type, entry)` for each entry of a MADT (`table` includes the
/// header); `entry` includes the 2-byte type/length prefix. An entry with a
/// length below 2 (which would loop forever) or running past the table is
/// an error.
pub fn walk(table: &[u8], mut f: impl FnMut(u8, usize, &[u8]) -> Result<(), AcpiError>) -> Result<(), AcpiError> {
    let mut off = ENTRIES;
    while off < table.len() {
        let entry_type = le::u8_at(table, off).unwrap_or(0);
        let truncated = AcpiError::TruncatedEntry { what: Sig::MADT, offset: off, entry_type };
        let len = le::u8_at(table, off + 1).ok_or(truncated)? as usize;
        if len < 2 {
            return Err(truncated);
        }
        let entry = table.get(off..off + len).ok_or(truncated)?;
        f(entry_type, off, entry)?;
        off += len;
    }
    Ok(())
}

/// Decodes a checksummed MADT into `out`. Entries beyond `out`'s capacity
/// are counted in `out.dropped`, not treated as errors: a VM larger than the
/// kernel supports still boots on the CPUs it can handle.
pub fn parse(table: &[u8], paddr: u64, out: &mut AcpiInfo) -> Result<(), AcpiError> {
    if table.len() < ENTRIES {
        return Err(AcpiError::BadLength { what: Sig::MADT, paddr, len: table.len() as u64 });
    }
    out.local_apic_paddr = le::u32_at(table, LOCAL_APIC_ADDR).unwrap_or(0).into();
    out.pcat_compat = le::u32_at(table, FLAGS).unwrap_or(0) & PCAT_COMPAT != 0;
    walk(table, |entry_type, offset, e| {
        // A known type shorter than its layout is malformed; longer is a
        // later revision's extension and fine.
        let need = |n: usize| {
            if e.len() >= n {
                Ok(())
            } else {
                Err(AcpiError::TruncatedEntry { what: Sig::MADT, offset, entry_type })
            }
        };
        let kept = match entry_type {
            LOCAL_APIC => {
                need(8)?;
                let flags = le::u32_at(e, 4).unwrap_or(0);
                let apic_id = le::u8_at(e, 3).unwrap_or(0xFF);
                // ID 0xFF in an xAPIC entry is a firmware placeholder.
                if flags & (ENABLED | ONLINE_CAPABLE) == 0 || apic_id == 0xFF {
                    return Ok(());
                }
                out.cpus.push(LocalApic {
                    apic_id: apic_id.into(),
                    uid: le::u8_at(e, 2).unwrap_or(0).into(),
                    enabled: flags & ENABLED != 0,
                    x2apic_entry: false,
                })
            }
            LOCAL_X2APIC => {
                need(16)?;
                let flags = le::u32_at(e, 8).unwrap_or(0);
                if flags & (ENABLED | ONLINE_CAPABLE) == 0 {
                    return Ok(());
                }
                out.cpus.push(LocalApic {
                    apic_id: le::u32_at(e, 4).unwrap_or(0),
                    uid: le::u32_at(e, 12).unwrap_or(0),
                    enabled: flags & ENABLED != 0,
                    x2apic_entry: true,
                })
            }
            IO_APIC => {
                need(12)?;
                out.ioapics.push(IoApic {
                    id: le::u8_at(e, 2).unwrap_or(0),
                    paddr: le::u32_at(e, 4).unwrap_or(0).into(),
                    gsi_base: le::u32_at(e, 8).unwrap_or(0),
                })
            }
            INTERRUPT_OVERRIDE => {
                need(10)?;
                out.overrides.push(IrqOverride {
                    bus: le::u8_at(e, 2).unwrap_or(0),
                    bus_irq: le::u8_at(e, 3).unwrap_or(0),
                    gsi: le::u32_at(e, 4).unwrap_or(0),
                    flags: le::u16_at(e, 8).unwrap_or(0),
                })
            }
            LOCAL_APIC_ADDR_OVERRIDE => {
                need(12)?;
                out.local_apic_paddr = le::u64_at(e, 4).unwrap_or(out.local_apic_paddr);
                true
            }
            _ => true,
        };
        if !kept {
            out.dropped += 1;
        }
        Ok(())
    })
}
