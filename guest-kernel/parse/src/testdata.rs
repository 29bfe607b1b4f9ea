//! Well-formed inputs for the unit tests and the fuzz targets' seed corpora:
//! ACPI tables shaped like vmm-harness's (Cloud Hypervisor-like, HW-reduced,
//! plus an MCFG) and a PVH `hvm_start_info` with its memory map, module
//! list and command line. Each is one memory image at a base address.
extern crate alloc;

use alloc::vec;
use alloc::vec::Vec;
use pv_abi::pvh::{MemmapEntry, ModlistEntry, StartInfo, START_INFO_MAGIC};

/// Where [`acpi_memory`] starts: the RSDP, as on Cloud Hypervisor.
pub const ACPI_BASE: u64 = 0xA_0000;
/// Where [`start_info_memory`] starts: the `hvm_start_info`.
pub const START_INFO_BASE: u64 = 0x6000;

fn put(b: &mut [u8], off: usize, v: &[u8]) {
    if let Some(dst) = b.get_mut(off..off + v.len()) {
        dst.copy_from_slice(v);
    }
}

fn fix_checksum(t: &mut [u8], at: usize) {
    let sum = t.iter().fold(0u8, |s, &b| s.wrapping_add(b));
    if let Some(b) = t.get_mut(at) {
        *b = b.wrapping_sub(sum);
    }
}

/// A table: 36-byte header with `sig` and length, then `body`, checksummed.
pub fn sdt(sig: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut t = vec![0u8; 36];
    t.extend_from_slice(body);
    put(&mut t, 0, sig);
    let len = t.len() as u32;
    put(&mut t, 4, &len.to_le_bytes());
    put(&mut t, 10, b"VIREO ");
    fix_checksum(&mut t, 9);
    t
}

/// `Name (_S5_, Package () { 5, 0, 0, 0 })`, as vmm-harness emits it.
pub const S5_AML: [u8; 13] = [0x08, b'_', b'S', b'5', b'_', 0x12, 0x07, 0x04, 0x0A, 0x05, 0x00, 0x00, 0x00];

/// A MADT body (after the header): LAPIC address, flags, then `entries`.
pub fn madt_body(entries: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0xFEE0_0000u32.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(entries);
    b
}

/// Memory at [`ACPI_BASE`]: RSDP (rev 2), XSDT, FADT (HW-reduced, sleep
/// control and reset at I/O 0x600, PM timer 0x608), DSDT, MADT (`cpus`
/// x2APIC entries, an IOAPIC, one override) and MCFG (one window).
pub fn acpi_memory(cpus: u32) -> Vec<u8> {
    let mut mem = vec![0u8; 64];
    let place = |mem: &mut Vec<u8>, t: &[u8]| {
        mem.resize(mem.len().next_multiple_of(64), 0);
        let at = ACPI_BASE + mem.len() as u64;
        mem.extend_from_slice(t);
        at
    };
    let dsdt = place(&mut mem, &sdt(b"DSDT", &S5_AML));

    let mut fadt = vec![0u8; 276 - 36];
    let body = |off: usize| off - 36;
    put(&mut fadt, body(46), &9u16.to_le_bytes()); // SCI
    put(&mut fadt, body(76), &0x608u32.to_le_bytes()); // PM_TMR_BLK
    let flags: u32 = (1 << 8) | (1 << 10) | (1 << 20);
    put(&mut fadt, body(112), &flags.to_le_bytes());
    let io_gas = |port: u64| {
        let mut g = [0u8; 12];
        g[0] = 1;
        g[1] = 8;
        g[3] = 1;
        g[4..].copy_from_slice(&port.to_le_bytes());
        g
    };
    put(&mut fadt, body(116), &io_gas(0x600)); // RESET_REG
    fadt[body(128)] = 1; // RESET_VALUE
    put(&mut fadt, body(140), &dsdt.to_le_bytes()); // X_DSDT
    put(&mut fadt, body(244), &io_gas(0x600)); // SLEEP_CONTROL_REG
    put(&mut fadt, body(256), &io_gas(0x601)); // SLEEP_STATUS_REG
    let mut fadt = sdt(b"FACP", &fadt);
    fadt[8] = 6;
    fix_checksum(&mut fadt, 9);
    let fadt = place(&mut mem, &fadt);

    let mut entries = Vec::new();
    for id in 0..cpus {
        let mut e = [0u8; 16];
        e[0] = 9;
        e[1] = 16;
        e[4..8].copy_from_slice(&id.to_le_bytes());
        e[8] = 1; // enabled
        e[12..16].copy_from_slice(&id.to_le_bytes());
        entries.extend_from_slice(&e);
    }
    entries.extend_from_slice(&[1, 12, 0, 0, 0, 0, 0xC0, 0xFE, 0, 0, 0, 0]); // IOAPIC 0xFEC00000
    entries.extend_from_slice(&[2, 10, 0, 0, 2, 0, 0, 0, 0, 0]); // ISA IRQ 0 -> GSI 2
    let madt = place(&mut mem, &sdt(b"APIC", &madt_body(&entries)));

    let mut mcfg = vec![0u8; 8];
    mcfg.extend_from_slice(&0xE000_0000u64.to_le_bytes());
    mcfg.extend_from_slice(&[0, 0, 0, 0xFF, 0, 0, 0, 0]); // segment 0, buses 0-255
    let mcfg = place(&mut mem, &sdt(b"MCFG", &mcfg));

    let mut xsdt_body = Vec::new();
    for t in [fadt, madt, mcfg] {
        xsdt_body.extend_from_slice(&t.to_le_bytes());
    }
    let xsdt = place(&mut mem, &sdt(b"XSDT", &xsdt_body));

    let mut rsdp = [0u8; 36];
    put(&mut rsdp, 0, b"RSD PTR ");
    put(&mut rsdp, 9, b"VIREO ");
    rsdp[15] = 2;
    put(&mut rsdp, 20, &36u32.to_le_bytes());
    put(&mut rsdp, 24, &xsdt.to_le_bytes());
    fix_checksum(&mut rsdp[..20], 8);
    fix_checksum(&mut rsdp, 32);
    put(&mut mem, 0, &rsdp);
    mem
}

/// Memory at [`START_INFO_BASE`]: `hvm_start_info`, one module (which
/// points into this memory), three memory-map entries (one empty) and
/// `cmdline`.
pub fn start_info_memory(cmdline: &[u8]) -> Vec<u8> {
    const MODLIST: usize = 0x40;
    const MEMMAP: usize = 0x80;
    const CMDLINE: usize = 0x100;
    const MODULE: usize = 0x200;
    let at = |off: usize| START_INFO_BASE + off as u64;
    let mut mem = vec![0u8; MODULE + 0x40];
    let si = StartInfo {
        magic: START_INFO_MAGIC,
        version: 1,
        nr_modules: 1,
        modlist_paddr: at(MODLIST),
        cmdline_paddr: at(CMDLINE),
        rsdp_paddr: ACPI_BASE,
        memmap_paddr: at(MEMMAP),
        memmap_entries: 3,
        ..StartInfo::default()
    };
    put(&mut mem, 0, &si.to_bytes());
    let m = ModlistEntry { paddr: at(MODULE), size: 0x40, ..ModlistEntry::default() };
    put(&mut mem, MODLIST, &m.to_bytes());
    let entries = [(0, 0xA_0000, 1), (0xA_0000, 0, 2), (0x10_0000, 0x1000_0000, 1)];
    for (i, (addr, size, type_)) in entries.into_iter().enumerate() {
        let e = MemmapEntry { addr, size, type_, reserved: 0 };
        put(&mut mem, MEMMAP + i * MemmapEntry::SIZE, &e.to_bytes());
    }
    let cmd = cmdline.get(..cmdline.len().min(MODULE - CMDLINE - 1)).unwrap_or_default();
    put(&mut mem, CMDLINE, cmd);
    mem
}

/// The DSDT QEMU 7.2 builds for `-M microvm -device virtio-rng-device
/// -device virtio-rng-device` (read from guest memory after boot): besides
/// FWCF, COM1, RTC, GED and PWRB, two virtio-mmio devices, VR23 and VR22.
pub const QEMU_MICROVM_DSDT: &[u8] = include_bytes!("testdata/qemu-7.2-microvm-2rng.dsdt");

/// An AML package: `op`, PkgLength (1 to 4 bytes, as `body` needs), `body`.
pub fn aml_package(op: &[u8], body: &[u8]) -> Vec<u8> {
    let mut v = op.to_vec();
    let len = body.len();
    // The PkgLength counts itself.
    match (len + 1, len + 2, len + 3) {
        (n, _, _) if n < 0x40 => v.push(n as u8),
        (_, n, _) if n < 0x1000 => v.extend_from_slice(&[0x40 | (n & 0xF) as u8, (n >> 4) as u8]),
        (_, _, n) => v.extend_from_slice(&[0x80 | (n & 0xF) as u8, (n >> 4) as u8, (n >> 12) as u8]),
    }
    v.extend_from_slice(body);
    v
}

/// `Device (name) { Name (_HID, hid) Name (_UID, uid) Name (_CCA, One) Name (_CRS, Buffer { crs }) }`.
pub fn virtio_mmio_device(name: &[u8; 4], hid: &[u8], uid: u8, crs: &[u8]) -> Vec<u8> {
    let mut body = name.to_vec();
    body.extend_from_slice(b"\x08_HID\x0D");
    body.extend_from_slice(hid);
    body.push(0);
    body.extend_from_slice(&[0x08, b'_', b'U', b'I', b'D', 0x0A, uid]);
    body.extend_from_slice(b"\x08_CCA\x01\x08_CRS");
    let mut buf = vec![0x0A, crs.len() as u8];
    buf.extend_from_slice(crs);
    body.extend_from_slice(&aml_package(&[0x11], &buf));
    aml_package(&[0x5B, 0x82], &body)
}

/// A `_CRS` template: Memory32Fixed (base, size), Interrupt { irq }, End Tag.
pub fn virtio_mmio_crs(base: u32, size: u32, irq: u32) -> Vec<u8> {
    let mut t = vec![0x86, 0x09, 0x00, 0x01];
    t.extend_from_slice(&base.to_le_bytes());
    t.extend_from_slice(&size.to_le_bytes());
    t.extend_from_slice(&[0x89, 0x06, 0x00, 0x01, 0x01]);
    t.extend_from_slice(&irq.to_le_bytes());
    t.extend_from_slice(&[0x79, 0x00]);
    t
}
