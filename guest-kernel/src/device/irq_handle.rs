//! Device interrupts as waitable objects. Each has a kernel-allocated
//! vector (`irq::vectors`); its handler marks the object pending and wakes
//! the threads waiting on it. A level-triggered IOAPIC line is masked from
//! its interrupt until the driver acknowledges (`IrqAck`), so a device that
//! keeps its line asserted cannot storm the CPU; MSI/MSI-X are edge-triggered.
use crate::arch::x86_64::ioapic;
use crate::arch::x86_64::trap::{vector, TrapFrame};
use crate::sched::{self, Thread};
use crate::sync::SpinLock;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use pv_abi::syscall::Error;

const SLOTS: usize = (vector::DEVICE_LAST - vector::DEVICE_FIRST) as usize + 1;

/// The object behind each device vector, for the interrupt handler.
static BY_VECTOR: SpinLock<[Option<Arc<IrqObject>>; SLOTS]> = SpinLock::new([const { None }; SLOTS]);

pub struct IrqObject {
    pub vector: u8,
    /// The IOAPIC line (GSI) for a line interrupt; `None` for MSI.
    gsi: Option<u32>,
    pending: AtomicBool,
    attached: AtomicBool,
    waiters: SpinLock<Vec<Arc<Thread>>>,
}

impl IrqObject {
    /// A new vector routed from `gsi` (level, active high: how virtio-mmio
    /// lines are described) or, with `None`, for MSI.
    pub fn new(gsi: Option<u32>) -> Result<Arc<Self>, Error> {
        let v = crate::irq::vectors::alloc(on_interrupt).ok_or(Error::Limit)?;
        let obj = Arc::new(Self {
            vector: v,
            gsi,
            pending: AtomicBool::new(false),
            attached: AtomicBool::new(true),
            waiters: SpinLock::new(Vec::new()),
        });
        BY_VECTOR.lock()[usize::from(v - vector::DEVICE_FIRST)] = Some(obj.clone());
        if let Some(g) = gsi {
            if ioapic::route_gsi(g, v, boot_apic_id(), true, false).is_err() {
                obj.detach();
                return Err(Error::NotFound);
            }
        }
        Ok(obj)
    }

    pub fn is_line(&self) -> bool {
        self.gsi.is_some()
    }

    /// The MSI address/data that raise this vector on the boot CPU
    /// (fixed delivery, edge, physical destination).
    pub fn msi_message(&self) -> (u64, u32) {
        (0xfee0_0000 | (u64::from(boot_apic_id() & 0xff) << 12), u32::from(self.vector))
    }

    /// Stops delivery: masks the line, frees the vector.
    pub fn detach(&self) {
        if !self.attached.swap(false, Ordering::AcqRel) {
            return;
        }
        if let Some(g) = self.gsi {
            let _ = ioapic::set_masked(g, true);
        }
        BY_VECTOR.lock()[usize::from(self.vector - vector::DEVICE_FIRST)] = None;
        crate::irq::vectors::free(self.vector);
    }

    /// Clears pending and re-opens a masked line.
    pub fn ack(&self) {
        self.pending.store(false, Ordering::SeqCst);
        if let (Some(g), true) = (self.gsi, self.attached.load(Ordering::Acquire)) {
            let _ = ioapic::set_masked(g, false);
        }
    }

    /// Registers `waiter` (if given) to be woken on the next interrupt, then
    /// says whether one is pending: registering first means none is missed.
    pub fn poll(&self, waiter: Option<&Arc<Thread>>) -> bool {
        if let Some(t) = waiter {
            let mut w = self.waiters.lock();
            if !w.iter().any(|x| Arc::ptr_eq(x, t)) {
                w.push(t.clone());
            }
        }
        self.pending.load(Ordering::SeqCst)
    }

    pub fn forget(&self, t: &Arc<Thread>) {
        self.waiters.lock().retain(|x| !Arc::ptr_eq(x, t));
    }

    fn fire(&self) {
        if let Some(g) = self.gsi {
            let _ = ioapic::set_masked(g, true);
        }
        self.pending.store(true, Ordering::SeqCst);
        // Drained in place: the list keeps its capacity for the next wait
        // (taking it freed the list and the next wait allocated it again).
        for t in self.waiters.lock().drain(..) {
            sched::wake(&t);
        }
    }
}

fn boot_apic_id() -> u32 {
    crate::percpu::get(0).map_or(0, |c| c.apic_id)
}

fn on_interrupt(frame: &mut TrapFrame) {
    let i = (frame.vector as usize).wrapping_sub(usize::from(vector::DEVICE_FIRST));
    let obj = BY_VECTOR.lock().get(i).cloned().flatten();
    if let Some(o) = obj {
        o.fire();
    }
    crate::pv::eoi();
}
