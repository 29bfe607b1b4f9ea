//! x86-64 specifics: PVH entry, port I/O, the CPU's tables.
pub mod boot;
pub mod layout;
pub mod port;
