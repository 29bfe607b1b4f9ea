//! What a snapshot holds of each virtio device: the host end to reopen,
//! the transport's registers and the core's negotiation and queues. Plain
//! data; `snapshot::devices` writes and reads it, each transport saves
//! and restores its own part.
//!
//! The config generation is not kept: no device here ever changes its
//! config on its own, so it is always 0.
use std::path::PathBuf;

use super::backend::NetArgs;
use super::msix::VECTORS;
use super::queue::QueueState;

/// One device, in device order (the order of its window or PCI slot).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceState {
    /// Its virtio-mmio window or BAR 0, which must be where the layout
    /// puts device number n again.
    pub base: u64,
    pub kind: DeviceKind,
    pub core: CoreState,
    pub transport: TransportState,
}

/// The device type and its host end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    /// Reopened from `path`; `sectors` must still be its size.
    Blk {
        path: PathBuf,
        read_only: bool,
        sectors: u64,
    },
    /// Reopened from `backend` (a tap by name, a UDP pair, a loopback).
    Net {
        backend: NetArgs,
        mac: [u8; 6],
    },
    Balloon {
        actual: u32,
    },
}

impl DeviceKind {
    pub fn name(&self) -> &'static str {
        match self {
            DeviceKind::Blk { .. } => "virtio-blk",
            DeviceKind::Net { .. } => "virtio-net",
            DeviceKind::Balloon { .. } => "virtio-balloon",
        }
    }
}

/// The transport-independent part ([`super::core::VirtioCore`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoreState {
    pub status: u32,
    pub driver_features: u64,
    /// Failed (DEVICE_NEEDS_RESET) when saved: it stays failed.
    pub failed: bool,
    pub queues: Vec<QueueState>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransportState {
    Mmio { features_sel: u32, driver_features_sel: u32, queue_sel: u32, interrupt_status: u32 },
    Pci(PciState),
}

/// A virtio-pci function's registers beyond the core.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PciState {
    pub command: u16,
    /// BAR 0 low/high in the middle of sizing.
    pub sizing: [bool; 2],
    pub interrupt_line: u8,
    pub features_sel: u32,
    pub driver_features_sel: u32,
    pub queue_sel: u16,
    pub msix: MsixState,
}

/// MSI-X: the table, the enable and mask bits, the vectors the driver
/// chose, the pending bits and the ISR.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MsixState {
    pub table: [[u32; 4]; VECTORS],
    pub enabled: bool,
    pub function_masked: bool,
    pub config_vector: u16,
    pub queue_vectors: Vec<u16>,
    pub pending: u32,
    pub isr: u32,
}
