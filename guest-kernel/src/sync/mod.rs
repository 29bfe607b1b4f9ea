//! Kernel locks. Every lock in the kernel is a [`SpinLock`], so the
//! paravirtual slow path (halt until kicked instead of spinning against a
//! preempted vCPU) is in exactly one place.
mod spinlock;
pub use spinlock::{set_slow_path, set_unfair, slow_path_counts, SlowPath, SpinLock, SPIN_LIMIT};
