//! CPUID feature checks the kernel makes more than once.
use core::arch::x86_64::{CpuidResult, __cpuid, __cpuid_count};

pub fn leaf(leaf: u32) -> CpuidResult {
    __cpuid(leaf)
}

pub fn subleaf(leaf: u32, sub: u32) -> CpuidResult {
    __cpuid_count(leaf, sub)
}

pub fn has_x2apic() -> bool {
    leaf(1).ecx & (1 << 21) != 0
}

pub fn has_tsc_deadline() -> bool {
    leaf(1).ecx & (1 << 24) != 0
}

/// The initial APIC ID of the calling CPU (x2APIC ID when leaf 0xB exists).
pub fn apic_id() -> u32 {
    if leaf(0).eax >= 0xb {
        subleaf(0xb, 0).edx
    } else {
        leaf(1).ebx >> 24
    }
}
