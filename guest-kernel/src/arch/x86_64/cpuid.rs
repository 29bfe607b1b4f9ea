//! Every CPUID question the kernel asks, in one place, on the `raw-cpuid`
//! crate. Each answer is one or two CPUID executions (a VM exit each under
//! hardware virtualisation), so callers ask once and keep the result.
use raw_cpuid::{cpuid, CpuId, CpuIdReaderNative};

fn cpu() -> CpuId<CpuIdReaderNative> {
    CpuId::new()
}

fn feature(f: impl FnOnce(&raw_cpuid::FeatureInfo) -> bool) -> bool {
    cpu().get_feature_info().is_some_and(|i| f(&i))
}

pub fn has_x2apic() -> bool {
    feature(|i| i.has_x2apic())
}

pub fn has_tsc_deadline() -> bool {
    feature(|i| i.has_tsc_deadline())
}

/// Global pages (PGE).
pub fn has_global_pages() -> bool {
    feature(|i| i.has_pge())
}

pub fn has_xsave() -> bool {
    feature(|i| i.has_xsave())
}

pub fn has_rdrand() -> bool {
    feature(|i| i.has_rdrand())
}

pub fn has_rdseed() -> bool {
    cpu().get_extended_feature_info().is_some_and(|i| i.has_rdseed())
}

/// 1 GiB pages for the direct map.
pub fn has_1g_pages() -> bool {
    cpu().get_extended_processor_and_feature_identifiers().is_some_and(|i| i.has_1gib_pages())
}

/// An AMD (or Hygon) CPU: hypercalls are `vmmcall` there, `vmcall` elsewhere.
pub fn is_amd() -> bool {
    cpu().get_vendor_info().is_some_and(|v| matches!(v.as_str(), "AuthenticAMD" | "HygonGenuine"))
}

/// CPUID.1:ECX[31]: running under a hypervisor.
pub fn under_hypervisor() -> bool {
    feature(|i| i.has_hypervisor())
}

/// The calling CPU's APIC ID: the full x2APIC ID from the extended
/// topology leaf when the CPU has it, else the 8-bit initial APIC ID.
pub fn apic_id() -> u32 {
    let cpu = cpu();
    if let Some(level) = cpu.get_extended_topology_info().and_then(|mut t| t.next()) {
        return level.x2apic_id();
    }
    cpu.get_feature_info().map_or(0, |i| u32::from(i.initial_local_apic_id()))
}

/// What XSAVE can hold: (whether AVX state is supported, the area size for
/// the features XCR0 enables now).
pub fn xsave_layout() -> Option<(bool, u32)> {
    let s = cpu().get_extended_state_info()?;
    Some((s.xcr0_supports_avx_256(), s.xsave_area_size_enabled_features()))
}

/// TSC Hz from leaf 0x15 (crystal Hz * numerator / denominator), when the
/// CPU states all three. Without a crystal value Linux falls back to leaf
/// 0x16, as [`base_frequency_hz`] does.
pub fn leaf15_tsc_hz() -> Option<u64> {
    let t = cpu().get_tsc_info()?;
    let (num, den, crystal) = (t.numerator(), t.denominator(), t.nominal_frequency());
    (num != 0 && den != 0 && crystal != 0).then(|| u64::from(crystal) * u64::from(num) / u64::from(den))
}

/// Leaf 0x16's processor base frequency in Hz; on Intel parts without a
/// crystal value the TSC runs at it.
pub fn base_frequency_hz() -> Option<u64> {
    let mhz = cpu().get_processor_frequency_info()?.processor_base_frequency();
    (mhz != 0).then(|| u64::from(mhz) * 1_000_000)
}

/// "KVMKVMKVM\0\0\0" as EBX, ECX, EDX.
const KVM_SIGNATURE: [u32; 3] = [0x4b4d_564b, 0x564b_4d56, 0x0000_004d];
const HYPERVISOR_BASE: u32 = 0x4000_0000;
const HYPERVISOR_END: u32 = 0x4001_0000;
const HYPERVISOR_STEP: u32 = 0x100;
/// The VMware-style timing leaf, relative to a hypervisor range's base.
const TIMING_LEAF_OFFSET: u32 = 0x10;

/// What the hypervisor ranges (0x4000_0000..0x4001_0000) offer.
#[derive(Clone, Copy, Debug, Default)]
pub struct HypervisorLeaves {
    /// KVM_CPUID_FEATURES EAX, when a KVM signature was found.
    pub kvm_features: Option<u32>,
    /// TSC kHz from leaf base+0x10, when a range reaches it and it is non-zero.
    pub timing_tsc_khz: Option<u32>,
}

/// Walks the hypervisor ranges by hand: `raw-cpuid` reads only the first,
/// and a VMM may put KVM's leaves behind another's (Hyper-V style) range.
/// Each probed leaf is a CPUID exit, so the scan stops at the first range
/// without a header instead of walking all 256.
pub fn hypervisor_leaves() -> HypervisorLeaves {
    let mut out = HypervisorLeaves::default();
    if !under_hypervisor() {
        return out;
    }
    let mut base = HYPERVISOR_BASE;
    while base < HYPERVISOR_END {
        let r = cpuid!(base, 0);
        let is_kvm = [r.ebx, r.ecx, r.edx] == KVM_SIGNATURE;
        // Old KVM hosts report max leaf 0, meaning base + 1.
        let max = if is_kvm && r.eax == 0 { base + 1 } else { r.eax };
        if max < base || max > base + (HYPERVISOR_STEP - 1) {
            break;
        }
        let timing = if max >= base + TIMING_LEAF_OFFSET {
            Some(cpuid!(base + TIMING_LEAF_OFFSET, 0).eax).filter(|&khz| khz != 0)
        } else {
            None
        };
        if is_kvm {
            out.kvm_features = Some(cpuid!(base + 1, 0).eax);
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
