//! vCPU set-up: CPUID (KVM's supported set patched per vCPU, as Cloud
//! Hypervisor does), boot MSRs, FPU, and the PVH entry state of vCPU 0.

use kvm_bindings::{kvm_cpuid_entry2, kvm_fpu, kvm_msr_entry, kvm_regs, kvm_segment, CpuId, Msrs};
use kvm_ioctls::VcpuFd;
use pv_abi::pvh::layout::START_INFO;
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

use crate::error::{Error, Result};

/// Boot GDT and (empty) IDT, where Cloud Hypervisor and Firecracker put them.
const GDT_ADDR: u64 = 0x500;
const IDT_ADDR: u64 = 0x520;
/// null, flat 32-bit code (0xc09b), flat data (0xc093), 32-bit TSS (0x008b, limit 0x67).
const GDT: [u64; 4] = [0, 0x00cf_9b00_0000_ffff, 0x00cf_9300_0000_ffff, 0x0000_8b00_0000_0067];
const CODE_SEL: u16 = 0x08;
const DATA_SEL: u16 = 0x10;
const TSS_SEL: u16 = 0x18;
const CR0_PE: u64 = 1;

const LEAF_FEATURES: u32 = 1;
const LEAF_TOPOLOGY: u32 = 0xb;
const LEAF_TOPOLOGY_V2: u32 = 0x1f;
const LEAF_HYPERVISOR: u32 = 0x4000_0000;
/// VMware-style timing leaf: EAX = TSC kHz, EBX = LAPIC bus kHz.
const LEAF_TIMING: u32 = 0x4000_0010;
const ECX_HYPERVISOR: u32 = 1 << 31;
/// KVM's LAPIC timer runs at 1 GHz.
const LAPIC_BUS_KHZ: u32 = 1_000_000;

// Boot MSRs (Cloud Hypervisor's `setup_msrs`).
const MSR_IA32_TSC: u32 = 0x10;
const MSR_IA32_SYSENTER_CS: u32 = 0x174;
const MSR_IA32_SYSENTER_ESP: u32 = 0x175;
const MSR_IA32_SYSENTER_EIP: u32 = 0x176;
const MSR_IA32_MISC_ENABLE: u32 = 0x1a0;
const MISC_ENABLE_FAST_STRING: u64 = 1;
const MSR_MTRR_DEF_TYPE: u32 = 0x2ff;
const MTRR_ENABLE_WB: u64 = (1 << 11) | 6;
const MSR_STAR: u32 = 0xc000_0081;
const MSR_LSTAR: u32 = 0xc000_0082;
const MSR_CSTAR: u32 = 0xc000_0083;
const MSR_SYSCALL_MASK: u32 = 0xc000_0084;
const MSR_KERNEL_GS_BASE: u32 = 0xc000_0102;

/// CPUID for the vCPU with `apic_id`: APIC ID in leaf 1 EBX[31:24] and in
/// leaves 0xB/0x1F EDX, the hypervisor bit, and (with a known TSC frequency)
/// leaf 0x4000_0010 with 0x4000_0000.EAX raised to reach it.
pub fn vcpu_cpuid(base: &[kvm_cpuid_entry2], apic_id: u32, tsc_khz: Option<u32>) -> Vec<kvm_cpuid_entry2> {
    let mut v: Vec<kvm_cpuid_entry2> = base.iter().filter(|e| e.function != LEAF_TIMING).copied().collect();
    for e in v.iter_mut() {
        match e.function {
            LEAF_FEATURES => {
                e.ebx = (e.ebx & 0x00ff_ffff) | (apic_id << 24);
                e.ecx |= ECX_HYPERVISOR;
            }
            LEAF_TOPOLOGY | LEAF_TOPOLOGY_V2 => e.edx = apic_id,
            LEAF_HYPERVISOR if tsc_khz.is_some() => e.eax = e.eax.max(LEAF_TIMING),
            _ => {}
        }
    }
    if let Some(khz) = tsc_khz {
        v.push(kvm_cpuid_entry2 { function: LEAF_TIMING, eax: khz, ebx: LAPIC_BUS_KHZ, ..Default::default() });
    }
    v
}

fn boot_msrs() -> Vec<kvm_msr_entry> {
    let msr = |index, data| kvm_msr_entry { index, data, ..Default::default() };
    vec![
        msr(MSR_IA32_SYSENTER_CS, 0),
        msr(MSR_IA32_SYSENTER_ESP, 0),
        msr(MSR_IA32_SYSENTER_EIP, 0),
        msr(MSR_STAR, 0),
        msr(MSR_CSTAR, 0),
        msr(MSR_KERNEL_GS_BASE, 0),
        msr(MSR_SYSCALL_MASK, 0),
        msr(MSR_LSTAR, 0),
        msr(MSR_IA32_TSC, 0),
        msr(MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING),
        msr(MSR_MTRR_DEF_TYPE, MTRR_ENABLE_WB),
    ]
}

/// CPUID, boot MSRs and FPU state; done for every vCPU.
pub fn setup_common(vcpu: &VcpuFd, base: &[kvm_cpuid_entry2], apic_id: u32, tsc_khz: Option<u32>) -> Result<()> {
    set_cpuid(vcpu, base, apic_id, tsc_khz)?;

    let entries = boot_msrs();
    let msrs = Msrs::from_entries(&entries).map_err(|e| Error::Setup(format!("MSR list: {e:?}")))?;
    let n = vcpu.set_msrs(&msrs).map_err(Error::kvm("KVM_SET_MSRS"))?;
    if let Some(bad) = entries.get(n) {
        let source = kvm_ioctls::Error::new(libc::EINVAL);
        return Err(Error::Kvm { op: msr_op(bad.index), source });
    }

    let fpu = kvm_fpu { fcw: 0x37f, mxcsr: 0x1f80, ..Default::default() };
    vcpu.set_fpu(&fpu).map_err(Error::kvm("KVM_SET_FPU"))
}

/// The vCPU's CPUID ([`vcpu_cpuid`] of `base`). Also all a restored vCPU
/// needs besides its saved state, which has the MSRs and the FPU.
pub fn set_cpuid(vcpu: &VcpuFd, base: &[kvm_cpuid_entry2], apic_id: u32, tsc_khz: Option<u32>) -> Result<()> {
    let cpuid = CpuId::from_entries(&vcpu_cpuid(base, apic_id, tsc_khz))
        .map_err(|e| Error::Setup(format!("CPUID table: {e:?}")))?;
    vcpu.set_cpuid2(&cpuid).map_err(Error::kvm("KVM_SET_CPUID2"))
}

fn msr_op(index: u32) -> &'static str {
    match index {
        MSR_IA32_TSC => "KVM_SET_MSRS (IA32_TSC)",
        MSR_IA32_MISC_ENABLE => "KVM_SET_MSRS (IA32_MISC_ENABLE)",
        MSR_MTRR_DEF_TYPE => "KVM_SET_MSRS (MTRRdefType)",
        _ => "KVM_SET_MSRS",
    }
}

fn segment(selector: u16, type_: u8) -> kvm_segment {
    kvm_segment {
        base: 0,
        limit: 0xffff_ffff,
        selector,
        type_,
        present: 1,
        dpl: 0,
        db: 1,
        s: 1,
        l: 0,
        g: 1,
        avl: 0,
        unusable: 0,
        padding: 0,
    }
}

/// Write the boot GDT/IDT and put vCPU 0 at the PVH entry: 32-bit protected
/// mode, paging off, flat CS 0x08 / DS 0x10, EBX = start_info, RFLAGS = 2.
pub fn setup_boot_vcpu(vcpu: &VcpuFd, mem: &GuestMemoryMmap, entry: u64) -> Result<()> {
    let mut gdt = [0u8; 32];
    for (chunk, e) in gdt.chunks_exact_mut(8).zip(GDT) {
        chunk.copy_from_slice(&e.to_le_bytes());
    }
    mem.write_slice(&gdt, GuestAddress(GDT_ADDR)).map_err(Error::write("the boot GDT"))?;
    mem.write_slice(&[0u8; 8], GuestAddress(IDT_ADDR)).map_err(Error::write("the boot IDT"))?;

    let mut sregs = vcpu.get_sregs().map_err(Error::kvm("KVM_GET_SREGS"))?;
    sregs.cs = segment(CODE_SEL, 0xb);
    let data = segment(DATA_SEL, 0x3);
    (sregs.ds, sregs.es, sregs.fs, sregs.gs, sregs.ss) = (data, data, data, data, data);
    sregs.tr = kvm_segment { limit: 0x67, db: 0, s: 0, g: 0, ..segment(TSS_SEL, 0xb) };
    sregs.gdt.base = GDT_ADDR;
    sregs.gdt.limit = (GDT.len() * 8 - 1) as u16;
    sregs.idt.base = IDT_ADDR;
    sregs.idt.limit = 7;
    sregs.cr0 = CR0_PE;
    sregs.cr3 = 0;
    sregs.cr4 = 0;
    sregs.efer = 0;
    vcpu.set_sregs(&sregs).map_err(Error::kvm("KVM_SET_SREGS"))?;

    let regs = kvm_regs { rflags: 2, rip: entry, rbx: START_INFO, ..Default::default() };
    vcpu.set_regs(&regs).map_err(Error::kvm("KVM_SET_REGS"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(function: u32, index: u32) -> kvm_cpuid_entry2 {
        kvm_cpuid_entry2 { function, index, eax: 1, ebx: 0x0008_0800, ecx: 2, edx: 3, ..Default::default() }
    }

    #[test]
    fn cpuid_is_patched_per_vcpu() {
        let base = vec![
            leaf(0, 0),
            leaf(1, 0),
            leaf(0xb, 0),
            leaf(0xb, 1),
            kvm_cpuid_entry2 { function: 0x4000_0000, eax: 0x4000_0001, ..Default::default() },
            leaf(0x4000_0001, 0),
        ];
        let v = vcpu_cpuid(&base, 5, Some(2_596_146));
        let get = |f, i| *v.iter().find(|e| e.function == f && e.index == i).unwrap();
        assert_eq!(get(1, 0).ebx, 0x0508_0800);
        assert_eq!(get(1, 0).ecx, 2 | (1 << 31));
        assert_eq!(get(0xb, 0).edx, 5);
        assert_eq!(get(0xb, 1).edx, 5);
        assert_eq!(get(0x4000_0000, 0).eax, 0x4000_0010);
        let t = get(0x4000_0010, 0);
        assert_eq!((t.eax, t.ebx), (2_596_146, 1_000_000));
        assert_eq!(get(0, 0), base[0]);

        let again = vcpu_cpuid(&v, 0, Some(1));
        assert_eq!(again.iter().filter(|e| e.function == 0x4000_0010).count(), 1);
        let no_tsc = vcpu_cpuid(&base, 0, None);
        assert_eq!(no_tsc.len(), base.len());
    }

    #[test]
    fn gdt_matches_segments() {
        // Decode the GDT code/data descriptors: limit 0xfffff with G=1, type, D/B.
        for (i, ty) in [(1usize, 0xbu64), (2, 0x3)] {
            let d = GDT[i];
            assert_eq!(d & 0xffff, 0xffff);
            assert_eq!((d >> 48) & 0xf, 0xf);
            assert_eq!((d >> 40) & 0xf, ty);
            assert_eq!((d >> 47) & 1, 1, "present");
            assert_eq!((d >> 54) & 1, 1, "32-bit");
            assert_eq!((d >> 55) & 1, 1, "4 KiB granularity");
        }
    }
}
