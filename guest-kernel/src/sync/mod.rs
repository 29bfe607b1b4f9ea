//! Kernel locks. Every lock in the kernel is a [`SpinLock`], so the
//! paravirtual slow path (yield to the host instead of spinning against a
//! preempted vCPU) is added in exactly one place.
mod spinlock;
pub use spinlock::SpinLock;
