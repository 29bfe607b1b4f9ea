//! What the VMM hands the kernel at boot.
pub mod cmdline;
pub mod start_info;
