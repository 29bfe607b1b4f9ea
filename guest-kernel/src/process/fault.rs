//! CPU exceptions taken in user mode.
use super::proc::{current, exit_process};
use super::vm::FaultError;
use crate::arch::x86_64::trap::TrapFrame;
use pv_abi::syscall::status;

/// A CPU exception in user mode: a page fault inside a lazily populated
/// region is served; anything else kills the process with a one-line report.
pub fn on_user_exception(frame: &mut TrapFrame) {
    let Some(p) = current() else { return };
    let cr2 = x86_64::registers::control::Cr2::read_raw();
    if frame.vector == 14 {
        let write = frame.error_code & 2 != 0;
        let exec = frame.error_code & 16 != 0;
        let present = frame.error_code & 1 != 0;
        let served = match p.vm.lock().as_mut() {
            Some(vm) if !present => vm.fault_in(cr2, write, exec),
            _ => Err(FaultError::Denied),
        };
        match served {
            Ok(()) => return,
            Err(FaultError::OutOfMemory) => {
                kprintln!("process {} ({}) killed: out of memory (fault at {cr2:#x})", p.pid, p.name);
                drop(p);
                exit_process(status::OUT_OF_MEMORY);
            }
            Err(FaultError::Denied) => {}
        }
    }
    let what = crate::arch::x86_64::exception::name(frame.vector);
    if frame.vector == 14 {
        kprintln!(
            "process {} ({}) killed: {what} at {cr2:#x} (rip {:#x}, error {:#x})",
            p.pid,
            p.name,
            frame.rip,
            frame.error_code
        );
    } else {
        kprintln!("process {} ({}) killed: {what} (rip {:#x})", p.pid, p.name, frame.rip);
    }
    drop(p);
    exit_process(status::killed_by_exception(frame.vector as u8));
}
