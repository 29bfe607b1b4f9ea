//! The CPUID leaves time cares about. Every leaf is checked against its
//! range's maximum first: out-of-range leaves do not read as zero (Intel and
//! QEMU TCG return the highest basic leaf's data, e.g. leaf 0xd for 0x15).
use crate::arch::x86_64::cpuid::subleaf;
use core::arch::x86_64::CpuidResult;

/// "KVMKVMKVM\0\0\0" as EBX, ECX, EDX.
const KVM_SIGNATURE: [u32; 3] = [0x4b4d_564b, 0x564b_4d56, 0x0000_004d];
const HYPERVISOR_BASE: u32 = 0x4000_0000;
const HYPERVISOR_END: u32 = 0x4001_0000;
const HYPERVISOR_STEP: u32 = 0x100;
/// The VMware-style timing leaf, relative to a hypervisor range's base.
const TIMING_LEAF_OFFSET: u32 = 0x10;

const CPUID1_ECX_HYPERVISOR: u32 = 1 << 31;
pub const KVM_FEATURE_CLOCKSOURCE2: u32 = 1 << 3;
pub const KVM_FEATURE_CLOCKSOURCE_STABLE: u32 = 1 << 24;

fn cpuid(leaf: u32) -> CpuidResult {
    subleaf(leaf, 0)
}

/// What the hypervisor ranges (0x4000_0000..0x4001_0000) offer for time.
#[derive(Clone, Copy, Debug, Default)]
pub struct HypervisorLeaves {
    /// KVM_CPUID_FEATURES EAX, when a KVM signature was found.
    pub kvm_features: Option<u32>,
    /// TSC kHz from leaf base+0x10, when a range reaches it and it is non-zero.
    pub timing_tsc_khz: Option<u32>,
}

/// Each probed leaf is a CPUID exit on a hardware hypervisor, so the scan
/// stops at the first range without a header instead of walking all 256.
pub fn hypervisor_leaves() -> HypervisorLeaves {
    let mut out = HypervisorLeaves::default();
    if cpuid(1).ecx & CPUID1_ECX_HYPERVISOR == 0 {
        return out;
    }
    let mut base = HYPERVISOR_BASE;
    while base < HYPERVISOR_END {
        let r = cpuid(base);
        let is_kvm = [r.ebx, r.ecx, r.edx] == KVM_SIGNATURE;
        // Old KVM hosts report max leaf 0, meaning base + 1.
        let max = if is_kvm && r.eax == 0 { base + 1 } else { r.eax };
        if max < base || max > base + (HYPERVISOR_STEP - 1) {
            break;
        }
        let timing = if max >= base + TIMING_LEAF_OFFSET {
            Some(cpuid(base + TIMING_LEAF_OFFSET).eax).filter(|&khz| khz != 0)
        } else {
            None
        };
        if is_kvm {
            out.kvm_features = Some(cpuid(base + 1).eax);
            // KVM's own range (CHV adds 0x4000_0010 there) wins over another's.
            out.timing_tsc_khz = timing.or(out.timing_tsc_khz);
            break;
        }
        if out.timing_tsc_khz.is_none() {
            out.timing_tsc_khz = timing;
        }
        base += HYPERVISOR_STEP;
    }
    out
}

/// TSC Hz from leaf 0x15 (crystal Hz * EBX / EAX). When the crystal field is
/// zero, Linux derives it from leaf 0x16; we return `None` and let the caller
/// use 0x16 directly, which gives the same TSC frequency.
pub fn leaf15_tsc_hz() -> Option<u64> {
    if cpuid(0).eax < 0x15 {
        return None;
    }
    let r = cpuid(0x15);
    if r.eax == 0 || r.ebx == 0 || r.ecx == 0 {
        return None;
    }
    Some(u64::from(r.ecx) * u64::from(r.ebx) / u64::from(r.eax))
}

/// TSC Hz from leaf 0x16's base frequency (MHz, EAX[15:0]); on Intel parts
/// without a crystal value the TSC runs at the base frequency.
pub fn leaf16_tsc_hz() -> Option<u64> {
    if cpuid(0).eax < 0x16 {
        return None;
    }
    let mhz = cpuid(0x16).eax & 0xffff;
    (mhz != 0).then(|| u64::from(mhz) * 1_000_000)
}

/// CPUID.1:ECX[31]: running under a hypervisor.
pub fn under_hypervisor() -> bool {
    cpuid(1).ecx & CPUID1_ECX_HYPERVISOR != 0
}
