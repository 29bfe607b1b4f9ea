//! virtio devices on the virtio-mmio transport.

pub mod backend;
pub mod blk;
pub mod irq;
pub mod layout;
pub mod mmio;
pub mod net;
pub mod queue;
