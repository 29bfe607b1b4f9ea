//! ACPI table parsing: the CPUs, interrupt controllers, PM timer, S5 and
//! reset registers and PCIe ECAM windows a VMM describes, read from
//! guest-physical memory through [`PhysMem`].
//!
//! Hand-written rather than the `acpi` crate: its `PlatformInfo` allocates
//! (the kernel's heap may not exist yet when this runs) and parses far more
//! than we use, and on our KVM host ring 0 is emulated at about a million
//! instructions a second, with boot cost counted in guest instructions. So
//! this parser:
//! - visits each table it needs once (RSDP, XSDT/RSDT, FADT, MADT, MCFG and,
//!   only when there is a sleep register to use, the DSDT) and only reads
//!   the signature of every other table;
//! - allocates nothing: results live in fixed-capacity arrays;
//! - checksums 16 bytes per step and finds `_S5_` in the same pass;
//! - is bounds-checked throughout: a malformed table (bad checksum, a length
//!   past readable memory, a truncated MADT entry) is an [`AcpiError`], never
//!   a panic.
pub mod dsdt;
mod error;
pub mod fadt;
pub mod gas;
pub mod madt;
pub mod mcfg;
pub mod rsdp;
pub mod sdt;

use crate::PhysMem;
use core::fmt;

pub use error::{AcpiError, Sig};
pub use gas::Gas;

pub use pv_abi::MAX_CPUS;
pub const MAX_IOAPICS: usize = 8;
pub const MAX_OVERRIDES: usize = 16;
pub const MAX_MCFG: usize = 4;

/// S5's SLP_TYP when a HW-reduced FADT comes with no `_S5_` in the DSDT:
/// what Cloud Hypervisor (and vmm-harness) accept.
const HW_REDUCED_S5_FALLBACK: u8 = (pv_abi::exit::CHV_SLEEP_S5 >> 2) & 7;

/// A CPU from the MADT (type 0 or type 9 entry), enabled or online-capable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalApic {
    pub apic_id: u32,
    /// ACPI processor UID.
    pub uid: u32,
    /// Present now; false means online-capable only (hot-pluggable later).
    pub enabled: bool,
    /// Came from an x2APIC (type 9) entry.
    pub x2apic_entry: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoApic {
    pub id: u8,
    pub paddr: u64,
    pub gsi_base: u32,
}

/// An ISA interrupt routed to a GSI other than its own number, or with
/// non-default polarity or trigger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IrqOverride {
    /// Always 0 (ISA).
    pub bus: u8,
    pub bus_irq: u8,
    pub gsi: u32,
    /// MPS INTI flags: polarity bits 1-0, trigger mode bits 3-2.
    pub flags: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Polarity {
    BusDefault,
    ActiveHigh,
    ActiveLow,
    Reserved,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    BusDefault,
    Edge,
    Level,
    Reserved,
}

impl IrqOverride {
    pub fn polarity(&self) -> Polarity {
        match self.flags & 3 {
            0 => Polarity::BusDefault,
            1 => Polarity::ActiveHigh,
            3 => Polarity::ActiveLow,
            _ => Polarity::Reserved,
        }
    }

    pub fn trigger(&self) -> Trigger {
        match (self.flags >> 2) & 3 {
            0 => Trigger::BusDefault,
            1 => Trigger::Edge,
            3 => Trigger::Level,
            _ => Trigger::Reserved,
        }
    }
}

/// A PCIe ECAM window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct McfgEntry {
    pub base: u64,
    pub segment: u16,
    pub bus_start: u8,
    pub bus_end: u8,
}

/// The ACPI PM timer (3.579545 MHz), an I/O port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PmTimerInfo {
    pub port: u16,
    /// 32-bit counter (FADT TMR_VAL_EXT); otherwise 24 bits.
    pub bits32: bool,
}

impl PmTimerInfo {
    /// The counter's valid bits.
    pub fn mask(&self) -> u32 {
        if self.bits32 {
            u32::MAX
        } else {
            0x00ff_ffff
        }
    }

    /// Ticks from `earlier` to `later`, across at most one wrap.
    pub fn ticks(&self, earlier: u32, later: u32) -> u32 {
        later.wrapping_sub(earlier) & self.mask()
    }
}

/// How to enter S5 (soft off).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SleepS5 {
    /// HW-reduced ACPI: write `(SLP_TYP & 7) << 2 | SLP_EN` to the sleep
    /// control register (one byte).
    SleepControl {
        reg: Gas,
        slp_typ: u8,
        /// SLP_TYP came from the DSDT's `_S5_` (else the fallback 5).
        from_dsdt: bool,
    },
    /// Fixed hardware: write `SLP_TYP << 10 | SLP_EN` to PM1a (and PM1b) control.
    Pm1 { a: Gas, b: Option<Gas>, slp_typ_a: u8, slp_typ_b: u8 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResetReg {
    pub reg: Gas,
    pub value: u8,
}

/// Physical addresses of the tables that were parsed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableAddrs {
    pub rsdp: u64,
    pub fadt: u64,
    pub madt: u64,
    /// Absent when there is no sleep register to use it for (not read then).
    pub dsdt: Option<u64>,
    pub mcfg: Option<u64>,
}

/// A fixed-capacity list: the parser runs before the heap exists.
#[derive(Clone, Copy, Debug)]
pub struct FixedVec<T: Copy, const N: usize> {
    items: [T; N],
    len: usize,
}

impl<T: Copy, const N: usize> FixedVec<T, N> {
    pub const fn new(fill: T) -> Self {
        Self { items: [fill; N], len: 0 }
    }

    /// Appends `v`; false (and `v` dropped) when full.
    pub fn push(&mut self, v: T) -> bool {
        match self.items.get_mut(self.len) {
            Some(slot) => {
                *slot = v;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    pub fn as_slice(&self) -> &[T] {
        self.items.get(..self.len).unwrap_or(&[])
    }
}

pub struct AcpiInfo {
    /// From the RSDP.
    pub oem_id: [u8; 6],
    /// RSDP revision: 0 for ACPI 1.0 (RSDT), 2 for 2.0+ (XSDT).
    pub revision: u8,
    pub local_apic_paddr: u64,
    /// MADT PCAT_COMPAT: a legacy 8259 pair is present (mask it before using IOAPICs).
    pub pcat_compat: bool,
    cpus: FixedVec<LocalApic, MAX_CPUS>,
    ioapics: FixedVec<IoApic, MAX_IOAPICS>,
    overrides: FixedVec<IrqOverride, MAX_OVERRIDES>,
    mcfg: FixedVec<McfgEntry, MAX_MCFG>,
    /// MADT/MCFG entries that did not fit the arrays above (e.g. CPUs beyond `MAX_CPUS`).
    pub dropped: usize,
    pub pm_timer: Option<PmTimerInfo>,
    pub sleep_s5: Option<SleepS5>,
    pub reset: Option<ResetReg>,
    pub hw_reduced: bool,
    /// FADT SCI_INT (0 on HW-reduced platforms without an SCI).
    pub sci_irq: u16,
    pub tables: TableAddrs,
}

impl AcpiInfo {
    /// Nothing found yet: what [`parse`] fills in.
    pub const EMPTY: AcpiInfo = AcpiInfo {
        oem_id: [0; 6],
        revision: 0,
        local_apic_paddr: 0,
        pcat_compat: false,
        cpus: FixedVec::new(LocalApic { apic_id: 0, uid: 0, enabled: false, x2apic_entry: false }),
        ioapics: FixedVec::new(IoApic { id: 0, paddr: 0, gsi_base: 0 }),
        overrides: FixedVec::new(IrqOverride { bus: 0, bus_irq: 0, gsi: 0, flags: 0 }),
        mcfg: FixedVec::new(McfgEntry { base: 0, segment: 0, bus_start: 0, bus_end: 0 }),
        dropped: 0,
        pm_timer: None,
        sleep_s5: None,
        reset: None,
        hw_reduced: false,
        sci_irq: 0,
        tables: TableAddrs { rsdp: 0, fadt: 0, madt: 0, dsdt: None, mcfg: None },
    };

    /// CPUs in MADT order (the boot CPU is usually first, but do not rely on it).
    pub fn cpus(&self) -> &[LocalApic] {
        self.cpus.as_slice()
    }

    pub fn ioapics(&self) -> &[IoApic] {
        self.ioapics.as_slice()
    }

    pub fn overrides(&self) -> &[IrqOverride] {
        self.overrides.as_slice()
    }

    pub fn mcfg(&self) -> &[McfgEntry] {
        self.mcfg.as_slice()
    }

    /// The GSI an ISA IRQ arrives on, with its override if the MADT has one.
    pub fn isa_irq(&self, irq: u8) -> (u32, Option<&IrqOverride>) {
        match self.overrides().iter().find(|o| o.bus == 0 && o.bus_irq == irq) {
            Some(o) => (o.gsi, Some(o)),
            None => (irq.into(), None),
        }
    }
}

/// One line, e.g. `CLOUDH rev 2 rsdp 0xa0000, 2 cpus, ioapic 0xfec00000, pm timer
/// 0x608/32, s5 via sleep-control io 0x600 (typ 5), reset yes (io 0x600 <- 0x1)`.
impl fmt::Display for AcpiInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // OEM IDs are padded with spaces (or NULs).
        let len = self.oem_id.iter().rposition(|&b| b != b' ' && b != 0).map_or(0, |i| i + 1);
        for &b in self.oem_id.get(..len).unwrap_or(&[]) {
            let c = if b.is_ascii_graphic() || b == b' ' { b as char } else { '?' };
            write!(f, "{c}")?;
        }
        write!(f, " rev {} rsdp {:#x}, {} cpus", self.revision, self.tables.rsdp, self.cpus().len())?;
        match self.ioapics() {
            [] => write!(f, ", no ioapic")?,
            [first, rest @ ..] => {
                write!(f, ", ioapic {:#x}", first.paddr)?;
                if !rest.is_empty() {
                    write!(f, " (+{})", rest.len())?;
                }
            }
        }
        match self.pm_timer {
            Some(t) => write!(f, ", pm timer {:#x}/{}", t.port, if t.bits32 { 32 } else { 24 })?,
            None => write!(f, ", no pm timer")?,
        }
        match self.sleep_s5 {
            Some(SleepS5::SleepControl { reg, slp_typ, from_dsdt }) => {
                write!(f, ", s5 via sleep-control {reg} (typ {slp_typ}{})", if from_dsdt { "" } else { ", default" })?
            }
            Some(SleepS5::Pm1 { a, b, slp_typ_a, .. }) => {
                write!(f, ", s5 via pm1a {a}{} (typ {slp_typ_a})", if b.is_some() { " +pm1b" } else { "" })?
            }
            None => write!(f, ", s5 unknown")?,
        }
        match self.reset {
            Some(r) => write!(f, ", reset yes ({} <- {:#x})", r.reg, r.value)?,
            None => write!(f, ", reset no")?,
        }
        if let Some(m) = self.mcfg().first() {
            write!(f, ", ecam {:#x}", m.base)?;
        }
        if self.dropped != 0 {
            write!(f, ", {} entries over capacity", self.dropped)?;
        }
        Ok(())
    }
}

/// Finds and parses the tables into `info`. With `rsdp_paddr` None
/// (Firecracker) the BIOS area is scanned for the RSDP.
pub fn parse<'a>(mem: &impl PhysMem<'a>, rsdp_paddr: Option<u64>, info: &mut AcpiInfo) -> Result<(), AcpiError> {
    let rsdp = match rsdp_paddr {
        Some(paddr) => rsdp::at(mem, paddr)?,
        None => rsdp::scan(mem)?,
    };
    info.oem_id = rsdp.oem_id;
    info.revision = rsdp.revision;
    info.tables.rsdp = rsdp.paddr;

    let (root_sig, root_paddr, entry_size) = match rsdp.root {
        rsdp::Root::Xsdt(a) => (Sig::XSDT, a, 8),
        rsdp::Root::Rsdt(a) => (Sig::RSDT, u64::from(a), 4),
    };
    let root = sdt::load(mem, root_paddr, root_sig)?;
    let found = sdt::walk_root(mem, root, entry_size, root_sig, root_paddr)?;

    let fadt_paddr = found.required(found.fadt, Sig::FADT)?;
    let fadt = fadt::parse(mem, sdt::load(mem, fadt_paddr, Sig::FADT)?, fadt_paddr)?;
    info.tables.fadt = fadt_paddr;
    info.hw_reduced = fadt.hw_reduced;
    info.sci_irq = fadt.sci_irq;
    info.pm_timer = fadt.pm_timer;
    info.reset = fadt.reset.map(|(reg, value)| ResetReg { reg, value });

    let madt_paddr = found.required(found.madt, Sig::MADT)?;
    madt::parse(sdt::load(mem, madt_paddr, Sig::MADT)?, madt_paddr, info)?;
    info.tables.madt = madt_paddr;

    if let Some(paddr) = found.mcfg {
        info.dropped += mcfg::parse(sdt::load(mem, paddr, Sig::MCFG)?, paddr, &mut info.mcfg)?;
        info.tables.mcfg = Some(paddr);
    }

    // The DSDT is only worth its (largest-table) scan when there is a sleep
    // register to put its SLP_TYP into.
    let s5 = match (fadt.sleep, fadt.dsdt) {
        (Some(_), Some(paddr)) => {
            let table = sdt::map(mem, paddr, Sig::DSDT)?;
            let scan = dsdt::scan(table);
            if scan.checksum != 0 {
                return Err(AcpiError::BadChecksum { what: Sig::DSDT, paddr });
            }
            info.tables.dsdt = Some(paddr);
            scan.s5.map(|pos| dsdt::decode(table, pos)).transpose()?
        }
        _ => None,
    };
    info.sleep_s5 = match (fadt.sleep, s5) {
        (Some(fadt::SleepRegs::SleepControl(reg)), s5) => Some(SleepS5::SleepControl {
            reg,
            slp_typ: s5.map_or(HW_REDUCED_S5_FALLBACK, |s| s.slp_typ_a),
            from_dsdt: s5.is_some(),
        }),
        // Fixed hardware has no agreed default SLP_TYP: without `_S5_`, S5 is unknown.
        (Some(fadt::SleepRegs::Pm1 { a, b }), Some(s5)) => {
            Some(SleepS5::Pm1 { a, b, slp_typ_a: s5.slp_typ_a, slp_typ_b: s5.slp_typ_b })
        }
        _ => None,
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{acpi_memory, madt_body, sdt, ACPI_BASE};
    use crate::SliceMem;
    use std::format;

    fn parse_at(bytes: &[u8], rsdp: Option<u64>) -> Result<AcpiInfo, AcpiError> {
        let mut info = AcpiInfo::EMPTY;
        parse(&SliceMem { base: ACPI_BASE, bytes }, rsdp, &mut info).map(|()| info)
    }

    #[test]
    fn harness_shaped_tables_parse() {
        let mem = acpi_memory(3);
        let info = parse_at(&mem, Some(ACPI_BASE)).unwrap();
        assert_eq!(&info.oem_id, b"VIREO ");
        assert_eq!(info.revision, 2);
        assert_eq!(info.cpus().iter().map(|c| c.apic_id).collect::<std::vec::Vec<_>>(), [0, 1, 2]);
        assert!(info.cpus().iter().all(|c| c.enabled && c.x2apic_entry));
        assert_eq!(info.local_apic_paddr, 0xFEE0_0000);
        assert_eq!(info.ioapics(), [IoApic { id: 0, paddr: 0xFEC0_0000, gsi_base: 0 }]);
        assert_eq!(info.isa_irq(0).0, 2);
        assert_eq!(info.isa_irq(4), (4, None));
        assert_eq!(info.pm_timer, Some(PmTimerInfo { port: 0x608, bits32: true }));
        assert!(info.hw_reduced);
        assert_eq!(info.sci_irq, 9);
        assert_eq!(info.mcfg(), [McfgEntry { base: 0xE000_0000, segment: 0, bus_start: 0, bus_end: 0xFF }]);
        match info.sleep_s5 {
            Some(SleepS5::SleepControl { reg, slp_typ: 5, from_dsdt: true }) => {
                assert_eq!((reg.space(), reg.width(), reg.address()), (gas::Space::Io, 1, 0x600));
            }
            other => panic!("sleep_s5 {other:?}"),
        }
        assert_eq!(info.reset.map(|r| (r.reg.address(), r.value)), Some((0x600, 1)));
        let line = format!("{info}");
        assert!(line.starts_with("VIREO rev 2 rsdp 0xa0000, 3 cpus"), "{line}");
    }

    #[test]
    fn rsdp_found_by_scanning_the_bios_area() {
        // Memory 0xA0000..0x100000 holds the tables; the RSDP is copied to 0xE0010.
        let mut mem = acpi_memory(1);
        mem.resize(0x6_0000, 0);
        let rsdp: [u8; 36] = mem[..36].try_into().unwrap();
        mem[0x4_0010..0x4_0010 + 36].copy_from_slice(&rsdp);
        // A stale, badly checksummed copy first does not stop the scan.
        mem[0x4_0000..0x4_0008].copy_from_slice(b"RSD PTR ");
        let info = parse_at(&mem, None).unwrap();
        assert_eq!(info.tables.rsdp, 0xE_0010);
        mem[0x4_0010] = b'X';
        assert_eq!(parse_at(&mem, None).err(), Some(AcpiError::NoRsdp));
    }

    #[test]
    fn corrupt_tables_give_typed_errors() {
        let good = acpi_memory(1);
        assert!(matches!(parse_at(&good, Some(ACPI_BASE + 1)), Err(AcpiError::BadSignature { .. })));
        assert!(matches!(parse_at(&good[..20], Some(ACPI_BASE)), Err(AcpiError::NotMapped { .. })));
        assert_eq!(
            parse_at(&good, Some(0x1000)).err(),
            Some(AcpiError::NotMapped { what: Sig::RSDP, paddr: 0x1000, len: 20 })
        );
        // Every byte flipped in turn: an error or a (different) result, never a panic.
        for at in 0..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0x41;
            let _ = parse_at(&bad, Some(ACPI_BASE));
        }
        // A flipped byte inside the DSDT is a checksum error.
        let mut bad = good.clone();
        bad[64 + 40] ^= 1;
        assert_eq!(
            parse_at(&bad, Some(ACPI_BASE)).err(),
            Some(AcpiError::BadChecksum { what: Sig::DSDT, paddr: ACPI_BASE + 64 })
        );
        // Every prefix of the memory: errors only.
        for n in 0..good.len() - 1 {
            assert!(parse_at(&good[..n], Some(ACPI_BASE)).is_err(), "prefix {n}");
        }
    }

    #[test]
    fn checksum_matches_the_byte_sum() {
        let t = acpi_memory(60);
        for len in [0, 1, 8, 15, 16, 17, 37, 1007, 1008, t.len()] {
            let slow = t[..len].iter().fold(0u8, |s, &b| s.wrapping_add(b));
            assert_eq!(sdt::checksum(&t[..len]), slow, "len {len}");
            assert_eq!(dsdt::scan(&t[..len]).checksum, slow, "len {len}");
        }
        // Long runs of 0xFF: the lane folding must not carry.
        let ff = [0xFFu8; 5000];
        assert_eq!(sdt::checksum(&ff), (5000u32 * 255 % 256) as u8);
    }

    #[test]
    fn truncated_madt_entries_rejected() {
        let lapic = [0u8, 8, 0, 0, 1, 0, 0, 0];
        let bad: [(&str, &[u8]); 4] = [
            ("entry cut by the table end", &lapic[..6]),
            ("zero-length entry", &[0u8, 0, 0, 0]),
            ("x2APIC entry shorter than 16", &[9u8, 8, 0, 0, 1, 0, 0, 0]),
            ("lone type byte", &[1u8]),
        ];
        for (what, entries) in bad {
            let mut info = AcpiInfo::EMPTY;
            let got = madt::parse(&sdt(b"APIC", &madt_body(entries)), 0, &mut info);
            assert!(matches!(got, Err(AcpiError::TruncatedEntry { .. })), "{what}: {got:?}");
        }
        // 70 CPUs: the 6 past MAX_CPUS are counted, not an error.
        let many: std::vec::Vec<u8> = (0..70u8).flat_map(|id| [0, 8, id, id, 1, 0, 0, 0]).collect();
        let mut info = AcpiInfo::EMPTY;
        madt::parse(&sdt(b"APIC", &madt_body(&many)), 0, &mut info).unwrap();
        assert_eq!((info.cpus().len(), info.dropped), (MAX_CPUS, 6));
    }

    #[test]
    fn s5_decoding() {
        type Case<'a> = (&'a str, &'a [u8], Option<(u8, u8)>);
        let good: [Case; 6] = [
            ("QEMU q35", b"\x08_S5_\x12\x06\x04\x00\x00\x00\x00", Some((0, 0))),
            ("QEMU microvm / CHV", b"\x08_S5_\x12\x04\x01\x0A\x05", Some((5, 5))),
            ("vmm-harness", b"\x08_S5_\x12\x07\x04\x0A\x05\x00\x00\x00", Some((5, 0))),
            ("bare integers", b"\x08\\_S5_\x12\x04\x02\x07\x01", Some((7, 1))),
            ("2-byte PkgLength", b"\x08_S5_\x12\x48\x00\x02\x0A\x05\x0B\x06\x00", Some((5, 6))),
            ("_S5_ not a package", b"\x10_S5_\x00\x08_S4_\x12\x04\x01\x0A\x04", None),
        ];
        for (what, aml, want) in good {
            for pad in 0..20 {
                let mut table = std::vec![0u8; pad];
                table.extend_from_slice(aml);
                let scan = dsdt::scan(&table);
                assert_eq!(scan.s5, dsdt::find_slow(&table), "{what} +{pad}");
                let got = scan.s5.map(|pos| dsdt::decode(&table, pos).map(|s| (s.slp_typ_a, s.slp_typ_b)));
                assert_eq!(got.transpose().unwrap(), want, "{what} +{pad}");
            }
        }
        let bad: [(&str, &[u8]); 3] = [
            ("package past the table end", b"_S5_\x12\x3F\x01\x0A\x05"),
            ("Ones element", b"_S5_\x12\x03\x01\xFF"),
            ("empty package", b"_S5_\x12\x02\x00"),
        ];
        for (what, aml) in bad {
            let got = dsdt::scan(aml).s5.map(|pos| dsdt::decode(aml, pos));
            assert!(matches!(got, Some(Err(AcpiError::BadS5 { .. }))), "{what}: {got:?}");
        }
        assert!(dsdt::decode(b"_S5_\x12", usize::MAX).is_err());
    }
}
