//! x86-64 specifics: PVH entry, descriptor tables, traps, APICs, port I/O.
pub mod apic;
pub mod cpuid;
pub mod cr3;
pub mod exception;
pub mod gdt;
pub mod idt;
pub mod ioapic;
pub mod kvm;
pub mod layout;
pub mod mmio;
pub mod pic;
pub mod port;
pub mod pvh_entry;
pub mod rng;
pub mod trap;
pub mod tsc;
pub mod user;
