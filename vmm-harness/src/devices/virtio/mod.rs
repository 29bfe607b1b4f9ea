//! virtio devices on the virtio-mmio transport.

pub mod irq;
pub mod layout;
pub mod mmio;
pub mod queue;
pub mod blk;
