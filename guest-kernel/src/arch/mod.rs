//! Architecture support. Vireo runs on x86-64 VMs only, but keeping the
//! architecture behind this module keeps hardware access in one place.
pub mod x86_64;
