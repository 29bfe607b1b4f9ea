//! In-kernel tests: the real tables as parsed, and the pure decoders on
//! corrupted copies and synthetic bytes in stack buffers.
use super::{sleep, AcpiError, AcpiInfo, Sig};
use crate::mm::phys::Phys;
use crate::selftest_api::SelfTest;
use alloc::format;
use alloc::string::String;
use vireo_parse::acpi::{dsdt, madt, sdt};

static TESTS: [SelfTest; 4] = [
    SelfTest { name: "acpi: tables parsed", run: tables_parsed },
    SelfTest { name: "acpi: checksum rejects corruption", run: checksum_rejects_corruption },
    SelfTest { name: "acpi: truncated MADT entries rejected", run: truncated_madt_rejected },
    SelfTest { name: "acpi: S5 register values", run: sleep_register_values },
];

pub fn all() -> &'static [SelfTest] {
    &TESTS
}

fn parsed() -> Result<&'static AcpiInfo, String> {
    super::info().ok_or_else(|| String::from("acpi::init has not succeeded"))
}

fn current_apic_id() -> u32 {
    crate::arch::x86_64::cpuid::apic_id()
}

fn tables_parsed() -> Result<(), String> {
    let info = parsed()?;
    let cpus = info.cpus();
    if cpus.is_empty() {
        return Err(String::from("MADT lists no usable CPU"));
    }
    let me = current_apic_id();
    if !cpus.iter().any(|c| c.apic_id == me && c.enabled) {
        return Err(format!("running CPU's APIC ID {me} is not an enabled MADT CPU ({} listed)", cpus.len()));
    }
    if info.local_apic_paddr == 0 {
        return Err(String::from("MADT gives no local APIC address"));
    }
    Ok(())
}

fn checksum_rejects_corruption() -> Result<(), String> {
    let info = parsed()?;
    let fadt = sdt::map(&Phys, info.tables.fadt, Sig::FADT).map_err(|e| format!("{e}"))?;
    let mut buf = [0u8; 512];
    let copy = buf
        .get_mut(..fadt.len())
        .ok_or_else(|| format!("FADT of {} bytes does not fit the test buffer", fadt.len()))?;
    copy.copy_from_slice(fadt);
    let slow = copy.iter().fold(0u8, |s, &b| s.wrapping_add(b));
    if sdt::checksum(copy) != slow || slow != 0 {
        return Err(format!("FADT sums to {slow:#x}, fast checksum gives {:#x}", sdt::checksum(copy)));
    }
    // First byte, inside the 16-byte blocks, the checksum byte itself, and
    // the last byte (in the tail when the length is not a multiple of 16).
    for at in [0, 9, 10, 100, copy.len() - 1] {
        let Some(&orig) = copy.get(at) else { continue };
        copy[at] = orig ^ 0x41;
        let res = sdt::verify(copy, Sig::FADT, 0);
        copy[at] = orig;
        if res != Err(AcpiError::BadChecksum { what: Sig::FADT, paddr: 0 }) {
            return Err(format!("corrupting byte {at} was not detected: {res:?}"));
        }
    }
    // The DSDT's fused pass must agree with the plain checksum, including
    // lengths that leave a tail.
    for len in [copy.len(), 37, 17, 16, 8, 1] {
        let Some(part) = copy.get(..len) else { continue };
        if dsdt::scan(part).checksum != sdt::checksum(part) {
            return Err(format!("fused DSDT checksum differs over {len} bytes"));
        }
    }
    Ok(())
}

/// A MADT header (36 bytes, contents irrelevant to the walk) + LAPIC address + flags.
fn synthetic_madt(entries: &[u8], buf: &mut [u8; 128]) -> usize {
    buf.fill(0);
    buf[..4].copy_from_slice(b"APIC");
    buf[36..40].copy_from_slice(&0xFEE0_0000u32.to_le_bytes());
    buf[44..44 + entries.len()].copy_from_slice(entries);
    44 + entries.len()
}

fn truncated_madt_rejected() -> Result<(), String> {
    let mut buf = [0u8; 128];
    let mut info = AcpiInfo::EMPTY;
    let lapic = [0u8, 8, 0, 0, 1, 0, 0, 0]; // xAPIC, UID 0, ID 0, enabled
    let x2apic = [9u8, 16, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0]; // x2APIC ID 7
    let mut good = [0u8; 24];
    good[..8].copy_from_slice(&lapic);
    good[8..].copy_from_slice(&x2apic);
    let n = synthetic_madt(&good, &mut buf);
    madt::parse(&buf[..n], 0, &mut info).map_err(|e| format!("valid MADT rejected: {e}"))?;
    let ids: [u32; 2] = [info.cpus().first().map_or(99, |c| c.apic_id), info.cpus().get(1).map_or(99, |c| c.apic_id)];
    if info.cpus().len() != 2 || ids != [0, 7] {
        return Err(format!("valid MADT gave {} cpus, ids {ids:?}", info.cpus().len()));
    }
    let bad: [(&str, &[u8]); 4] = [
        ("entry cut by the table end", &lapic[..6]),
        ("zero-length entry", &[0u8, 0, 0, 0]),
        ("x2APIC entry shorter than 16", &[9u8, 8, 0, 0, 1, 0, 0, 0]),
        ("lone type byte", &[1u8]),
    ];
    for (what, entries) in bad {
        let n = synthetic_madt(entries, &mut buf);
        let mut scratch = AcpiInfo::EMPTY;
        match madt::parse(&buf[..n], 0, &mut scratch) {
            Err(AcpiError::TruncatedEntry { .. }) => {}
            other => return Err(format!("{what}: got {other:?}")),
        }
    }
    Ok(())
}

/// The register values S5 is entered with (the byte parsers are tested on
/// the host, in `vireo-parse`).
fn sleep_register_values() -> Result<(), String> {
    if sleep::sleep_control_value(5) != pv_abi::exit::CHV_SLEEP_S5 || sleep::pm1_value(0) != 0x2000 {
        return Err(String::from("sleep register encodings are wrong"));
    }
    Ok(())
}
