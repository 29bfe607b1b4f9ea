//! virtio devices on the virtio-mmio or virtio-pci transport.

pub mod backend;
pub mod balloon;
pub mod blk;
pub mod core;
pub mod irq;
pub mod layout;
pub mod mmio;
pub mod msix;
pub mod net;
pub mod pci;
pub mod queue;
pub mod state;

use std::sync::{Arc, Mutex};

use kvm_ioctls::VmFd;
use vm_memory::GuestMemoryMmap;

use crate::cli::VirtioTransport;
use crate::devices::{MmioDevice, MmioSlot};
use crate::error::{Error, Result};
use backend::{Backend, NetArgs};
use balloon::Balloon;
use blk::{Block, DiskArgs};
use core::VirtioDevice;
use irq::{Interrupt, Irq};
use mmio::MmioTransport;
use msix::Msix;
use net::Net;
use pci::{BarWindow, PciBus, PciFunction, PciTransport};
use state::{DeviceKind, DeviceState, TransportState};

/// The devices' host ends, opened before the VM exists so that a bad
/// `--disk` or `--net` is reported as bad input.
pub struct Opened {
    disks: Vec<Block>,
    nets: Vec<Net>,
    balloon: Option<Balloon>,
}

pub fn open(disks: &[DiskArgs], nets: &[NetArgs], balloon: bool) -> Result<Opened> {
    let disks = disks
        .iter()
        .map(|d| Block::open(d).map_err(|source| Error::Disk { path: d.path.display().to_string(), source }))
        .collect::<Result<_>>()?;
    let nets = nets.iter().map(open_net).collect::<Result<_>>()?;
    Ok(Opened { disks, nets, balloon: balloon.then(Balloon::new) })
}

/// Put the devices in their windows (disks, nets, the balloon, in `layout` order), wire
/// their interrupts (IOAPIC lines for virtio-mmio, MSI-X for virtio-pci)
/// and start the net RX threads.
pub fn attach(
    opened: Opened,
    transport: VirtioTransport,
    vm: &Arc<VmFd>,
    mem: &GuestMemoryMmap,
) -> Result<Vec<MmioSlot>> {
    let devices = opened.disks.into_iter().map(Dev::Blk).chain(opened.nets.into_iter().map(Dev::Net));
    let devices = devices.chain(opened.balloon.map(Dev::Balloon));
    place(devices.map(|d| (d, None)), transport, vm, mem)
}

/// The devices of a snapshot, back in their windows: each host end
/// reopened from what the snapshot recorded (the disk's path, the tap's
/// name), its interrupt wired anew (irqfd and resample fd, or MSI-X), its
/// registers and queues as saved, and the net RX threads started.
pub fn restore(saved: &[DeviceState], vm: &Arc<VmFd>, mem: &GuestMemoryMmap) -> Result<Vec<MmioSlot>> {
    let transport = match saved.first().map(|s| &s.transport) {
        None => return Ok(Vec::new()),
        Some(TransportState::Mmio { .. }) => VirtioTransport::Mmio,
        Some(TransportState::Pci(_)) => VirtioTransport::Pci,
    };
    let mut devices = Vec::with_capacity(saved.len());
    for s in saved {
        if matches!(s.transport, TransportState::Pci(_)) != (transport == VirtioTransport::Pci) {
            return Err(Error::DeviceState { what: s.kind.name(), why: "devices on both transports".into() });
        }
        let dev = match &s.kind {
            DeviceKind::Blk { path, read_only, .. } => {
                let args = DiskArgs { path: path.clone(), read_only: *read_only };
                Dev::Blk(Block::open(&args).map_err(|source| Error::Disk { path: path.display().to_string(), source })?)
            }
            DeviceKind::Net { backend, .. } => Dev::Net(open_net(backend)?),
            DeviceKind::Balloon { .. } => Dev::Balloon(Balloon::new()),
        };
        devices.push((dev, Some(s)));
    }
    place(devices.into_iter(), transport, vm, mem)
}

fn open_net(n: &NetArgs) -> Result<Net> {
    let backend = Backend::open(n).map_err(|source| Error::Net { spec: n.to_string(), source })?;
    let mut net = Net::new(Arc::new(backend)).map_err(Error::EventFd)?;
    net.args = n.clone();
    Ok(net)
}

/// Device n into window n, with its saved state if it has one.
fn place<'a>(
    devices: impl Iterator<Item = (Dev, Option<&'a DeviceState>)>,
    transport: VirtioTransport,
    vm: &Arc<VmFd>,
    mem: &GuestMemoryMmap,
) -> Result<Vec<MmioSlot>> {
    let mut slots = Vec::new();
    let mut bus = PciBus::default();
    for (n, (dev, saved)) in devices.enumerate() {
        let name = dev.name();
        match transport {
            VirtioTransport::Mmio => {
                let (base, gsi) = layout::slot(n).ok_or_else(|| Error::Setup("too many virtio devices".into()))?;
                let irq = Interrupt::on_line(vm, gsi).map_err(|source| Error::DeviceIrq { what: name, source })?;
                let irq = Irq::Line(irq);
                let device: Arc<Mutex<dyn MmioDevice>> = match dev {
                    Dev::Blk(b) => mmio_window(b, base, mem, irq, saved)?,
                    Dev::Balloon(b) => mmio_window(b, base, mem, irq, saved)?,
                    Dev::Net(n) => {
                        let t = mmio_window(n, base, mem, irq, saved)?;
                        net::spawn_rx(t.clone()).map_err(|source| Error::Thread { what: "net-rx", source })?;
                        t
                    }
                };
                slots.push(MmioSlot { base, size: layout::MMIO_SIZE, name, device });
            }
            VirtioTransport::Pci => {
                let (base, slot) = layout::pci_slot(n).ok_or_else(|| Error::Setup("too many virtio devices".into()))?;
                let msix = |queues| Irq::Msix(Msix::new(Some(vm.clone()), queues));
                let (function, window): (Shared<dyn PciFunction>, Shared<dyn MmioDevice>) = match dev {
                    Dev::Blk(b) => {
                        let irq = msix(b.queue_count());
                        let t = pci_function(b, slot, base, mem, irq, saved)?;
                        (t.clone(), Arc::new(Mutex::new(BarWindow(t))))
                    }
                    Dev::Balloon(b) => {
                        let irq = msix(b.queue_count());
                        let t = pci_function(b, slot, base, mem, irq, saved)?;
                        (t.clone(), Arc::new(Mutex::new(BarWindow(t))))
                    }
                    Dev::Net(n) => {
                        let irq = msix(n.queue_count());
                        let t = pci_function(n, slot, base, mem, irq, saved)?;
                        net::spawn_rx(t.clone()).map_err(|source| Error::Thread { what: "net-rx", source })?;
                        (t.clone(), Arc::new(Mutex::new(BarWindow(t))))
                    }
                };
                bus.functions.push((slot, function));
                slots.push(MmioSlot { base, size: layout::BAR_SIZE, name, device: window });
            }
        }
    }
    if transport == VirtioTransport::Pci {
        let device: Arc<Mutex<dyn MmioDevice>> = Arc::new(Mutex::new(bus));
        slots.push(MmioSlot { base: layout::ECAM_BASE, size: layout::ECAM_SIZE, name: "pci config", device });
    }
    Ok(slots)
}

fn refused(s: &DeviceState) -> impl FnOnce(String) -> Error + '_ {
    move |why| Error::DeviceState { what: s.kind.name(), why }
}

fn mmio_window<D: VirtioDevice + 'static>(
    device: D,
    base: u64,
    mem: &GuestMemoryMmap,
    irq: Irq,
    saved: Option<&DeviceState>,
) -> Result<Shared<MmioTransport<D>>> {
    let mut t = MmioTransport::new(device, base, mem.clone(), irq, QMAX);
    if let Some(s) = saved {
        t.restore(s).map_err(refused(s))?;
    }
    Ok(Arc::new(Mutex::new(t)))
}

fn pci_function<D: VirtioDevice + 'static>(
    device: D,
    slot: u8,
    base: u64,
    mem: &GuestMemoryMmap,
    irq: Irq,
    saved: Option<&DeviceState>,
) -> Result<Shared<PciTransport<D>>> {
    let mut t = PciTransport::new(device, slot, base, mem.clone(), irq, QMAX);
    if let Some(s) = saved {
        t.restore(s).map_err(refused(s))?;
    }
    Ok(Arc::new(Mutex::new(t)))
}

const QMAX: u16 = layout::QUEUE_MAX_SIZE;

type Shared<T> = Arc<Mutex<T>>;

enum Dev {
    Blk(Block),
    Net(Net),
    Balloon(Balloon),
}

impl Dev {
    fn name(&self) -> &'static str {
        match self {
            Dev::Blk(_) => "virtio-blk",
            Dev::Net(_) => "virtio-net",
            Dev::Balloon(_) => "virtio-balloon",
        }
    }
}
