//! The runtime (`lib/motor-rt`) builds for the guest only; its pure fs
//! module has no system calls, so it is compiled here, on the host, as is.
extern crate alloc;

#[path = "../../../lib/motor-rt/src/fs/pure.rs"]
pub mod pure;
