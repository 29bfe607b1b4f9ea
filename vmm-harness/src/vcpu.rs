//! The per-vCPU run loop: dispatch I/O and MMIO exits to the device bus,
//! and turn anything fatal into one line on stderr and exit status 125.

use std::sync::Arc;

use kvm_ioctls::{VcpuExit, VcpuFd};
use pv_abi::exit::harness::{TIMEOUT, VM_FAILURE};

use crate::devices::{Action, Devices};
use crate::exits::Reason;
use crate::postmortem;
use crate::shutdown::{Finisher, Outcome};
use crate::snapshot;
use crate::timeline::Kind;
use crate::watchdog;

/// KVM_INTERNAL_ERROR_EMULATION and its "instruction bytes present" flag.
const SUBERROR_EMULATION: u32 = 1;
const EMULATION_FLAG_INSN_BYTES: u64 = 1;

pub struct Vcpu {
    pub id: u64,
    pub fd: VcpuFd,
    pub devices: Arc<Devices>,
    pub finisher: Arc<Finisher>,
}

impl Vcpu {
    /// Run until the guest (or a failure) ends the process.
    pub fn run(mut self) -> ! {
        snapshot::register_vcpu_thread();
        if self.id == 0 {
            self.devices.timeline().record(Kind::FirstKvmRun);
        } else {
            watchdog::register_other_vcpu_thread();
        }
        loop {
            if let Some(secs) = watchdog::expired() {
                self.timed_out(secs);
            }
            if snapshot::requested() {
                let outcome = match snapshot::pause(self.id, &self.fd) {
                    Ok(done) => Outcome { code: 0, reason: "snapshot", message: Some(done) },
                    Err(why) => Outcome::failure(VM_FAILURE, "snapshot", why),
                };
                self.finisher.finish(outcome);
            }
            let exits = &self.devices.timeline().exits;
            let failure = match self.fd.run() {
                Ok(VcpuExit::IoOut(port, data)) => {
                    exits.count(Reason::Pio(port));
                    match self.devices.pio_out(port, data) {
                        Action::Continue => continue,
                        Action::Exit(outcome) => self.finisher.finish(outcome),
                    }
                }
                Ok(VcpuExit::IoIn(port, data)) => {
                    exits.count(Reason::Pio(port));
                    self.devices.pio_in(port, data);
                    continue;
                }
                Ok(VcpuExit::MmioWrite(addr, data)) => {
                    exits.count(Reason::Mmio(self.devices.mmio_name(addr)));
                    self.devices.mmio_write(addr, data);
                    continue;
                }
                Ok(VcpuExit::MmioRead(addr, data)) => {
                    exits.count(Reason::Mmio(self.devices.mmio_name(addr)));
                    self.devices.mmio_read(addr, data);
                    continue;
                }
                Ok(VcpuExit::Intr) => {
                    exits.count(Reason::Signal);
                    continue;
                }
                Ok(VcpuExit::InternalError) => None,
                Ok(VcpuExit::Hlt) => {
                    exits.count(Reason::Hlt);
                    Some("guest halted (KVM_EXIT_HLT)".to_string())
                }
                Ok(VcpuExit::Shutdown) => Some("triple fault (KVM_EXIT_SHUTDOWN)".to_string()),
                Ok(VcpuExit::FailEntry(reason, cpu)) => {
                    Some(format!("VM entry failed (KVM_EXIT_FAIL_ENTRY, hardware reason {reason:#x}, host cpu {cpu})"))
                }
                Ok(VcpuExit::SystemEvent(ty, data)) => {
                    Some(format!("system event {ty} {data:x?} (KVM_EXIT_SYSTEM_EVENT)"))
                }
                Ok(other) => Some(format!("unexpected exit {other:?}")),
                Err(e) if e.errno() == libc::EINTR || e.errno() == libc::EAGAIN => {
                    exits.count(Reason::Signal);
                    continue;
                }
                Err(e) => Some(format!("KVM_RUN failed: {e}")),
            };
            let what = failure.unwrap_or_else(|| self.internal_error());
            let rip = match self.fd.get_regs() {
                Ok(r) => format!("{:#x}", r.rip),
                Err(_) => "unknown".to_string(),
            };
            let msg = format!("vCPU {}: {what} at rip {rip}", self.id);
            self.finisher.finish(Outcome::failure(VM_FAILURE, "vCPU failure", msg));
        }
    }

    /// Past the deadline: every vCPU records where it is; vCPU 0 wakes the
    /// others, gathers their lines and ends the run.
    fn timed_out(&self, secs: u64) -> ! {
        if self.id == 0 {
            watchdog::alarm_others();
        }
        postmortem::record(self.id, &self.fd);
        if self.id != 0 {
            // vCPU 0 ends the process.
            loop {
                std::thread::park();
            }
        }
        let mut lines = postmortem::gather(watchdog::others() + 1);
        if let Some(io) = postmortem::ioapic() {
            lines += &format!("\nvmm-harness: {io}");
        }
        let msg = format!("guest did not power off within {secs} s\nvmm-harness: {lines}");
        self.finisher.finish(Outcome::failure(TIMEOUT, "timeout", msg))
    }

    /// Describe KVM_EXIT_INTERNAL_ERROR from kvm_run (suberror, data, and the
    /// instruction bytes of an emulation failure, e.g. ring-0 SSE under kvm-pvm).
    fn internal_error(&mut self) -> String {
        let run = self.fd.get_kvm_run();
        // The last exit was KVM_EXIT_INTERNAL_ERROR.
        // SAFETY: so `internal` is the union member KVM filled in (plain old data).
        let internal = unsafe { run.__bindgen_anon_1.internal };
        let n = (internal.ndata as usize).min(internal.data.len());
        let data = &internal.data[..n];
        let kind = match internal.suberror {
            SUBERROR_EMULATION => "emulation failure",
            2 => "exception while delivering an exception",
            3 => "fault while delivering an event",
            4 => "unexpected exit reason",
            _ => "unknown",
        };
        let mut s = format!(
            "KVM internal error (KVM_EXIT_INTERNAL_ERROR, suberror {}: {kind}), data {data:x?}",
            internal.suberror
        );
        if internal.suberror == SUBERROR_EMULATION && n >= 3 && data[0] & EMULATION_FLAG_INSN_BYTES != 0 {
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&data[1].to_le_bytes());
            bytes[8..].copy_from_slice(&data[2].to_le_bytes());
            let len = usize::from(bytes[0]).min(15);
            let hex: Vec<String> = bytes[1..1 + len].iter().map(|b| format!("{b:02x}")).collect();
            s.push_str(&format!(", instruction bytes [{}]", hex.join(" ")));
        }
        s
    }
}
