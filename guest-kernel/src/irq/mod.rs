//! The interrupt layer: what a trap means. The arch trap entry hands every
//! trap to the dispatcher in `table`; subsystems register what they handle at init
//! (a handler per interrupt vector, one system-call handler, one handler
//! for exceptions raised in user mode, one hook run before every return to
//! user mode). Exceptions in the kernel end in a dump and power-off
//! (`kernel_fault`). Device interrupt vectors are handed out here too
//! (`vectors`), so drivers never pick numbers themselves.
//!
//! This keeps `arch` at the bottom: it imports nothing above it, and the
//! wiring of the kernel's own handlers lives above it, in `crate::trap_handlers`.
pub mod gsi;
mod kernel_fault;
mod table;
pub mod vectors;

pub use table::{install, register, set_syscall_handler, set_user_fault_handler, set_user_return_hook};
