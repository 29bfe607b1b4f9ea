//! ACPI tables shaped like Cloud Hypervisor's (HW-reduced): RSDP (rev 2) at
//! 0xA0000, then XSDT, FADT, DSDT (just `_S5_`), MADT and, with virtio-pci
//! devices, MCFG (bus 0's ECAM), built as one blob.

use pv_abi::exit::{CHV_RESET_VALUE, CHV_SLEEP_PORT};
use pv_abi::pvh::layout::LOW_RAM_END;

use crate::devices::{PM_TIMER_PORT, SLEEP_STATUS_PORT};

/// The RSDP sits where low RAM ends, as on Cloud Hypervisor.
pub const RSDP_ADDR: u64 = LOW_RAM_END;
/// Local APIC and IOAPIC MMIO bases (architectural defaults, KVM's in-kernel chips).
pub const LAPIC_ADDR: u32 = 0xFEE0_0000;
pub const IOAPIC_ADDR: u32 = 0xFEC0_0000;

const OEM_ID: [u8; 6] = *b"VIREO ";
const RSDP_LEN: usize = 36;
const HEADER_LEN: usize = 36;
const FADT_LEN: usize = 276;
/// Tables start on 64-byte boundaries.
const ALIGN: usize = 64;

// FADT flags.
const TMR_VAL_EXT: u32 = 1 << 8;
const RESET_REG_SUP: u32 = 1 << 10;
const HW_REDUCED_ACPI: u32 = 1 << 20;

// MADT structure types.
const MADT_IOAPIC: u8 = 1;
const MADT_ISO: u8 = 2;
const MADT_LOCAL_X2APIC: u8 = 9;

/// `Name (_S5_, Package () { 5, 0, 0, 0 })` in AML: the guest finds S5's SLP_TYP
/// (5, matching `pv_abi::exit::CHV_SLEEP_S5 >> 2 & 7`) by scanning for `_S5_`.
pub const S5_AML: [u8; 13] = [
    0x08, b'_', b'S', b'5', b'_', // NameOp "_S5_"
    0x12, 0x07, 0x04, // PackageOp, PkgLength 7, NumElements 4
    0x0A, 0x05, // BytePrefix 5 (SLP_TYPa)
    0x00, 0x00, 0x00, // Zero (SLP_TYPb), reserved, reserved
];

/// Sum of all bytes modulo 256 (a valid table sums to zero).
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b))
}

fn put(buf: &mut [u8], off: usize, bytes: &[u8]) {
    buf[off..off + bytes.len()].copy_from_slice(bytes);
}

/// A system description table: 36-byte header, then `body`.
fn sdt(signature: &[u8; 4], revision: u8, table_id: &[u8; 8], body: &[u8]) -> Vec<u8> {
    let mut t = vec![0u8; HEADER_LEN];
    put(&mut t, 0, signature);
    t[8] = revision;
    put(&mut t, 10, &OEM_ID);
    put(&mut t, 16, table_id);
    put(&mut t, 24, &1u32.to_le_bytes()); // OEM revision
    put(&mut t, 28, b"VRHN"); // creator ID
    put(&mut t, 32, &1u32.to_le_bytes()); // creator revision
    t.extend_from_slice(body);
    let len = t.len() as u32;
    put(&mut t, 4, &len.to_le_bytes());
    t[9] = 0u8.wrapping_sub(checksum(&t));
    t
}

/// Generic Address Structure for a SystemIO register.
fn gas_io(bit_width: u8, access_size: u8, port: u16) -> [u8; 12] {
    let mut g = [0u8; 12];
    g[0] = 1; // SystemIO
    g[1] = bit_width;
    g[3] = access_size; // 1 = byte, 3 = dword
    put(&mut g, 4, &u64::from(port).to_le_bytes());
    g
}

fn fadt(dsdt_addr: u64) -> Vec<u8> {
    let mut b = vec![0u8; FADT_LEN - HEADER_LEN];
    let at = |off: usize| off - HEADER_LEN;
    put(&mut b, at(112), &(HW_REDUCED_ACPI | RESET_REG_SUP | TMR_VAL_EXT).to_le_bytes());
    put(&mut b, at(116), &gas_io(8, 1, CHV_SLEEP_PORT)); // RESET_REG
    b[at(128)] = CHV_RESET_VALUE;
    b[at(131)] = 3; // FADT minor version (ACPI 6.3)
    put(&mut b, at(140), &dsdt_addr.to_le_bytes()); // X_DSDT
    put(&mut b, at(208), &gas_io(32, 3, PM_TIMER_PORT)); // X_PM_TMR_BLK
    put(&mut b, at(244), &gas_io(8, 1, CHV_SLEEP_PORT)); // SLEEP_CONTROL_REG
    put(&mut b, at(256), &gas_io(8, 1, SLEEP_STATUS_PORT)); // SLEEP_STATUS_REG
    put(&mut b, at(268), b"VIREOVMM"); // hypervisor vendor identity
    sdt(b"FACP", 6, b"VHFACP  ", &b)
}

fn madt(cpus: u32) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&LAPIC_ADDR.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes()); // flags: no PC-AT 8259 pair exposed
    for id in 0..cpus {
        b.extend_from_slice(&[MADT_LOCAL_X2APIC, 16, 0, 0]);
        b.extend_from_slice(&id.to_le_bytes()); // x2APIC ID
        b.extend_from_slice(&1u32.to_le_bytes()); // enabled
        b.extend_from_slice(&id.to_le_bytes()); // ACPI processor UID
    }
    b.extend_from_slice(&[MADT_IOAPIC, 12, 0, 0]);
    b.extend_from_slice(&IOAPIC_ADDR.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes()); // GSI base
                                              // ISA IRQ 0 (PIT) -> GSI 2, edge/high as the bus defaults.
    b.extend_from_slice(&[MADT_ISO, 10, 0, 0]);
    b.extend_from_slice(&2u32.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    sdt(b"APIC", 5, b"VHMADT  ", &b)
}

fn rsdp(xsdt_addr: u64) -> [u8; RSDP_LEN] {
    let mut r = [0u8; RSDP_LEN];
    put(&mut r, 0, b"RSD PTR ");
    put(&mut r, 9, &OEM_ID);
    r[15] = 2; // revision: ACPI 2.0+ (XSDT)
    put(&mut r, 20, &(RSDP_LEN as u32).to_le_bytes());
    put(&mut r, 24, &xsdt_addr.to_le_bytes());
    r[8] = 0u8.wrapping_sub(checksum(&r[..20]));
    r[32] = 0u8.wrapping_sub(checksum(&r));
    r
}

fn append_aligned(blob: &mut Vec<u8>, table: &[u8]) -> u64 {
    blob.resize(blob.len().next_multiple_of(ALIGN), 0);
    let addr = RSDP_ADDR + blob.len() as u64;
    blob.extend_from_slice(table);
    addr
}

/// MCFG with one allocation: segment 0, bus 0 only, ECAM at `ecam`.
fn mcfg(ecam: u64) -> Vec<u8> {
    let mut b = vec![0u8; 8]; // reserved
    b.extend_from_slice(&ecam.to_le_bytes());
    b.extend_from_slice(&[0, 0, 0, 0]); // segment 0, start bus 0, end bus 0
    b.extend_from_slice(&0u32.to_le_bytes());
    sdt(b"MCFG", 1, b"VHMCFG  ", &b)
}

/// All tables without PCI (the tests' shorthand).
#[cfg(test)]
pub fn build(cpus: u32) -> Vec<u8> {
    build_with(cpus, None)
}

/// All tables, to be written at [`RSDP_ADDR`], with an MCFG for the ECAM
/// at `ecam` if given. Fits well inside 0xA0000..0x100000.
pub fn build_with(cpus: u32, ecam: Option<u64>) -> Vec<u8> {
    let mut blob = vec![0u8; RSDP_LEN];
    let dsdt_addr = append_aligned(&mut blob, &sdt(b"DSDT", 6, b"VHDSDT  ", &S5_AML));
    let fadt_addr = append_aligned(&mut blob, &fadt(dsdt_addr));
    let madt_addr = append_aligned(&mut blob, &madt(cpus));
    let mut entries = Vec::new();
    entries.extend_from_slice(&fadt_addr.to_le_bytes());
    entries.extend_from_slice(&madt_addr.to_le_bytes());
    if let Some(e) = ecam {
        entries.extend_from_slice(&append_aligned(&mut blob, &mcfg(e)).to_le_bytes());
    }
    let xsdt_addr = append_aligned(&mut blob, &sdt(b"XSDT", 1, b"VHXSDT  ", &entries));
    put(&mut blob, 0, &rsdp(xsdt_addr));
    blob
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u32_at(b: &[u8], off: usize) -> u32 {
        u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
    }
    fn u64_at(b: &[u8], off: usize) -> u64 {
        u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
    }

    /// Resolve a guest address inside the blob to a checked table.
    fn table<'a>(blob: &'a [u8], addr: u64, sig: &[u8; 4]) -> &'a [u8] {
        let off = (addr - RSDP_ADDR) as usize;
        assert_eq!(&blob[off..off + 4], sig);
        let len = u32_at(blob, off + 4) as usize;
        let t = &blob[off..off + len];
        assert_eq!(checksum(t), 0, "{} checksum", String::from_utf8_lossy(sig));
        t
    }

    #[test]
    fn mcfg_only_with_pci() {
        let xsdt = |blob: &[u8]| {
            let x = table(blob, u64_at(blob, 24), b"XSDT");
            (36..x.len()).step_by(8).map(|o| u64_at(x, o)).collect::<Vec<_>>()
        };
        let blob = build(1);
        assert_eq!(xsdt(&blob).len(), 2);
        let blob = build_with(1, Some(0xE800_0000));
        let entries = xsdt(&blob);
        assert_eq!(entries.len(), 3);
        let m = table(&blob, entries[2], b"MCFG");
        assert_eq!(m.len(), 36 + 8 + 16);
        assert_eq!(u64_at(m, 44), 0xE800_0000);
        assert_eq!(&m[52..56], &[0, 0, 0, 0], "segment 0, buses 0..=0");
        assert!(RSDP_ADDR + blob.len() as u64 <= 0x10_0000);
    }

    #[test]
    fn rsdp_is_valid() {
        let blob = build(1);
        assert_eq!(&blob[..8], b"RSD PTR ");
        assert_eq!(checksum(&blob[..20]), 0);
        assert_eq!(checksum(&blob[..36]), 0);
        assert_eq!(blob[15], 2);
        assert_eq!(u32_at(&blob, 16), 0, "no RSDT");
        assert_eq!(u32_at(&blob, 20), 36);
        assert!(RSDP_ADDR + blob.len() as u64 <= 0x10_0000);
    }

    #[test]
    fn tables_chain_and_parse() {
        let blob = build(4);
        let xsdt = table(&blob, u64_at(&blob, 24), b"XSDT");
        assert_eq!(xsdt.len(), 36 + 16);
        let fadt = table(&blob, u64_at(xsdt, 36), b"FACP");
        let madt = table(&blob, u64_at(xsdt, 44), b"APIC");

        assert_eq!(fadt.len(), 276);
        assert_eq!(fadt[8], 6);
        assert_eq!(u32_at(fadt, 112), (1 << 20) | (1 << 10) | (1 << 8));
        assert_eq!(&fadt[116..128], &[1, 8, 0, 1, 0x00, 0x06, 0, 0, 0, 0, 0, 0]);
        assert_eq!(fadt[128], 1);
        assert_eq!(&fadt[208..220], &[1, 32, 0, 3, 0x08, 0x06, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&fadt[244..256], &[1, 8, 0, 1, 0x00, 0x06, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&fadt[256..268], &[1, 8, 0, 1, 0x01, 0x06, 0, 0, 0, 0, 0, 0]);
        assert_eq!(u32_at(fadt, 40), 0, "32-bit DSDT unused when X_DSDT is set");

        let dsdt = table(&blob, u64_at(fadt, 140), b"DSDT");
        assert_eq!(&dsdt[36..], &S5_AML);
        let pos = dsdt.windows(4).position(|w| w == b"_S5_").unwrap();
        // PackageOp, PkgLength, NumElements, BytePrefix, SLP_TYPa
        assert_eq!(&dsdt[pos + 4..pos + 9], &[0x12, 7, 4, 0x0A, 5]);
        assert_eq!(S5_AML.len() - 6, 7, "PkgLength covers itself and what follows");

        assert_eq!(madt[8], 5);
        assert_eq!(u32_at(madt, 36), 0xFEE0_0000);
        let mut off = 44;
        let mut ids = Vec::new();
        let mut ioapics = 0;
        while off < madt.len() {
            let (ty, len) = (madt[off], madt[off + 1] as usize);
            assert!(len >= 2);
            match ty {
                9 => {
                    assert_eq!(len, 16);
                    assert_eq!(u32_at(madt, off + 8), 1, "enabled");
                    ids.push(u32_at(madt, off + 4));
                }
                1 => {
                    assert_eq!(len, 12);
                    assert_eq!(u32_at(madt, off + 4), 0xFEC0_0000);
                    assert_eq!(u32_at(madt, off + 8), 0);
                    ioapics += 1;
                }
                2 => assert_eq!((len, madt[off + 3], u32_at(madt, off + 4)), (10, 0, 2)),
                other => panic!("unexpected MADT entry {other}"),
            }
            off += len;
        }
        assert_eq!(off, madt.len());
        assert_eq!(ids, vec![0, 1, 2, 3]);
        assert_eq!(ioapics, 1);
    }

    #[test]
    fn sixty_four_cpus_fit() {
        let blob = build(64);
        let xsdt = table(&blob, u64_at(&blob, 24), b"XSDT");
        let madt = table(&blob, u64_at(xsdt, 44), b"APIC");
        assert_eq!(madt.len(), 44 + 64 * 16 + 12 + 10);
        assert!(RSDP_ADDR + blob.len() as u64 <= 0x10_0000);
    }
}
