//! virtio devices on the virtio-mmio or virtio-pci transport.

pub mod backend;
pub mod blk;
pub mod core;
pub mod irq;
pub mod layout;
pub mod mmio;
pub mod msix;
pub mod net;
pub mod queue;

use std::sync::{Arc, Mutex};

use kvm_ioctls::VmFd;
use vm_memory::GuestMemoryMmap;

use crate::devices::MmioSlot;
use crate::error::{Error, Result};
use backend::{Backend, NetArgs};
use blk::{Block, DiskArgs};
use irq::{Interrupt, Irq};
use mmio::MmioTransport;
use net::Net;

/// The devices' host ends, opened before the VM exists so that a bad
/// `--disk` or `--net` is reported as bad input.
pub struct Opened {
    disks: Vec<Block>,
    nets: Vec<Backend>,
}

pub fn open(disks: &[DiskArgs], nets: &[NetArgs]) -> Result<Opened> {
    let disks = disks
        .iter()
        .map(|d| Block::open(d).map_err(|source| Error::Disk { path: d.path.display().to_string(), source }))
        .collect::<Result<_>>()?;
    let nets = nets
        .iter()
        .map(|n| Backend::open(n).map_err(|source| Error::Net { spec: n.to_string(), source }))
        .collect::<Result<_>>()?;
    Ok(Opened { disks, nets })
}

/// Put the devices in their windows (disks first, in `layout` order), wire
/// their interrupts to the in-kernel IOAPIC and start the net RX threads.
pub fn attach(opened: Opened, vm: &VmFd, mem: &GuestMemoryMmap) -> Result<Vec<MmioSlot>> {
    let mut slots = Vec::new();
    let mut next = 0usize;
    let mut place = |what: &'static str| -> Result<(u64, Irq)> {
        let (base, gsi) = layout::slot(next).ok_or_else(|| Error::Setup("too many virtio devices".into()))?;
        next += 1;
        let irq = Interrupt::on_line(vm, gsi).map_err(|source| Error::DeviceIrq { what, source })?;
        Ok((base, Irq::Line(irq)))
    };
    for disk in opened.disks {
        let (base, irq) = place("virtio-blk")?;
        let t = MmioTransport::new(disk, base, mem.clone(), irq, layout::QUEUE_MAX_SIZE);
        slots.push(MmioSlot { base, size: layout::MMIO_SIZE, name: "virtio-blk", device: Arc::new(Mutex::new(t)) });
    }
    for backend in opened.nets {
        let (base, irq) = place("virtio-net")?;
        let net = Net::new(Arc::new(backend)).map_err(Error::EventFd)?;
        let t = Arc::new(Mutex::new(MmioTransport::new(net, base, mem.clone(), irq, layout::QUEUE_MAX_SIZE)));
        net::spawn_rx(t.clone()).map_err(|source| Error::Thread { what: "net-rx", source })?;
        slots.push(MmioSlot { base, size: layout::MMIO_SIZE, name: "virtio-net", device: t });
    }
    Ok(slots)
}
