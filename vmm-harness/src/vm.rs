//! Building and starting the VM: validate inputs, create the VM, map and
//! register RAM, load the guest, add the in-kernel irqchip and the vCPUs,
//! start the helper threads, arm the timeout, then run vCPU 0 on the calling
//! thread.
//!
//! Set-up is deliberately sequential, on one thread: on this nested host,
//! waking a thread on an idle CPU can cost up to a millisecond, more than any
//! step that could be overlapped (KVM_GET_SUPPORTED_CPUID, ~0.3 ms, is the
//! biggest). vCPU 0 then runs on the same, warm thread.

use std::convert::Infallible;
use std::fs::File;
use std::sync::Arc;

use kvm_bindings::KVM_MAX_CPUID_ENTRIES;
use kvm_ioctls::Kvm;
use pv_abi::serial::COM1_IRQ;
use vmm_sys_util::eventfd::EventFd;

use crate::cli::{BootArgs, VirtioTransport};
use crate::cpu;
use crate::devices::serial::{self, Console, IrqTrigger, SerialPort};
use crate::devices::{virtio, Devices};
use crate::elfcheck;
use crate::error::{Error, Result};
use crate::loader::{self, Initrd};
use crate::memory::{self, RamLayout};
use crate::pvm;
use crate::shutdown::Finisher;
use crate::snapshot;
use crate::timeline::{Kind, Timeline};
use crate::vcpu::Vcpu;
use crate::watchdog;

/// KVM's TSS and identity-map pages (VMX needs them), in the PCI hole like CHV.
pub const KVM_TSS_ADDR: usize = 0xfffb_d000;
pub const KVM_IDENTITY_MAP_ADDR: u64 = 0xfffb_c000;

/// Boot the guest. Returns only on a set-up error; otherwise some thread ends the process.
pub fn boot(args: &BootArgs, timeline: Arc<Timeline>, finisher: Arc<Finisher>) -> Result<Infallible> {
    let layout = RamLayout::new(args.mem_mib);

    // Inputs first, so that bad ones are reported even without /dev/kvm.
    let path = args.kernel.display().to_string();
    let (mut kernel, size) = open_kernel(&args.kernel, &path)?;
    let image = elfcheck::SizedFile { file: &kernel, size };
    let info = elfcheck::check(&image, &layout).map_err(|source| Error::Kernel { path, source })?;
    let mut initrd = args.initrd.as_deref().map(Initrd::open).transpose()?;
    let initrd_addr = match &initrd {
        Some(i) => Some(i.placement(info.image_end, &layout)?),
        None => None,
    };
    let virtio_devices = virtio::open(&args.disks, &args.nets, args.balloon)?;

    let kvm = Kvm::new().map_err(Error::KvmOpen)?;
    // Shared with the virtio-pci devices, which send MSIs through it.
    let vm = Arc::new(kvm.create_vm().map_err(Error::KvmUnusable)?);
    timeline.record(Kind::VmCreated);

    // Memory slots before the irqchip: the irqchip's SRCU grace periods would
    // otherwise delay the slot update by several milliseconds.
    let mem = memory::map(&layout)?;
    memory::register(&vm, &mem)?;
    timeline.record(Kind::MemoryReady);

    let entry = loader::load_kernel(&mem, &mut kernel)?;
    let module = match (initrd.as_mut(), initrd_addr) {
        (Some(i), Some(addr)) => Some(i.load(&mem, addr)?),
        _ => None,
    };
    let pci = args.virtio_devices() > 0 && args.transport == VirtioTransport::Pci;
    let ecam = pci.then_some(virtio::layout::ECAM_BASE);
    loader::write_boot_info(&mem, &layout, &args.cmdline, module.as_ref(), args.cpus, ecam)?;
    timeline.record(Kind::KernelLoaded);

    vm.set_tss_address(KVM_TSS_ADDR).map_err(Error::kvm("KVM_SET_TSS_ADDR"))?;
    vm.set_identity_map_address(KVM_IDENTITY_MAP_ADDR).map_err(Error::kvm("KVM_SET_IDENTITY_MAP_ADDR"))?;
    vm.create_irq_chip().map_err(Error::kvm("KVM_CREATE_IRQCHIP"))?;

    let irq = EventFd::new(libc::EFD_NONBLOCK).map_err(Error::EventFd)?;
    vm.register_irqfd(&irq, COM1_IRQ).map_err(Error::kvm("KVM_IRQFD"))?;
    let serial = SerialPort::new(IrqTrigger(irq), Console::new(timeline.clone()));
    let slots = virtio::attach(virtio_devices, args.transport, &vm, &mem)?;
    let devices = Arc::new(Devices::new(serial, timeline.clone()).with_mmio(slots));

    let mut cpuid = kvm.get_supported_cpuid(KVM_MAX_CPUID_ENTRIES).map_err(Error::kvm("KVM_GET_SUPPORTED_CPUID"))?;
    // On kvm-pvm every hypercall hangs the vCPU: offer no feature that needs
    // one, and make a stray one a #UD (see pvm.rs).
    if pvm::detected() {
        pvm::mask_cpuid(cpuid.as_mut_slice());
        pvm::disable_fix_hypercall_quirk(&vm)?;
    }
    let mut vcpus = Vec::with_capacity(args.cpus as usize);
    let mut tsc_khz = None;
    for id in 0..args.cpus {
        let fd = vm.create_vcpu(u64::from(id)).map_err(Error::kvm("KVM_CREATE_VCPU"))?;
        if id == 0 {
            // The same for every vCPU (KVM_CAP_TSC_CONTROL is absent here); ask once.
            tsc_khz = fd.get_tsc_khz().ok();
        }
        cpu::setup_common(&fd, cpuid.as_slice(), id, tsc_khz)?;
        if id == 0 {
            cpu::setup_boot_vcpu(&fd, &mem, entry)?;
        }
        // Application processors keep KVM's reset state: with the in-kernel
        // LAPIC they wait for INIT-SIPI-SIPI from the guest.
        vcpus.push(Vcpu { id: u64::from(id), fd, devices: devices.clone(), finisher: finisher.clone() });
    }

    start(vcpus, &devices, &timeline, args.timeout_secs, args.snapshot_dir.clone(), vm, mem, args.mem_mib)
}

/// Starts the vCPUs (vCPU 0 on the calling thread, which it never leaves),
/// the stdin pump and the `--timeout` timer, and with `snapshot_dir` makes
/// snapshots possible. Shared by `boot` and `restore`.
#[allow(clippy::too_many_arguments)]
pub fn start(
    vcpus: Vec<Vcpu>,
    devices: &Arc<Devices>,
    timeline: &Timeline,
    timeout_secs: Option<u64>,
    snapshot_dir: Option<std::path::PathBuf>,
    vm: Arc<kvm_ioctls::VmFd>,
    mem: vm_memory::GuestMemoryMmap,
    mem_mib: u64,
) -> Result<Infallible> {
    let cpus = vcpus.len();
    crate::postmortem::watch(vm.clone());
    if let Some(dir) = snapshot_dir {
        snapshot::install_signal().map_err(|e| Error::Setup(format!("cannot catch SIGUSR1: {e}")))?;
        snapshot::enable(snapshot::Context { dir, vm, mem, mem_mib, cpus, devices: devices.clone() });
    } else {
        // `mem` and `vm` must live until the process exits.
        std::mem::forget((vm, mem));
    }
    let mut vcpus = vcpus.into_iter();
    let bsp = vcpus.next().ok_or_else(|| Error::Setup("no vCPU".into()))?;
    for v in vcpus {
        spawn(format!("vcpu{}", v.id), "vCPU", move || v.run())?;
    }
    if serial::stdin_wanted() {
        let d = devices.clone();
        spawn("stdin".into(), "stdin", move || serial::pump_stdin(&d.serial))?;
    }
    if let Some(secs) = timeout_secs {
        watchdog::arm(timeline.start(), secs)
            .map_err(|e| Error::Setup(format!("cannot arm the --timeout timer: {e}")))?;
    }
    bsp.run()
}

fn spawn<T: Send + 'static>(name: String, what: &'static str, f: impl FnOnce() -> T + Send + 'static) -> Result<()> {
    std::thread::Builder::new().name(name).spawn(f).map(drop).map_err(|source| Error::Thread { what, source })
}

/// The kernel file and its size.
fn open_kernel(p: &std::path::Path, path: &str) -> Result<(File, u64)> {
    let io = |source| Error::KernelIo { path: path.to_string(), source };
    let file = File::open(p).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(io(std::io::Error::other("not a regular file")));
    }
    Ok((file, meta.len()))
}
