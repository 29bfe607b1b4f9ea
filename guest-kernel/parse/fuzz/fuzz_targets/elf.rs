//! The program loader: header, program headers, segment placement and
//! relocations. A loaded image must map only page-aligned, disjoint, non-W+X
//! ranges in user space, write only inside them, and start in an executable
//! one; a refused image must map nothing. The raw-ABI note lookup (which
//! decides whether a program gets the std runtime) runs on the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pv_abi::syscall::{layout, prot};
use vireo_parse::elf::load;
use vireo_parse_fuzz::Memory;

fuzz_target!(|data: &[u8]| {
    let _ = vireo_parse::elf::note::has_raw_abi_note(data);
    let mut mem = Memory::default();
    match load(data, layout::PROGRAM_BASE, &mut mem) {
        Ok(l) => {
            let exec = mem.maps.iter().any(|&(va, len, p)| p & prot::EXEC != 0 && (va..va + len).contains(&l.entry));
            assert!(exec, "entry {:#x} not in an executable mapping", l.entry);
            assert!(l.image_start < l.image_end);
        }
        Err(e) => assert!(mem.maps.is_empty() && mem.writes == 0, "{e:?} after mapping"),
    }
});
