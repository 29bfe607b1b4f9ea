//! What the fuzz targets share: the ELF loader's fake address space and
//! the checks on a set of virtio-mmio transports.
use pv_abi::syscall::{layout, prot, Error};
use vireo_parse::elf::UserMemory;
use vireo_parse::virtio_mmio::{AddError, Transport, Transports, MAX_TRANSPORTS};

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

/// Adds `found` to a [`Transports`] set as the kernel does and checks what
/// it keeps: at most [`MAX_TRANSPORTS`], each one of `found`, no two
/// overlapping, and each refusal explained by one kept before it.
pub fn check_transport_set(found: &[Transport]) {
    let mut set = Transports::new();
    for t in found {
        match set.add(*t) {
            Ok(()) => {}
            Err(AddError::Duplicate) => assert!(set.as_slice().contains(t)),
            Err(AddError::Overlaps(old)) => assert!(set.as_slice().contains(&old) && old != *t),
            Err(AddError::Full) => assert_eq!(set.as_slice().len(), MAX_TRANSPORTS),
            Err(AddError::BadWindow) => panic!("{t:?} came from a parser"),
        }
    }
    let kept = set.as_slice();
    assert!(kept.len() <= MAX_TRANSPORTS);
    for (i, a) in kept.iter().enumerate() {
        assert!(found.contains(a));
        let end = a.end().expect("kept an empty or wrapping window");
        for b in &kept[i + 1..] {
            assert!(end <= b.base || b.end().unwrap() <= a.base, "{a:?} overlaps {b:?}");
        }
    }
}
