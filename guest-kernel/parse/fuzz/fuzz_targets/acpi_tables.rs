//! One table parser at a time, picked by the first byte: MADT, FADT, MCFG,
//! the DSDT `_S5_` scan and decode (checked against the byte-by-byte search
//! and the plain checksum), the root-table walk, and a GAS.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vireo_parse::acpi::{dsdt, fadt, gas::Gas, madt, mcfg, sdt, AcpiInfo, FixedVec, McfgEntry, Sig, MAX_MCFG};
use vireo_parse::SliceMem;

fuzz_target!(|data: &[u8]| {
    let Some((&which, table)) = data.split_first() else { return };
    // The table itself is the only readable memory (for GAS MMIO and root entries).
    let mem = SliceMem { base: 0x1000, bytes: table };
    match which % 6 {
        0 => {
            let mut info = AcpiInfo::EMPTY;
            let _ = madt::parse(table, 0, &mut info);
        }
        1 => {
            let _ = fadt::parse(&mem, table, 0);
        }
        2 => {
            let mut out = FixedVec::new(McfgEntry { base: 0, segment: 0, bus_start: 0, bus_end: 0 });
            if let Ok(dropped) = mcfg::parse(table, 0, &mut out) {
                assert_eq!(out.as_slice().len() + dropped, (table.len() - 44) / 16);
                assert!(out.as_slice().len() <= MAX_MCFG);
            }
        }
        3 => {
            let scan = dsdt::scan(table);
            assert_eq!(scan.s5, dsdt::find_slow(table), "fast and slow _S5_ search differ");
            assert_eq!(scan.checksum, sdt::checksum(table), "fused checksum differs");
            assert_eq!(scan.checksum, table.iter().fold(0u8, |s, &b| s.wrapping_add(b)));
            if let Some(pos) = scan.s5 {
                let _ = dsdt::decode(table, pos);
            }
        }
        4 => {
            let entry_size = if table.first().is_some_and(|b| b & 1 == 1) { 8 } else { 4 };
            let _ = sdt::walk_root(&mem, table, entry_size, Sig::XSDT, 0);
        }
        _ => {
            if let Some(g) = Gas::parse(table, &mem) {
                assert!(matches!(g.width(), 1 | 2 | 4));
                let _ = format!("{g}");
            }
        }
    }
});
