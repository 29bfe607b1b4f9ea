//! kvm-pvm hosts (a /dev/kvm that emulates guest ring 0 instead of running it
//! under VMX/SVM; `/sys/module/kvm_pvm` exists): any KVM hypercall hangs the
//! vCPU there, because kvm-pvm rewrites the instruction and re-runs it, so
//! KVM_RUN never returns. The harness therefore hides the PV features whose
//! only use is a hypercall, and disables KVM's fix-hypercall quirk so that a
//! stray `vmcall`/`vmmcall` is a #UD in the guest instead of a hang.
//! Elsewhere (hardware KVM, the nested test bed) hypercalls work and nothing
//! is masked. Facts: /work/shared/docs/kvm-test-bed.md.

use std::path::Path;

use kvm_bindings::{kvm_cpuid_entry2, kvm_enable_cap, KVM_CAP_DISABLE_QUIRKS2, KVM_X86_QUIRK_FIX_HYPERCALL_INSN};
use kvm_ioctls::VmFd;

use crate::error::{Error, Result};

/// The KVM features leaf (CPUID 0x4000_0001 EAX).
const LEAF_KVM_FEATURES: u32 = 0x4000_0001;
const KVM_FEATURE_PV_UNHALT: u32 = 1 << 7;
const KVM_FEATURE_PV_TLB_FLUSH: u32 = 1 << 9;
const KVM_FEATURE_PV_SEND_IPI: u32 = 1 << 11;
const KVM_FEATURE_PV_SCHED_YIELD: u32 = 1 << 13;
/// What a guest uses only through hypercalls (KICK_CPU, FLUSH_TLB via the
/// steal-time record plus SEND_IPI, SEND_IPI, SCHED_YIELD).
pub const HANGING_PV_FEATURES: u32 =
    KVM_FEATURE_PV_UNHALT | KVM_FEATURE_PV_TLB_FLUSH | KVM_FEATURE_PV_SEND_IPI | KVM_FEATURE_PV_SCHED_YIELD;

const SYS_MODULE_KVM_PVM: &str = "/sys/module/kvm_pvm";

/// True when /dev/kvm is kvm-pvm.
pub fn detected() -> bool {
    Path::new(SYS_MODULE_KVM_PVM).exists()
}

/// Clears [`HANGING_PV_FEATURES`] from the KVM features leaf.
pub fn mask_cpuid(entries: &mut [kvm_cpuid_entry2]) {
    for e in entries.iter_mut().filter(|e| e.function == LEAF_KVM_FEATURES) {
        e.eax &= !HANGING_PV_FEATURES;
    }
}

/// Disables KVM_X86_QUIRK_FIX_HYPERCALL_INSN (KVM then injects #UD for a
/// hypercall instruction it would otherwise patch and re-run). A kernel that
/// does not offer the quirk's switch is left alone: the CPUID mask still
/// keeps a well-behaved guest from any hypercall.
pub fn disable_fix_hypercall_quirk(vm: &VmFd) -> Result<()> {
    let quirk = u64::from(KVM_X86_QUIRK_FIX_HYPERCALL_INSN);
    // KVM_CHECK_EXTENSION(KVM_CAP_DISABLE_QUIRKS2) returns the mask of quirks that can be disabled.
    let supported = vm.check_extension_raw(libc::c_ulong::from(KVM_CAP_DISABLE_QUIRKS2));
    if supported <= 0 || (supported as u64) & quirk == 0 {
        return Ok(());
    }
    let mut cap = kvm_enable_cap { cap: KVM_CAP_DISABLE_QUIRKS2, ..Default::default() };
    cap.args[0] = quirk;
    vm.enable_cap(&cap).map_err(Error::kvm("KVM_ENABLE_CAP (DISABLE_QUIRKS2: FIX_HYPERCALL_INSN)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_hypercall_features_are_masked() {
        // kvm-pvm's leaf as measured: EAX = 0x01007efb.
        let mut v = vec![
            kvm_cpuid_entry2 { function: 0x4000_0000, eax: 0x4000_0001, ..Default::default() },
            kvm_cpuid_entry2 { function: LEAF_KVM_FEATURES, eax: 0x0100_7efb, ..Default::default() },
        ];
        mask_cpuid(&mut v);
        assert_eq!(v[0].eax, 0x4000_0001);
        // Clocksource, steal time, PV EOI, poll control, async PF and the stable bit stay.
        assert_eq!(v[1].eax, 0x0100_7efb & !((1 << 7) | (1 << 9) | (1 << 11) | (1 << 13)));
        assert_eq!(v[1].eax, 0x0100_547b);
    }
}
