//! What every virtio transport shares: the device status and feature
//! negotiation, the queues, notifications, and the failed state.
//!
//! Bad programming (see [`Failure`]) puts the device in the failed state:
//! DEVICE_NEEDS_RESET in its status, a config-change interrupt, one line on
//! stderr, and every notification ignored until the driver resets the
//! device by writing 0 to its status. The VM keeps running.

use std::fmt;

use vm_memory::GuestMemoryMmap;

use super::irq::Irq;
use super::queue::{QueueError, VirtQueue};
use super::state::{CoreState, DeviceKind};

/// Device status bits (virtio 1.2, 2.1).
pub mod status {
    pub const ACKNOWLEDGE: u32 = 1;
    pub const DRIVER: u32 = 2;
    pub const DRIVER_OK: u32 = 4;
    pub const FEATURES_OK: u32 = 8;
    pub const NEEDS_RESET: u32 = 0x40;
    pub const FAILED: u32 = 0x80;
}
use status::*;

/// VIRTIO_F_VERSION_1: every device here is a modern one.
pub const F_VERSION_1: u64 = 1 << 32;

/// Why a device failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Queue(u16, QueueError),
    ReadOnlyRegister(u64),
    UnknownRegister(u64),
    BadWidth {
        offset: u64,
        len: usize,
    },
    ConfigWrite(u64),
    NoSuchQueue(u32),
    NotifyBeforeDriverOk(u32),
    NotifyNotReady(u32),
    DriverOkWithoutFeatures,
    StatusCleared {
        from: u32,
        to: u32,
    },
    FeaturesAfterFeaturesOk,
    /// A chain that is well formed but not a request of this device.
    Request(u16, String),
    /// Failed before the snapshot it was restored from.
    BeforeSnapshot,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Queue(q, e) => write!(f, "queue {q}: {e}"),
            Failure::ReadOnlyRegister(o) => write!(f, "write to read-only register {o:#x}"),
            Failure::UnknownRegister(o) => write!(f, "write to unknown register {o:#x}"),
            Failure::BadWidth { offset, len } => write!(f, "{len}-byte write to register {offset:#x}"),
            Failure::ConfigWrite(o) => write!(f, "write to read-only config field at {o:#x}"),
            Failure::NoSuchQueue(q) => write!(f, "queue {q} does not exist"),
            Failure::NotifyBeforeDriverOk(q) => write!(f, "queue {q} notified before DRIVER_OK"),
            Failure::NotifyNotReady(q) => write!(f, "queue {q} notified while not ready"),
            Failure::DriverOkWithoutFeatures => write!(f, "DRIVER_OK without FEATURES_OK"),
            Failure::StatusCleared { from, to } => write!(f, "status {from:#x} -> {to:#x} clears bits without a reset"),
            Failure::FeaturesAfterFeaturesOk => write!(f, "driver features written after FEATURES_OK"),
            Failure::Request(q, e) => write!(f, "queue {q}: {e}"),
            Failure::BeforeSnapshot => write!(f, "failed before the snapshot"),
        }
    }
}

/// What a device type adds to the transport.
pub trait VirtioDevice: Send {
    /// For the log line and the exit counts.
    fn name(&self) -> &'static str;
    fn device_type(&self) -> u32;
    /// Features offered, VERSION_1 included.
    fn features(&self) -> u64;
    fn queue_count(&self) -> usize;
    /// The device config space.
    fn config(&self) -> Vec<u8>;
    /// The driver wrote `data` at `offset` of the config space; only the
    /// balloon's `actual` is writable, a write anywhere else fails the device.
    fn write_config(&mut self, offset: u64, _data: &[u8]) -> Result<(), Failure> {
        Err(Failure::ConfigWrite(offset))
    }
    /// The driver notified queue `q` (DRIVER_OK set, the queue ready).
    /// Returns whether used buffers were added (then the transport interrupts).
    fn notify(&mut self, q: u16, queues: &mut [VirtQueue], mem: &GuestMemoryMmap) -> Result<bool, Failure>;
    /// The driver reset the device.
    fn reset(&mut self) {}
    /// The device and its host end, for a snapshot (`None`: cannot be saved).
    fn kind(&self) -> Option<DeviceKind> {
        None
    }
    /// Take back a saved [`DeviceKind`]'s guest-visible state, or say why
    /// this device (reopened from it) cannot be the one that was saved.
    fn restore_kind(&mut self, _kind: &DeviceKind) -> Result<(), String> {
        Ok(())
    }
}

/// The transport-independent state of one device.
pub struct VirtioCore<D> {
    pub device: D,
    /// Where the device is, for the log line ("at 0xc0001000", "at 00:01.0").
    place: String,
    mem: GuestMemoryMmap,
    pub irq: Irq,
    pub queues: Vec<VirtQueue>,
    status: u32,
    driver_features: u64,
    failed: Option<Failure>,
    /// Saved for a snapshot: serves nothing more (the process ends).
    frozen: bool,
}

impl<D: VirtioDevice> VirtioCore<D> {
    pub fn new(device: D, place: String, mem: GuestMemoryMmap, irq: Irq, queue_max: u16) -> Self {
        let queues = (0..device.queue_count()).filter_map(|_| VirtQueue::new(queue_max).ok()).collect();
        VirtioCore { device, place, mem, irq, queues, status: 0, driver_features: 0, failed: None, frozen: false }
    }

    /// Why the device failed, while it is failed.
    #[cfg(test)]
    pub fn failure(&self) -> Option<&Failure> {
        self.failed.as_ref()
    }

    pub fn status(&self) -> u32 {
        self.status
    }

    /// 32 bits of the offered features (`page` 0 low, 1 high, others none).
    pub fn device_features(&self, page: u32) -> u32 {
        match page {
            0 => self.device.features() as u32,
            1 => (self.device.features() >> 32) as u32,
            _ => 0,
        }
    }

    pub fn set_driver_features(&mut self, page: u32, v: u32) -> Result<(), Failure> {
        if self.status & FEATURES_OK != 0 {
            return Err(Failure::FeaturesAfterFeaturesOk);
        }
        match page {
            0 => self.driver_features = (self.driver_features & !0xffff_ffff) | u64::from(v),
            1 => self.driver_features = (self.driver_features & 0xffff_ffff) | u64::from(v) << 32,
            // Pages past the ones devices define: no features there to take.
            _ => {}
        }
        Ok(())
    }

    pub fn queue(&self, sel: u32) -> Option<&VirtQueue> {
        usize::try_from(sel).ok().and_then(|i| self.queues.get(i))
    }

    /// Change queue `sel`'s settings (a QueueError fails the device).
    pub fn with_queue(
        &mut self,
        sel: u32,
        f: impl FnOnce(&mut VirtQueue, &GuestMemoryMmap) -> Result<(), QueueError>,
    ) -> Result<(), Failure> {
        let q = usize::try_from(sel).ok().and_then(|i| self.queues.get_mut(i)).ok_or(Failure::NoSuchQueue(sel))?;
        f(q, &self.mem).map_err(|e| Failure::Queue(sel as u16, e))
    }

    /// The driver notified queue `v`.
    pub fn notify(&mut self, v: u32) -> Result<(), Failure> {
        if self.failed.is_some() || self.frozen {
            return Ok(());
        }
        let q = usize::try_from(v).ok().filter(|&i| i < self.queues.len()).ok_or(Failure::NoSuchQueue(v))?;
        if self.status & DRIVER_OK == 0 {
            return Err(Failure::NotifyBeforeDriverOk(v));
        }
        if !self.queues[q].ready() {
            return Err(Failure::NotifyNotReady(v));
        }
        if self.device.notify(q as u16, &mut self.queues, &self.mem)? {
            self.irq.used(q as u16);
        }
        Ok(())
    }

    /// Runs `f` on the device and its queues when the driver is up and the
    /// device not failed (the net RX thread); interrupts if `f` used
    /// buffers of queue `q`, and says whether it did.
    pub fn run(
        &mut self,
        q: u16,
        f: impl FnOnce(&mut D, &mut [VirtQueue], &GuestMemoryMmap) -> Result<bool, Failure>,
    ) -> bool {
        if self.failed.is_some() || self.frozen || self.status & DRIVER_OK == 0 {
            return false;
        }
        match f(&mut self.device, &mut self.queues, &self.mem) {
            Ok(true) => {
                self.irq.used(q);
                true
            }
            Ok(false) => false,
            Err(e) => {
                self.fail(e);
                false
            }
        }
    }

    pub fn set_status(&mut self, v: u32) -> Result<(), Failure> {
        if v == 0 {
            self.reset();
            return Ok(());
        }
        let old = self.status & !NEEDS_RESET;
        if old & !v != 0 {
            return Err(Failure::StatusCleared { from: old, to: v });
        }
        let mut new = v & (ACKNOWLEDGE | DRIVER | DRIVER_OK | FEATURES_OK | FAILED);
        if new & FEATURES_OK != 0 && old & FEATURES_OK == 0 {
            let offered = self.device.features();
            // Not accepted: FEATURES_OK stays clear, as the driver will see.
            if self.driver_features & !offered != 0 || self.driver_features & F_VERSION_1 == 0 {
                new &= !FEATURES_OK;
            }
        }
        if new & DRIVER_OK != 0 && new & FEATURES_OK == 0 {
            return Err(Failure::DriverOkWithoutFeatures);
        }
        self.status = new | (self.status & NEEDS_RESET);
        Ok(())
    }

    /// The state for a snapshot. The device serves nothing afterwards, so
    /// what the snapshot holds is the last thing it did: the net RX thread,
    /// which may be waiting on this device's lock, delivers no more frames
    /// (a frame in its hands is lost, as on a wire).
    pub fn save(&mut self) -> CoreState {
        self.frozen = true;
        CoreState {
            status: self.status,
            driver_features: self.driver_features,
            failed: self.failed.is_some(),
            queues: self.queues.iter().map(VirtQueue::state).collect(),
        }
    }

    /// Back to a saved state (the queues checked against this VM's memory).
    pub fn restore(&mut self, s: &CoreState) -> Result<(), String> {
        if s.queues.len() != self.queues.len() {
            return Err(format!("{} queues saved, the device has {}", s.queues.len(), self.queues.len()));
        }
        for (i, (q, saved)) in self.queues.iter_mut().zip(&s.queues).enumerate() {
            q.restore(saved, &self.mem).map_err(|e| format!("queue {i}: {e}"))?;
        }
        self.status = s.status & (ACKNOWLEDGE | DRIVER | DRIVER_OK | FEATURES_OK | FAILED | NEEDS_RESET);
        self.driver_features = s.driver_features;
        self.failed = s.failed.then_some(Failure::BeforeSnapshot);
        Ok(())
    }

    /// Device reset (status 0): back to the state before the driver came.
    pub fn reset(&mut self) {
        self.device.reset();
        for q in &mut self.queues {
            q.reset();
        }
        self.status = 0;
        self.driver_features = 0;
        self.failed = None;
        self.irq.clear();
    }

    /// Enter the failed state (once: later faults of a failed device are
    /// the same fault's echoes and are not logged again).
    pub fn fail(&mut self, why: Failure) {
        if self.failed.is_some() {
            return;
        }
        eprintln!(
            "vmm-harness: {} at {}: {why}; device needs reset (the VM keeps running)",
            self.device.name(),
            self.place
        );
        self.status |= NEEDS_RESET;
        self.failed = Some(why);
        self.irq.config();
    }
}

/// A transport around a [`VirtioCore`] (the net RX thread reaches its card so).
pub trait Transport<D>: Send {
    fn core(&mut self) -> &mut VirtioCore<D>;
}
