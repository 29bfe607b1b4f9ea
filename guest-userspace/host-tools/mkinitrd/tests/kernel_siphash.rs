//! The kernel's SipHash-2-4 (`guest-kernel/src/entropy/siphash.rs`, behind
//! every std process's seed) against the paper's vector and std's SipHash.
#[path = "../../../../guest-kernel/src/entropy/siphash.rs"]
mod siphash;
