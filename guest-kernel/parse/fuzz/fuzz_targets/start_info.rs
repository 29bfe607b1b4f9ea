//! PVH `hvm_start_info` validation over an input standing for guest memory
//! at 0x6000 (start_info first; the memory map, module list and command
//! line it points at must lie in the input too).
#![no_main]
use libfuzzer_sys::fuzz_target;
use vireo_parse::start_info::{BootInfo, MAX_CMDLINE, MAX_MEMMAP, MAX_MODULES};
use vireo_parse::testdata::START_INFO_BASE;
use vireo_parse::SliceMem;

fuzz_target!(|data: &[u8]| {
    let mem = SliceMem { base: START_INFO_BASE, bytes: data };
    if let Ok(info) = BootInfo::parse(&mem, START_INFO_BASE) {
        assert!(info.memmap().len() <= MAX_MEMMAP && info.memmap().iter().all(|e| e.size != 0));
        assert!(info.modules().len() <= MAX_MODULES);
        assert!(info.cmdline.len() <= MAX_CMDLINE && !info.cmdline.contains(&0));
        let _ = info.usable_ram();
    }
});
