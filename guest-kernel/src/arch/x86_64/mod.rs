//! x86-64 specifics: PVH entry, descriptor tables, traps, APICs, port I/O.
pub mod apic;
pub mod boot;
pub mod cpuid;
pub mod exception;
pub mod gdt;
pub mod idt;
pub mod ioapic;
pub mod layout;
pub mod pic;
pub mod port;
pub mod trap;
pub mod user;
