//! The legacy 8259 PICs: masked, since the kernel uses the (IO)APIC.
//! Harmless on VMMs without a PIC (Cloud Hypervisor): the writes are ignored.
use super::port::outb;

pub fn disable_legacy() {
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
}
