//! Finding and validating the RSDP: at the address the VMM handed over
//! (Cloud Hypervisor, QEMU), or by scanning the BIOS area when it handed
//! over none (Firecracker puts it at 0xE0000 and passes 0).
use super::error::{AcpiError, Sig};
use super::sdt::checksum;
use crate::{le, PhysMem};

const SIGNATURE: [u8; 8] = *b"RSD PTR ";
const V1_LEN: usize = 20;
const V2_LEN: usize = 36;
/// Upper bound on an ACPI 2.0+ RSDP's length field (it is 36 in every revision so far).
const MAX_LEN: u32 = 4096;
const SCAN_START: u64 = 0xE0000;
const SCAN_END: u64 = 0x10_0000;

/// The root table the RSDP points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Root {
    Xsdt(u64),
    Rsdt(u32),
}

#[derive(Clone, Copy, Debug)]
pub struct Rsdp {
    pub paddr: u64,
    pub oem_id: [u8; 6],
    pub revision: u8,
    pub root: Root,
}

/// Validates the RSDP at `paddr`.
pub fn at<'a>(mem: &impl PhysMem<'a>, paddr: u64) -> Result<Rsdp, AcpiError> {
    let v1 = mem.bytes(paddr, V1_LEN).ok_or(AcpiError::not_mapped(Sig::RSDP, paddr, V1_LEN))?;
    if v1.first_chunk::<8>() != Some(&SIGNATURE) {
        let found = Sig(le::array(v1, 0).unwrap_or([0; 4]));
        return Err(AcpiError::BadSignature { expected: Sig::RSDP, found, paddr });
    }
    if checksum(v1) != 0 {
        return Err(AcpiError::BadChecksum { what: Sig::RSDP, paddr });
    }
    let revision = le::u8_at(v1, 15).unwrap_or(0);
    let oem_id = le::array(v1, 9).unwrap_or([0; 6]);
    let rsdt = le::u32_at(v1, 16).unwrap_or(0);
    // Revision 0 is ACPI 1.0 (RSDT only); 2 and up add the XSDT and the
    // extended checksum. Revision 1 was never defined; treat it as 1.0.
    if revision < 2 {
        return Ok(Rsdp { paddr, oem_id, revision, root: Root::Rsdt(rsdt) });
    }
    let len = mem.bytes(paddr, V2_LEN).and_then(|b| le::u32_at(b, 20)).ok_or(AcpiError::NotMapped {
        what: Sig::RSDP,
        paddr,
        len: V2_LEN as u64,
    })?;
    if !(V2_LEN as u32..=MAX_LEN).contains(&len) {
        return Err(AcpiError::BadLength { what: Sig::RSDP, paddr, len: len.into() });
    }
    let full = mem.bytes(paddr, len as usize).ok_or(AcpiError::not_mapped(Sig::RSDP, paddr, len as usize))?;
    if checksum(full) != 0 {
        return Err(AcpiError::BadChecksum { what: Sig::RSDP, paddr });
    }
    let xsdt = le::u64_at(full, 24).unwrap_or(0);
    // An ACPI 2.0 RSDP may still carry only an RSDT.
    let root = if xsdt != 0 { Root::Xsdt(xsdt) } else { Root::Rsdt(rsdt) };
    Ok(Rsdp { paddr, oem_id, revision, root })
}

/// Scans 0xE0000..0x100000 on 16-byte boundaries for a valid RSDP. A
/// signature whose checksum fails (a stale copy) does not end the scan.
pub fn scan<'a>(mem: &impl PhysMem<'a>) -> Result<Rsdp, AcpiError> {
    const LEN: usize = (SCAN_END - SCAN_START) as usize;
    let area = mem.bytes(SCAN_START, LEN).ok_or(AcpiError::not_mapped(Sig::RSDP, SCAN_START, LEN))?;
    let (slots, _) = area.as_chunks::<16>();
    let sig = u64::from_le_bytes(SIGNATURE);
    for (i, slot) in slots.iter().enumerate() {
        // One 64-bit compare per slot: the scan walks up to 8192 slots at
        // emulated ring-0 speed.
        let head = slot.first_chunk::<8>().map_or(0, |h| u64::from_le_bytes(*h));
        if head == sig {
            if let Ok(rsdp) = at(mem, SCAN_START + (i as u64) * 16) {
                return Ok(rsdp);
            }
        }
    }
    Err(AcpiError::NoRsdp)
}
