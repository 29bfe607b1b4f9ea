//! Virtio for Vireo's user-space drivers (issue 11, "Virtio" and
//! "virtio-blk"): the two transports QEMU and Cloud Hypervisor offer
//! (virtio-mmio version 2 and modern virtio-pci with MSI-X), a split
//! virtqueue with many requests in flight, a virtio-blk driver, a
//! virtio-net driver (issue 12) and virtio-balloon's free-page reporting
//! (issue 13).
//!
//! Everything the device writes (queue sizes, used-ring entries, config
//! space, status bytes) is checked, and a device that lies gets a typed
//! [`Error`], never a panic. Hardware access sits behind two small traits,
//! [`Regs`] (a register window) and [`dma::Dma`] (memory the device reads
//! and writes), so the host unit tests drive the same code against a mock
//! device in plain memory; [`sys`] binds them to the kernel's device calls.
//!
//! Why not the `virtio-drivers` crate: its `Hal` trait is a set of
//! associated functions (no `self`), so the per-device handle that our
//! `DmaAlloc` and `DeviceMap` need would have to live in a global; it maps
//! PCI BARs by physical address through `mmio_phys_to_virt` and reads
//! config space through its own ECAM root, while our kernel gives a driver
//! BAR windows by (BAR, offset) and config space only through
//! `ConfigRead`/`ConfigWrite`; and its PCI transport leaves the MSI-X
//! vectors unprogrammed (INTx and the ISR), which Cloud Hypervisor, having
//! only MSI-X, cannot serve. Its queue code also asserts on some device
//! misbehaviour. The split ring is small; we own it.
#![cfg_attr(not(test), no_std)]

pub mod balloon;
pub mod blk;
pub mod dma;
pub mod error;
pub mod features;
pub mod mmio;
pub mod net;
pub mod pci;
pub mod queue;
pub mod regs;
#[cfg(feature = "rt")]
pub mod sys;
pub mod transport;

#[cfg(test)]
mod mock;

pub use error::Error;
pub use regs::Regs;
pub use transport::Transport;
