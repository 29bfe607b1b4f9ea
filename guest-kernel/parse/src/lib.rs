//! The kernel's parsers of bytes it does not control: ACPI tables and PVH
//! `hvm_start_info` (from the VMM), the initrd's cpio archive and the ELF
//! programs in it (from whoever built the image).
//!
//! Pure parsing over `&[u8]`: no hardware access, no page tables, no
//! allocation and no `unsafe`. The kernel turns physical memory into slices
//! (through [`PhysMem`]) at its call sites. Every parser returns a typed
//! error for malformed input and never panics; the fuzz targets in `fuzz/`
//! (`make fuzz-parsers`) hold it to that.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

pub mod acpi;
pub mod cpio;
pub mod elf;
pub mod le;
pub mod mem;
pub mod start_info;
#[cfg(any(test, feature = "testdata"))]
pub mod testdata;
pub mod virtio_mmio;

pub use mem::{PhysMem, SliceMem};
