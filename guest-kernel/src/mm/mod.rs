//! Memory management.
pub mod phys;
