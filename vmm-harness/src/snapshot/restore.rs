//! `vmm-harness restore DIR`: a VM from a snapshot, in a new process. The
//! state file (and the CPUID table, cpuid.rs) is read and checked whole
//! before anything is created; RAM is
//! the snapshot's memory file mapped private (copy-on-write, faulted in as
//! the guest touches it, the file never written); then each vCPU, the
//! irqchips (after the vCPUs: [`put_irqchips`]), COM1, the virtio devices
//! (`devices::virtio::restore`) and the clock (moved on by the time the VM
//! was away, KVM_CLOCK_REALTIME) are put back, and the vCPUs run.
use std::convert::Infallible;
use std::fs::File;
use std::sync::Arc;

use kvm_bindings::{Msrs, KVM_CLOCK_REALTIME, KVM_MAX_CPUID_ENTRIES};
use kvm_ioctls::{Kvm, VcpuFd};
use pv_abi::serial::COM1_IRQ;
use vm_memory::mmap::MmapRegionBuilder;
use vm_memory::{Bytes, FileOffset, GuestAddress, GuestMemoryMmap, GuestRegionMmap};
use vmm_sys_util::eventfd::EventFd;

use super::state::{self, VcpuState, VmState};
use crate::cli::RestoreArgs;
use crate::cpu;
use crate::devices::serial::{Console, IrqTrigger, SerialPort};
use crate::devices::Devices;
use crate::error::{Error, Result};
use crate::ioapic::{self, RTE_LEVEL, RTE_REMOTE_IRR, RTE_VECTOR};
use crate::memory::{self, RamLayout};
use crate::pvm;
use crate::shutdown::Finisher;
use crate::timeline::{Kind, Timeline};
use crate::vcpu::Vcpu;

pub fn restore(args: &RestoreArgs, timeline: Arc<Timeline>, finisher: Arc<Finisher>) -> Result<Infallible> {
    let path = args.dir.display().to_string();
    let bad = |why: String| Error::Snapshot { path: path.clone(), why };
    let bytes = std::fs::read(args.dir.join("state")).map_err(|e| bad(format!("cannot read state: {e}")))?;
    let st = state::decode(&bytes).map_err(|e| bad(format!("state: {e}")))?;
    let layout = RamLayout::new(st.mem_mib);
    let file = File::open(super::memory_path(&args.dir)).map_err(|e| bad(format!("cannot open memory: {e}")))?;
    let want: u64 = layout.regions().iter().map(|&(_, len)| len).sum();
    let have = file.metadata().map_err(|e| bad(format!("memory: {e}")))?.len();
    if have != want {
        return Err(bad(format!("memory is {have} bytes, the state says {want}")));
    }
    let saved_cpuid = match std::fs::read(super::cpuid::path(&args.dir)) {
        Ok(b) => Some(super::cpuid::decode(&b).map_err(|e| bad(format!("cpuid: {e}")))?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(bad(format!("cannot read cpuid: {e}"))),
    };

    let kvm = Kvm::new().map_err(Error::KvmOpen)?;
    let vm = Arc::new(kvm.create_vm().map_err(Error::KvmUnusable)?);
    timeline.record(Kind::VmCreated);
    let mem = map_private(&layout, file)?;
    memory::register(&vm, &mem)?;
    timeline.record(Kind::MemoryReady);

    vm.set_tss_address(crate::vm::KVM_TSS_ADDR).map_err(Error::kvm("KVM_SET_TSS_ADDR"))?;
    vm.set_identity_map_address(crate::vm::KVM_IDENTITY_MAP_ADDR).map_err(Error::kvm("KVM_SET_IDENTITY_MAP_ADDR"))?;
    vm.create_irq_chip().map_err(Error::kvm("KVM_CREATE_IRQCHIP"))?;

    let cpuid = match saved_cpuid {
        Some(c) => c,
        None => supported_cpuid(&kvm)?,
    };
    if pvm::detected() {
        pvm::disable_fix_hypercall_quirk(&vm)?;
    }
    let fds = put_machine(&vm, &mem, &st, &cpuid)?;

    // Interrupts raised from here on (a restored InterruptStatus, a frame
    // the RX thread takes at once) find the vCPUs they are for.
    let irq = EventFd::new(libc::EFD_NONBLOCK).map_err(Error::EventFd)?;
    vm.register_irqfd(&irq, COM1_IRQ).map_err(Error::kvm("KVM_IRQFD"))?;
    let serial = SerialPort::from_state(&st.serial, IrqTrigger(irq), Console::new(timeline.clone()))
        .ok_or_else(|| bad("the COM1 state does not fit a 16550".into()))?;
    // The virtio devices' host ends are reopened as the snapshot recorded them.
    let virtio = crate::devices::virtio::restore(&st.devices, &vm, &mem)?;
    let devices = Arc::new(Devices::new(serial, timeline.clone()).with_mmio(virtio));
    let vcpus = fds
        .into_iter()
        .enumerate()
        .map(|(id, fd)| Vcpu { id: id as u64, fd, devices: devices.clone(), finisher: finisher.clone() })
        .collect();
    // After the vCPUs' TSCs: KVM then computes kvmclock from both.
    set_clock(&vm, &st)?;
    crate::vm::start(vcpus, &devices, &timeline, args.timeout_secs, args.snapshot_dir.clone(), vm, mem, st.mem_mib)
}

/// Each vCPU as saved, then the irqchips ([`put_irqchips`]): the vCPUs'
/// fds, in vCPU order.
fn put_machine(
    vm: &kvm_ioctls::VmFd,
    mem: &GuestMemoryMmap,
    st: &VmState,
    cpuid: &[kvm_bindings::kvm_cpuid_entry2],
) -> Result<Vec<VcpuFd>> {
    let mut fds = Vec::with_capacity(st.vcpus.len());
    let mut tsc_khz = None;
    for (id, saved) in st.vcpus.iter().enumerate() {
        let fd = vm.create_vcpu(id as u64).map_err(Error::kvm("KVM_CREATE_VCPU"))?;
        if id == 0 {
            tsc_khz = fd.get_tsc_khz().ok();
        }
        // The saved state has the MSRs and the FPU: only CPUID is set here.
        cpu::set_cpuid(&fd, cpuid, id as u32, tsc_khz)?;
        hand_back_pv_eoi(mem, saved);
        put_vcpu(&fd, saved)?;
        fds.push(fd);
    }
    put_irqchips(vm, st)?;
    Ok(fds)
}

/// The PICs and the IOAPIC as saved, once the vCPUs exist with their
/// LAPICs restored. KVM_SET_IRQCHIP delivers every pin the saved IOAPIC
/// has pending at once, and KVM's IOAPIC marks a level-triggered pin
/// "delivered, awaiting EOI" (remote IRR) even when no vCPU took it
/// (`ioapic_service`: `kvm_irq_delivery_to_apic` returns -1 for no
/// target, and any non-zero result sets remote IRR). Set before the vCPUs
/// exist, such a pin would wait for an EOI no vCPU will ever send: the
/// device's line dead for good, the restored VM idle with an empty ISR and
/// IRR (virtio-mmio, about one restore in ten in the test bed).
fn put_irqchips(vm: &kvm_ioctls::VmFd, st: &VmState) -> Result<()> {
    for chip in &st.irqchips {
        let mut chip = *chip;
        settle_ioapic(&mut chip, &st.vcpus);
        vm.set_irqchip(&chip).map_err(Error::kvm("KVM_SET_IRQCHIP"))?;
    }
    Ok(())
}

/// Whether `vector` is pending (IRR) or in service (ISR) in a saved LAPIC.
fn lapic_holds(lapic: &kvm_bindings::kvm_lapic_state, vector: u8) -> bool {
    let (reg, bit) = (usize::from(vector / 32) * 0x10, vector % 32);
    [0x100, 0x200].iter().any(|&base| {
        let at = base + reg;
        let word = u32::from_le_bytes(std::array::from_fn(|i| lapic.regs[at + i] as u8));
        word & (1 << bit) != 0
    })
}

/// Clears the remote IRR of a level-triggered IOAPIC pin whose vector no
/// vCPU holds. The vCPUs save their LAPICs before the irqchip is saved, and
/// a device thread may raise its line in between: the IOAPIC then records
/// the interrupt as delivered and awaiting EOI (remote IRR) while no saved
/// LAPIC has it, no EOI ever comes, and the line is dead for good.
/// Cleared, the pin's IRR (restored too) delivers it again, to the vCPU
/// it is for ([`put_irqchips`]).
fn settle_ioapic(chip: &mut kvm_bindings::kvm_irqchip, vcpus: &[VcpuState]) {
    let Some((entries, _)) = ioapic::entries(chip) else { return };
    for (pin, bits) in entries.into_iter().enumerate() {
        if bits & RTE_LEVEL == 0 || bits & RTE_REMOTE_IRR == 0 {
            continue;
        }
        let vector = (bits & RTE_VECTOR) as u8;
        if !vcpus.iter().any(|v| lapic_holds(&v.lapic, vector)) {
            ioapic::set_entry(chip, pin, bits & !RTE_REMOTE_IRR);
        }
    }
}

/// MSR_KVM_PV_EOI_EN: the guest-physical address of a vCPU's PV EOI word,
/// bit 0 the enable bit.
const MSR_KVM_PV_EOI_EN: u32 = 0x4b56_4d04;

/// An interrupt in service whose EOI the guest was to signal through the PV
/// EOI word is handed back to a real EOI. KVM set the word's bit when it
/// injected the interrupt and remembers that it did in vCPU state no ioctl
/// saves (`KVM_APIC_PV_EOI_PENDING`): a new KVM would never look at the
/// word, the guest's clearing of it would end nothing, and the ISR bit would
/// block every interrupt of its priority and below for good. With the bit
/// clear, the guest writes the APIC's EOI register itself (the PV
/// EOI protocol: the bit is only a promise that the host will do it).
fn hand_back_pv_eoi(mem: &GuestMemoryMmap, saved: &VcpuState) {
    let Some(msr) = saved.msrs.iter().find(|m| m.index == MSR_KVM_PV_EOI_EN) else { return };
    if msr.data & 1 == 0 {
        return;
    }
    let word = GuestAddress(msr.data & !1);
    // A word outside RAM is the guest's own mistake: KVM ignores it too.
    if let Ok(v) = mem.read_obj::<u8>(word) {
        if v & 1 != 0 {
            let _ = mem.write_obj::<u8>(v & !1, word);
        }
    }
}

/// KVM's supported table, for a snapshot without `DIR/cpuid` (cpuid.rs).
fn supported_cpuid(kvm: &Kvm) -> Result<Vec<kvm_bindings::kvm_cpuid_entry2>> {
    let mut cpuid = kvm.get_supported_cpuid(KVM_MAX_CPUID_ENTRIES).map_err(Error::kvm("KVM_GET_SUPPORTED_CPUID"))?;
    if pvm::detected() {
        pvm::mask_cpuid(cpuid.as_mut_slice());
    }
    Ok(cpuid.as_slice().to_vec())
}

/// RAM from the snapshot's file: private, so the guest's writes stay in this
/// process, and lazily faulted.
fn map_private(layout: &RamLayout, file: File) -> Result<GuestMemoryMmap> {
    let file = Arc::new(file);
    let mut regions = Vec::new();
    let mut offset = 0u64;
    for (start, len) in layout.regions() {
        let size = usize::try_from(len).map_err(|_| Error::Memory("size overflows".into()))?;
        let region = MmapRegionBuilder::new(size)
            .with_file_offset(FileOffset::from_arc(file.clone(), offset))
            .with_mmap_prot(libc::PROT_READ | libc::PROT_WRITE)
            .with_mmap_flags(libc::MAP_PRIVATE | libc::MAP_NORESERVE)
            .build()
            .map_err(|e| Error::Memory(format!("cannot map the snapshot's memory: {e}")))?;
        regions.push(
            GuestRegionMmap::new(region, GuestAddress(start))
                .ok_or_else(|| Error::Memory("a snapshot region overflows the address space".into()))?,
        );
        offset += len;
    }
    GuestMemoryMmap::from_regions(regions).map_err(|e| Error::Memory(format!("snapshot regions: {e}")))
}

/// A vCPU's state, in the order KVM needs it (Firecracker's): the LAPIC
/// before the MSRs (TSC deadline), pending events last.
fn put_vcpu(fd: &VcpuFd, s: &VcpuState) -> Result<()> {
    fd.set_mp_state(s.mp_state).map_err(Error::kvm("KVM_SET_MP_STATE"))?;
    fd.set_regs(&s.regs).map_err(Error::kvm("KVM_SET_REGS"))?;
    fd.set_sregs(&s.sregs).map_err(Error::kvm("KVM_SET_SREGS"))?;
    // The state file's header checked the structure sizes.
    // SAFETY: the buffer is a kvm_xsave that KVM itself filled on this host.
    unsafe { fd.set_xsave(&s.xsave) }.map_err(Error::kvm("KVM_SET_XSAVE"))?;
    fd.set_xcrs(&s.xcrs).map_err(Error::kvm("KVM_SET_XCRS"))?;
    fd.set_debug_regs(&s.debugregs).map_err(Error::kvm("KVM_SET_DEBUGREGS"))?;
    fd.set_lapic(&s.lapic).map_err(Error::kvm("KVM_SET_LAPIC"))?;
    let msrs = Msrs::from_entries(&s.msrs).map_err(|e| Error::Setup(format!("MSR list: {e:?}")))?;
    let n = fd.set_msrs(&msrs).map_err(Error::kvm("KVM_SET_MSRS"))?;
    if let Some(bad) = s.msrs.get(n) {
        return Err(Error::Setup(format!("KVM refused MSR {:#x} of the snapshot", bad.index)));
    }
    fd.set_vcpu_events(&s.events).map_err(Error::kvm("KVM_SET_VCPU_EVENTS"))
}

fn set_clock(vm: &kvm_ioctls::VmFd, st: &VmState) -> Result<()> {
    let mut clock = st.clock;
    // With REALTIME, KVM adds the wall time since the snapshot; the other
    // flags are KVM's to report, not to set.
    clock.flags &= KVM_CLOCK_REALTIME;
    vm.set_clock(&clock).map_err(Error::kvm("KVM_SET_CLOCK"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lapic_with(base: usize, vector: u8) -> kvm_bindings::kvm_lapic_state {
        let mut l = kvm_bindings::kvm_lapic_state::default();
        let at = base + usize::from(vector / 32) * 0x10;
        let word = (1u32 << (vector % 32)).to_le_bytes();
        for (i, b) in word.iter().enumerate() {
            l.regs[at + i] = *b as _;
        }
        l
    }

    #[test]
    fn a_remote_irr_no_saved_lapic_holds_is_cleared_and_others_kept() {
        let mut chip = kvm_bindings::kvm_irqchip { chip_id: kvm_bindings::KVM_IRQCHIP_IOAPIC, ..Default::default() };
        let level_waiting = |v: u64| v | RTE_LEVEL | RTE_REMOTE_IRR;
        ioapic::set_entry(&mut chip, 5, level_waiting(0x45));
        ioapic::set_entry(&mut chip, 6, level_waiting(0x46));
        ioapic::set_entry(&mut chip, 7, 0x47 | RTE_REMOTE_IRR); // edge: left alone
                                                                // 0x45 is in service on a vCPU.
        let held = VcpuState { lapic: lapic_with(0x100, 0x45), ..Default::default() };
        settle_ioapic(&mut chip, &[held]);
        let bits = ioapic::entries(&chip).unwrap().0[5..8].to_vec();
        assert_eq!(bits, [level_waiting(0x45), 0x46 | RTE_LEVEL, 0x47 | RTE_REMOTE_IRR]);
        assert!(lapic_holds(&lapic_with(0x200, 0xe0), 0xe0) && !lapic_holds(&lapic_with(0x200, 0xe0), 0xe1));
    }

    /// A saved IOAPIC with two level-triggered lines pending, unmasked, for
    /// vCPU 0: one not yet delivered, one the IOAPIC counts as delivered
    /// (remote IRR) that no saved LAPIC holds. Restored, vCPU 0 has both
    /// vectors waiting in its IRR. With the irqchips set before the vCPUs
    /// existed, KVM delivered them to no one and both lines stayed dead.
    #[test]
    fn pending_lines_of_a_saved_ioapic_reach_the_restored_vcpu() {
        let Ok(kvm) = Kvm::new() else {
            eprintln!("skipped: no /dev/kvm");
            return;
        };
        let scratch = kvm.create_vm().unwrap();
        scratch.create_irq_chip().unwrap();
        let cpuid = supported_cpuid(&kvm).unwrap();
        let fd = scratch.create_vcpu(0).unwrap();
        cpu::set_cpuid(&fd, &cpuid, 0, None).unwrap();
        let mut vcpu = super::super::save_vcpu(&fd).unwrap();
        // The APIC software-enabled (spurious vector register), or it
        // accepts no fixed interrupt.
        vcpu.lapic.regs[0xf0..0xf4].copy_from_slice(&0x1ffu32.to_le_bytes().map(|b| b as _));
        let chip = |id| {
            let mut c = kvm_bindings::kvm_irqchip { chip_id: id, ..Default::default() };
            scratch.get_irqchip(&mut c).unwrap();
            c
        };
        use kvm_bindings::{KVM_IRQCHIP_IOAPIC, KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE};
        let mut ioapic = chip(KVM_IRQCHIP_IOAPIC);
        ioapic::set_entry(&mut ioapic, 5, 0x45 | RTE_LEVEL);
        ioapic::set_entry(&mut ioapic, 6, 0x46 | RTE_LEVEL | RTE_REMOTE_IRR);
        // Writing a union field: plain integers, no unsafe.
        ioapic.chip.ioapic.irr = 1 << 5 | 1 << 6;
        let st = VmState {
            mem_mib: 0,
            clock: Default::default(),
            irqchips: [chip(KVM_IRQCHIP_PIC_MASTER), chip(KVM_IRQCHIP_PIC_SLAVE), ioapic],
            serial: Default::default(),
            vcpus: vec![vcpu],
            devices: Vec::new(),
        };
        let vm = kvm.create_vm().unwrap();
        vm.create_irq_chip().unwrap();
        let mem = GuestMemoryMmap::from_ranges(&[(GuestAddress(0), 0x1000)]).unwrap();
        let fds = put_machine(&vm, &mem, &st, &cpuid).unwrap();
        let lapic = fds[0].get_lapic().unwrap();
        let irr = |v: u8| {
            let at = 0x200 + usize::from(v / 32) * 0x10;
            u32::from_le_bytes(std::array::from_fn(|i| lapic.regs[at + i] as u8)) & (1 << (v % 32)) != 0
        };
        assert!(irr(0x45) && irr(0x46), "both lines' vectors wait in vCPU 0's IRR");
    }
}
