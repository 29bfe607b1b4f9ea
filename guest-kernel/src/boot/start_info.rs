//! Validation of PVH `hvm_start_info` (v1) into a [`BootInfo`] the rest of
//! the kernel can trust: `vireo_parse::start_info` over the direct map.
use crate::mm::phys::Phys;

pub use vireo_parse::start_info::{BootInfoError, MAX_MEMMAP, MAX_MODULES};

/// Boot information borrowed from boot-handover memory, which `mm` reserves
/// for the kernel's lifetime.
pub type BootInfo = vireo_parse::start_info::BootInfo<'static>;

/// Reads the `hvm_start_info` the VMM left at `start_info_paddr`.
pub fn parse(start_info_paddr: u64) -> Result<BootInfo, BootInfoError> {
    BootInfo::parse(&Phys, start_info_paddr)
}
