//! Boot-trace codes: one byte written to I/O port 0x80 at each boot milestone.
//!
//! Cloud Hypervisor logs every write to its debug port with the time since VM
//! start and treats 0x40/0x41 as its own boot-time metric; vmm-harness
//! timestamps the same writes. Firecracker instead timestamps a write of
//! [`FC_BOOT_TIMER_MAGIC`] to [`FC_BOOT_TIMER_MMIO`]; vmm-harness honours both.

/// The debug port (POST code port) the codes are written to.
pub const PORT: u16 = 0x80;

/// First instruction of the kernel (PVH entry).
pub const KERNEL_ENTRY: u8 = 0x40;
/// Just before the first user-mode instruction (Cloud Hypervisor's "boot done").
pub const USER_ENTRY: u8 = 0x41;
/// Kernel initialisation finished (memory, CPUs, clocks, devices).
pub const KERNEL_INIT_DONE: u8 = 0x42;
/// The init process reports it is ready to serve.
pub const INIT_READY: u8 = 0x43;
/// Not a milestone: asks vmm-harness (run with `--snapshot-dir`) to snapshot
/// the VM now, as SIGUSR1 does; other VMMs ignore it.
pub const SNAPSHOT_REQUEST: u8 = 0x50;

/// Firecracker's boot-timer device: a guest write of the magic byte here is timestamped.
pub const FC_BOOT_TIMER_MMIO: u64 = 0xC000_0000;
/// The byte Firecracker's boot timer expects.
pub const FC_BOOT_TIMER_MAGIC: u8 = 123;

/// Human name of a trace code, for timelines and benchmark tables.
pub const fn name(code: u8) -> Option<&'static str> {
    match code {
        KERNEL_ENTRY => Some("kernel entry"),
        KERNEL_INIT_DONE => Some("kernel init done"),
        USER_ENTRY => Some("first user instruction"),
        INIT_READY => Some("init ready"),
        SNAPSHOT_REQUEST => Some("snapshot request"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_named() {
        let codes = [KERNEL_ENTRY, USER_ENTRY, KERNEL_INIT_DONE, INIT_READY];
        for (i, a) in codes.iter().enumerate() {
            assert!(name(*a).is_some());
            for b in &codes[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(name(0x00), None);
    }
}
