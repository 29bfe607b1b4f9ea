//! What the fuzz targets share: the ELF loader's fake address space.
use pv_abi::syscall::{layout, prot, Error};
use vireo_parse::elf::UserMemory;

/// Records the loader's mappings and checks every write lands inside one.
#[derive(Default)]
pub struct Memory {
    pub maps: Vec<(u64, u64, u64)>,
    pub writes: usize,
}

impl UserMemory for Memory {
    fn map_zeroed(&mut self, va: u64, len: u64, prot: u64) -> Result<(), Error> {
        let end = va.checked_add(len).expect("mapping wraps");
        assert!(va % 4096 == 0 && len % 4096 == 0 && len > 0, "unaligned mapping {va:#x}+{len:#x}");
        assert!(va >= layout::PROGRAM_BASE && end <= layout::USER_END, "mapping {va:#x}+{len:#x} outside user space");
        assert!(prot & (prot::WRITE | prot::EXEC) != prot::WRITE | prot::EXEC, "W+X mapped");
        assert!(self.maps.iter().all(|&(s, l, _)| end <= s || va >= s + l), "{va:#x} mapped twice");
        self.maps.push((va, len, prot));
        Ok(())
    }

    fn write(&mut self, va: u64, bytes: &[u8]) -> Result<(), Error> {
        self.writes += 1;
        let end = va.checked_add(bytes.len() as u64).expect("write wraps");
        assert!(self.maps.iter().any(|&(s, l, _)| va >= s && end <= s + l), "write at {va:#x} outside the mappings");
        Ok(())
    }
}
