//! The legacy 16550 UART every supported VMM provides at COM1.

/// I/O base of COM1: Cloud Hypervisor, Firecracker, QEMU and vmm-harness.
pub const COM1_PORT: u16 = 0x3f8;
/// Number of I/O ports a 16550 decodes.
pub const COM_PORT_COUNT: u16 = 8;
/// ISA IRQ line of COM1.
pub const COM1_IRQ: u32 = 4;
