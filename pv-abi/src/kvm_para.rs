//! KVM's paravirtual interface as a guest finds it: the CPUID leaves, the
//! feature bits of leaf 0x4000_0001, the MSRs and the steal-time record.
//! Numbers from Linux `arch/x86/include/uapi/asm/kvm_para.h` and
//! `Documentation/virt/kvm/x86/{cpuid,msr}.rst`; the kernel uses them, and
//! vmm-harness may use them to decide what to offer.

/// EBX, ECX, EDX = "KVMKVMKVM\0\0\0"; EAX = the highest KVM leaf.
pub const CPUID_SIGNATURE: u32 = 0x4000_0000;
/// EAX = the feature bits below (bit numbers); EDX = hints.
pub const CPUID_FEATURES: u32 = 0x4000_0001;

/// Bit numbers in `CPUID_FEATURES` EAX.
pub mod feature {
    pub const CLOCKSOURCE: u32 = 0;
    pub const NOP_IO_DELAY: u32 = 1;
    /// kvmclock at the `msr::WALL_CLOCK_NEW` / `msr::SYSTEM_TIME_NEW` pair.
    pub const CLOCKSOURCE2: u32 = 3;
    pub const ASYNC_PF: u32 = 4;
    /// `msr::STEAL_TIME`.
    pub const STEAL_TIME: u32 = 5;
    /// `msr::PV_EOI_EN`.
    pub const PV_EOI: u32 = 6;
    /// Halted vCPUs can be woken by `hypercall::KICK_CPU` (PV spinlocks).
    pub const PV_UNHALT: u32 = 7;
    /// Preempted vCPUs may be flagged `FLUSH_TLB` in their steal-time record.
    pub const PV_TLB_FLUSH: u32 = 9;
    pub const ASYNC_PF_VMEXIT: u32 = 10;
    /// `hypercall::SEND_IPI`.
    pub const PV_SEND_IPI: u32 = 11;
    /// `msr::POLL_CONTROL`.
    pub const POLL_CONTROL: u32 = 12;
    /// `hypercall::SCHED_YIELD`.
    pub const PV_SCHED_YIELD: u32 = 13;
    pub const ASYNC_PF_INT: u32 = 14;
    pub const MSI_EXT_DEST_ID: u32 = 15;
    pub const HC_MAP_GPA_RANGE: u32 = 16;
    pub const MIGRATION_CONTROL: u32 = 17;
    /// kvmclock's PVCLOCK_TSC_STABLE_BIT means what it says.
    pub const CLOCKSOURCE_STABLE_BIT: u32 = 24;
}

/// True when `eax` (of `CPUID_FEATURES`) has feature bit `bit`.
pub const fn has(eax: u32, bit: u32) -> bool {
    bit < 32 && eax & (1 << bit) != 0
}

/// KVM's MSRs.
pub mod msr {
    /// Write the GPA of a `pvclock_wall_clock`; the host fills it once.
    pub const WALL_CLOCK_NEW: u32 = 0x4b56_4d00;
    /// GPA of this vCPU's `pvclock_vcpu_time_info` | 1.
    pub const SYSTEM_TIME_NEW: u32 = 0x4b56_4d01;
    pub const ASYNC_PF_EN: u32 = 0x4b56_4d02;
    /// GPA of this vCPU's 64-byte aligned [`super::steal`] record |
    /// [`super::steal::ENABLE`].
    pub const STEAL_TIME: u32 = 0x4b56_4d03;
    pub const PV_EOI_EN: u32 = 0x4b56_4d04;
    /// Bit 0 set: the host may poll when this vCPU halts; 0: it must not
    /// (the guest polls itself).
    pub const POLL_CONTROL: u32 = 0x4b56_4d05;
    pub const ASYNC_PF_INT: u32 = 0x4b56_4d06;
    pub const ASYNC_PF_ACK: u32 = 0x4b56_4d07;
    pub const MIGRATION_CONTROL: u32 = 0x4b56_4d08;
}

/// Hypercall numbers (RAX of `vmcall`/`vmmcall`). Listed so they are written
/// down once; on kvm-pvm any hypercall hangs the vCPU.
pub mod hypercall {
    pub const KICK_CPU: u64 = 5;
    pub const SEND_IPI: u64 = 10;
    pub const SCHED_YIELD: u64 = 11;
}

/// The steal-time record (`struct kvm_steal_time`, 64 bytes): the host
/// writes it at every entry of the vCPU, under the same odd/even `version`
/// protocol as kvmclock.
pub mod steal {
    /// Size and required alignment of the record.
    pub const SIZE: usize = 64;
    /// u64: ns the vCPU was runnable but not running (halted time is not steal).
    pub const OFFSET_STEAL: usize = 0;
    /// u32: odd while the host is writing.
    pub const OFFSET_VERSION: usize = 8;
    /// u32: 0.
    pub const OFFSET_FLAGS: usize = 12;
    /// u8: [`PREEMPTED`] and [`FLUSH_TLB`].
    pub const OFFSET_PREEMPTED: usize = 16;
    /// Bit 0 of the MSR value: the host keeps the record.
    pub const ENABLE: u64 = 1;
    /// `preempted` bit 0: the host descheduled the vCPU (cleared at entry).
    pub const PREEMPTED: u8 = 1 << 0;
    /// `preempted` bit 1: set by another vCPU; the host flushes this vCPU's
    /// TLB before it next runs.
    pub const FLUSH_TLB: u8 = 1 << 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_bits_match_kvm_pvm_leaf() {
        // kvm-pvm's raw leaf (shared/docs/kvm-test-bed.md).
        let eax = 0x0100_7efb;
        for bit in [feature::CLOCKSOURCE2, feature::STEAL_TIME, feature::POLL_CONTROL, feature::CLOCKSOURCE_STABLE_BIT]
        {
            assert!(has(eax, bit), "bit {bit}");
        }
        assert!(!has(eax, 2) && !has(eax, 8) && !has(eax, 15));
        assert!(!has(u32::MAX, 32));
    }
}
