//! A device's interrupt: on virtio-mmio its InterruptStatus bits and an
//! IOAPIC line of the in-kernel irqchip, raised through a KVM irqfd
//! ([`Interrupt`]); on virtio-pci MSI-X vectors ([`Msix`]).
//!
//! The guest programs these lines level-triggered and masks a line from its
//! interrupt until the driver has looked (Vireo's `IrqObject`, Linux too), so
//! a bare irqfd pulse that lands while the line is masked would be lost.
//! With a resample fd KVM keeps the line asserted until the guest's EOI and
//! then tells us; if InterruptStatus is still non-zero we assert it again:
//! level semantics, without a KVM_IRQ_LINE call on every change.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use kvm_ioctls::VmFd;
use vmm_sys_util::eventfd::EventFd;

use super::msix::Msix;

/// How a device interrupts.
pub enum Irq {
    Line(Interrupt),
    Msix(Msix),
}

impl Irq {
    /// Queue `q` has used buffers.
    pub fn used(&mut self, q: u16) {
        match self {
            Irq::Line(i) => i.raise(USED_BUFFER),
            Irq::Msix(m) => m.raise(USED_BUFFER, m.queue_vector(q)),
        }
    }

    /// The config changed (or the device needs a reset).
    pub fn config(&mut self) {
        match self {
            Irq::Line(i) => i.raise(CONFIG_CHANGE),
            Irq::Msix(m) => m.raise(CONFIG_CHANGE, m.config_vector),
        }
    }

    /// InterruptStatus / ISR status.
    pub fn status(&self) -> u32 {
        match self {
            Irq::Line(i) => i.status(),
            Irq::Msix(m) => m.isr,
        }
    }

    pub fn ack(&mut self, bits: u32) {
        match self {
            Irq::Line(i) => i.ack(bits),
            Irq::Msix(m) => m.isr &= !bits,
        }
    }

    /// Device reset.
    pub fn clear(&mut self) {
        match self {
            Irq::Line(i) => i.clear(),
            Irq::Msix(m) => m.reset(),
        }
    }
}

/// InterruptStatus bits (virtio 1.2, 4.2.2).
pub const USED_BUFFER: u32 = 1;
pub const CONFIG_CHANGE: u32 = 2;

/// The interrupt of one device; cheap to clone (the RX thread has one).
#[derive(Clone)]
pub struct Interrupt {
    status: Arc<AtomicU32>,
    /// `None` in unit tests: only the status bits then.
    irqfd: Option<Arc<EventFd>>,
}

impl Interrupt {
    /// An interrupt without a line (unit tests).
    #[cfg(test)]
    pub fn detached() -> Self {
        Interrupt { status: Arc::new(AtomicU32::new(0)), irqfd: None }
    }

    /// An interrupt on IOAPIC line `gsi`, with a thread that re-asserts it
    /// after each EOI while InterruptStatus is non-zero. Without
    /// KVM_CAP_IRQFD_RESAMPLE it falls back to a plain irqfd (edge pulses).
    pub fn on_line(vm: &VmFd, gsi: u32) -> std::io::Result<Self> {
        let irqfd = Arc::new(EventFd::new(libc::EFD_NONBLOCK)?);
        let resample = EventFd::new(0)?;
        let irq = Interrupt { status: Arc::new(AtomicU32::new(0)), irqfd: Some(irqfd.clone()) };
        if vm.register_irqfd_with_resample(&irqfd, &resample, gsi).is_err() {
            vm.register_irqfd(&irqfd, gsi).map_err(|e| std::io::Error::from_raw_os_error(e.errno()))?;
            return Ok(irq);
        }
        let again = irq.clone();
        std::thread::Builder::new().name(format!("irq{gsi}")).spawn(move || {
            // A blocking read returns once per EOI of the line.
            while resample.read().is_ok() {
                if again.status() != 0 {
                    again.pulse();
                }
            }
        })?;
        Ok(irq)
    }

    pub fn status(&self) -> u32 {
        self.status.load(Ordering::SeqCst)
    }

    /// Sets `bits` in InterruptStatus and asserts the line.
    pub fn raise(&self, bits: u32) {
        self.status.fetch_or(bits, Ordering::SeqCst);
        self.pulse();
    }

    /// A restored InterruptStatus; a non-zero one asserts the line again.
    /// The IOAPIC's restored state has the pin's IRR, but not which source
    /// held the line up: the irqfd is a new one, so nothing would assert it
    /// again after the guest's EOI, and an interrupt the guest had not yet
    /// taken when the snapshot was made could be lost. An extra assertion
    /// is harmless: the driver reads InterruptStatus and finds what is
    /// there.
    pub fn set_status(&self, bits: u32) {
        self.status.store(bits, Ordering::SeqCst);
        if bits != 0 {
            self.pulse();
        }
    }

    /// InterruptACK: clears `bits`.
    pub fn ack(&self, bits: u32) {
        self.status.fetch_and(!bits, Ordering::SeqCst);
    }

    pub fn clear(&self) {
        self.status.store(0, Ordering::SeqCst);
    }

    fn pulse(&self) {
        if let Some(fd) = &self.irqfd {
            // Only fails when the counter would overflow, i.e. it is already pending.
            let _ = fd.write(1);
        }
    }
}
