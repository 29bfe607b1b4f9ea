//! The harness's tiny device bus: COM1, the debug port 0x80, the exit port
//! 0xf4, Cloud Hypervisor's ACPI sleep/reset port 0x600 (status 0x601), the
//! ACPI PM timer at 0x608, Firecracker's boot-timer MMIO and the virtio-mmio
//! windows (`virtio`). Unknown ports read as all-ones; unknown MMIO reads as
//! zero; stray writes are ignored.

pub mod pm_timer;
pub mod serial;
pub mod virtio;

use std::sync::{Arc, Mutex};

use pv_abi::boot_trace::{FC_BOOT_TIMER_MAGIC, FC_BOOT_TIMER_MMIO, PORT as DEBUG_PORT};
use pv_abi::exit::harness::VM_FAILURE;
use pv_abi::exit::{CHV_RESET_VALUE, CHV_SLEEP_PORT, CHV_SLEEP_S5, EXIT_PORT};
use pv_abi::serial::{COM1_PORT, COM_PORT_COUNT};

use crate::shutdown::Outcome;
use crate::timeline::{Kind, Timeline};
use pm_timer::PmTimer;
use serial::SerialPort;

/// Cloud Hypervisor's ACPI PM timer (FADT X_PM_TMR_BLK), 32-bit.
pub use pv_abi::acpi::PM_TIMER_PORT;
/// Cloud Hypervisor's ACPI sleep-status register (FADT SLEEP_STATUS_REG).
pub use pv_abi::acpi::SLEEP_STATUS_PORT;

/// What a vCPU should do after an access.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    Continue,
    Exit(Outcome),
}

/// A device behind an MMIO window.
pub trait MmioDevice: Send {
    fn read(&mut self, offset: u64, data: &mut [u8]);
    fn write(&mut self, offset: u64, data: &[u8]);
    /// A virtio device's state for a snapshot; it serves nothing afterwards.
    fn save(&mut self) -> Option<virtio::state::DeviceState> {
        None
    }
}

/// An MMIO window on the bus.
pub struct MmioSlot {
    pub base: u64,
    pub size: u64,
    /// For the exit counts.
    pub name: &'static str,
    pub device: Arc<Mutex<dyn MmioDevice>>,
}

pub struct Devices {
    pub serial: SerialPort,
    pm_timer: PmTimer,
    timeline: Arc<Timeline>,
    mmio: Vec<MmioSlot>,
}

impl Devices {
    pub fn new(serial: SerialPort, timeline: Arc<Timeline>) -> Self {
        Devices { serial, pm_timer: PmTimer::new(timeline.start()), timeline, mmio: Vec::new() }
    }

    /// Adds MMIO windows (the virtio devices).
    pub fn with_mmio(mut self, slots: Vec<MmioSlot>) -> Self {
        self.mmio.extend(slots);
        self
    }

    /// Every virtio device's state, in device order, for a snapshot.
    /// Called with every vCPU stopped, so no request is half served (they
    /// are served on the vCPU thread that notified); each device is frozen
    /// as it is saved, so the net RX threads write no more guest memory.
    pub fn save_virtio(&self) -> Vec<virtio::state::DeviceState> {
        self.mmio.iter().filter_map(|s| s.device.lock().unwrap_or_else(|e| e.into_inner()).save()).collect()
    }

    fn slot(&self, addr: u64) -> Option<&MmioSlot> {
        self.mmio.iter().find(|s| addr.wrapping_sub(s.base) < s.size)
    }

    pub fn timeline(&self) -> &Arc<Timeline> {
        &self.timeline
    }

    pub fn pio_out(&self, port: u16, data: &[u8]) -> Action {
        let Some(&value) = data.first() else {
            return Action::Continue;
        };
        match port {
            p if is_com1(p) => self.serial.write((p - COM1_PORT) as u8, value),
            DEBUG_PORT => {
                self.timeline.record(Kind::DebugPort(value));
                if let Some(m @ ("first user instruction" | "init ready")) = pv_abi::boot_trace::name(value) {
                    self.timeline.exits.mark(m);
                }
                if value == pv_abi::boot_trace::SNAPSHOT_REQUEST {
                    crate::snapshot::request::request();
                }
            }
            EXIT_PORT => return Action::Exit(Outcome::quiet(i32::from(value), "exit port")),
            CHV_SLEEP_PORT => return self.sleep_control(value),
            _ => {}
        }
        Action::Continue
    }

    pub fn pio_in(&self, port: u16, data: &mut [u8]) {
        match port {
            p if is_com1(p) => {
                data.fill(0);
                if let Some(b) = data.first_mut() {
                    *b = self.serial.read((p - COM1_PORT) as u8);
                }
            }
            CHV_SLEEP_PORT | SLEEP_STATUS_PORT => data.fill(0),
            PM_TIMER_PORT => {
                let v = self.pm_timer.read().to_le_bytes();
                for (d, s) in data.iter_mut().zip(v.iter().chain(std::iter::repeat(&0))) {
                    *d = *s;
                }
            }
            _ => data.fill(0xff),
        }
    }

    pub fn mmio_write(&self, addr: u64, data: &[u8]) {
        if let Some(s) = self.slot(addr) {
            // A poisoned lock means a device thread panicked mid-access; the
            // device state is still memory-safe, so carry on with it.
            s.device.lock().unwrap_or_else(|e| e.into_inner()).write(addr - s.base, data);
            return;
        }
        if addr == FC_BOOT_TIMER_MMIO && data.first() == Some(&FC_BOOT_TIMER_MAGIC) {
            self.timeline.record(Kind::BootTimer);
        }
    }

    /// The device an MMIO address belongs to (for the exit counts).
    pub fn mmio_name(&self, addr: u64) -> &'static str {
        if let Some(s) = self.slot(addr) {
            s.name
        } else if addr == FC_BOOT_TIMER_MMIO {
            "boot timer"
        } else {
            "unclaimed"
        }
    }

    pub fn mmio_read(&self, addr: u64, data: &mut [u8]) {
        match self.slot(addr) {
            Some(s) => s.device.lock().unwrap_or_else(|e| e.into_inner()).read(addr - s.base, data),
            None => data.fill(0),
        }
    }

    fn sleep_control(&self, value: u8) -> Action {
        if value == CHV_SLEEP_S5 {
            return Action::Exit(match self.serial.exit_code() {
                Some(code) => Outcome::quiet(i32::from(code), "ACPI S5"),
                None => Outcome::failure(
                    VM_FAILURE,
                    "ACPI S5",
                    "guest powered off (ACPI S5) without printing a VIREO-EXIT line".into(),
                ),
            });
        }
        if value == CHV_RESET_VALUE {
            return Action::Exit(Outcome::failure(VM_FAILURE, "reset", "guest requested reset".into()));
        }
        Action::Continue
    }
}

fn is_com1(port: u16) -> bool {
    (COM1_PORT..COM1_PORT + COM_PORT_COUNT).contains(&port)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serial::{Console, IrqTrigger};
    use std::time::Instant;
    use vmm_sys_util::eventfd::EventFd;

    fn devices() -> Devices {
        let tl = Arc::new(Timeline::new(Instant::now()));
        let efd = EventFd::new(libc::EFD_NONBLOCK).unwrap();
        let serial = SerialPort::new(IrqTrigger(efd), Console::new(tl.clone()));
        Devices::new(serial, tl)
    }

    #[test]
    fn ports() {
        let d = devices();
        let mut b = [0u8; 4];
        d.pio_in(0x1234, &mut b);
        assert_eq!(b, [0xff; 4]);
        d.pio_in(SLEEP_STATUS_PORT, &mut b[..1]);
        assert_eq!(b[0], 0);
        d.pio_in(COM1_PORT + 5, &mut b[..1]);
        assert_eq!(b[0] & 0x60, 0x60, "LSR: transmitter empty");
        assert_eq!(d.pio_out(0x1234, &[1]), Action::Continue);
        assert_eq!(d.pio_out(EXIT_PORT, &[7, 0, 0, 0]), Action::Exit(Outcome::quiet(7, "exit port")));
        assert_eq!(d.pio_out(CHV_SLEEP_PORT, &[0x14]), Action::Continue);
        assert!(matches!(d.pio_out(CHV_SLEEP_PORT, &[1]), Action::Exit(o) if o.code == VM_FAILURE));
        assert!(matches!(d.pio_out(CHV_SLEEP_PORT, &[0x34]), Action::Exit(o) if o.code == VM_FAILURE));
        d.pio_out(DEBUG_PORT, &[0x40]);
        d.mmio_write(FC_BOOT_TIMER_MMIO, &[123]);
        d.mmio_write(FC_BOOT_TIMER_MMIO, &[1]);
        let kinds: Vec<_> = d.timeline.events().iter().map(|e| e.kind).collect();
        assert!(kinds.contains(&Kind::DebugPort(0x40)));
        assert_eq!(kinds.iter().filter(|k| **k == Kind::BootTimer).count(), 1);
    }

    #[test]
    fn s5_uses_the_last_exit_line() {
        let d = devices();
        for b in b"VIREO-EXIT 5\n" {
            d.pio_out(COM1_PORT, &[*b]);
        }
        assert_eq!(d.pio_out(CHV_SLEEP_PORT, &[0x34]), Action::Exit(Outcome::quiet(5, "ACPI S5")));
    }

    #[test]
    fn pm_timer_port_advances() {
        let d = devices();
        let mut a = [0u8; 4];
        let mut b = [0u8; 4];
        d.pio_in(PM_TIMER_PORT, &mut a);
        std::thread::sleep(std::time::Duration::from_millis(1));
        d.pio_in(PM_TIMER_PORT, &mut b);
        assert!(u32::from_le_bytes(b).wrapping_sub(u32::from_le_bytes(a)) >= 3000);
    }
}
