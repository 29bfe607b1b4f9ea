//! virtio devices on the virtio-mmio transport.

pub mod layout;
pub mod queue;
