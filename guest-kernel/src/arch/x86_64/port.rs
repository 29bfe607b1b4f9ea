//! Typed port I/O. Every port the kernel touches is named in one place
//! (pv-abi for the ones shared with VMMs) and written through these helpers.
use ::x86_64::instructions::port::Port;

/// Writes one byte to an I/O port.
pub fn outb(port: u16, value: u8) {
    // SAFETY: the ports the kernel writes are fixed platform devices (UART,
    // debug port, ACPI registers) whose writes have no memory-safety effects.
    unsafe { Port::<u8>::new(port).write(value) }
}

/// Writes a 16-bit value to an I/O port.
pub fn outw(port: u16, value: u16) {
    // SAFETY: as for `outb`.
    unsafe { Port::<u16>::new(port).write(value) }
}

/// Writes a 32-bit value to an I/O port.
pub fn outl(port: u16, value: u32) {
    // SAFETY: as for `outb`.
    unsafe { Port::<u32>::new(port).write(value) }
}

/// Reads one byte from an I/O port.
pub fn inb(port: u16) -> u8 {
    // SAFETY: reads of the platform device ports the kernel uses have no
    // memory-safety effects.
    unsafe { Port::<u8>::new(port).read() }
}

/// Reads a 32-bit value from an I/O port.
pub fn inl(port: u16) -> u32 {
    // SAFETY: as for `inb`.
    unsafe { Port::<u32>::new(port).read() }
}
