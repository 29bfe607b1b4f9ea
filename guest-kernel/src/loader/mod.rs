//! The program loader: static-PIE ELF64 executables placed in a user
//! address space. It is `vireo_parse::elf` (host-tested and fuzzed); the
//! kernel's part is the [`UserMemory`] a process's `Vm` implements.
pub use vireo_parse::elf::{load, UserMemory};
