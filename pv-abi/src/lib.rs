//! The one definition of every interface Vireo's guest shares: with the VMM
//! (boot protocol, boot-trace codes, exit protocol) and, later, with user space
//! (syscalls, runtime pages). The kernel, user space and `vmm-harness` all use
//! this crate so that no layout or number is written down twice.
#![no_std]
#![forbid(unsafe_code)]

pub mod acpi;
pub mod boot_trace;
pub mod clock;
pub mod exit;
pub mod kvm_para;
pub mod le;
pub mod motor;
pub mod procinfo;
pub mod pvh;
pub mod serial;
pub mod syscall;

/// Bytes in a page: the granularity of every mapping, in the kernel, in
/// user space (`Map`, program segments) and in the VMM's guest layout.
pub const PAGE_SIZE: u64 = 4096;

/// The most vCPUs a Vireo guest runs on: the kernel's per-CPU tables have
/// this many slots, and vmm-harness refuses to create more.
pub const MAX_CPUS: usize = 64;
