//! System calls: decode the number and arguments from the trap frame, run
//! the handler, encode the result (pv-abi `syscall` convention). Every
//! argument is untrusted: handlers validate it and return a typed error.
mod console;
mod device;
mod free_pages;
mod handler;
mod memory;
mod misc;
mod objects;
mod pipes;
mod procs;
mod service;
mod wait_many;

use crate::arch::x86_64::trap::TrapFrame;
use pv_abi::syscall::{Error, Sys};

use handler::{process, SysResult};

/// Called by the trap dispatcher for `syscall` (interrupts off, on the
/// thread's kernel stack); the trap path then returns to user mode.
pub fn dispatch(frame: &mut TrapFrame) {
    let a = [frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9];
    let result = match Sys::from_raw(frame.rax) {
        Some(call) => run(call, a),
        None => Err(Error::NoSys),
    };
    frame.rax = match result {
        Ok(v) => v,
        Err(e) => e.to_ret(),
    };
}

fn run(call: Sys, a: [u64; 6]) -> SysResult {
    match call {
        Sys::ConsoleWrite => misc::console_write(a[0], a[1]),
        Sys::ConsoleRead => misc::console_read(a[0], a[1]),
        Sys::Exit => crate::process::exit_process(a[0] as i32),
        Sys::Yield => {
            crate::sched::yield_now();
            Ok(0)
        }
        Sys::Sleep => misc::sleep(a[0]),
        Sys::ClockMonotonic => Ok(crate::time::now_ns()),
        Sys::Map => memory::map(a[0], a[1], a[2]),
        Sys::Unmap => memory::unmap(a[0], a[1]),
        Sys::Protect => memory::protect(a[0], a[1], a[2]),
        Sys::Spawn => objects::spawn(a[0], a[1], a[2], a[3], a[4], a[5]),
        Sys::Wait => objects::wait(a[0], a[1]),
        Sys::Kill => objects::kill(a[0]),
        Sys::ThreadSpawn => objects::thread_spawn(a[0], a[1], a[2], a[3]),
        Sys::ThreadExit => crate::process::exit_thread(a[0] as i32),
        Sys::FutexWait => {
            let expected = u32::try_from(a[1]).map_err(|_| Error::Invalid)?;
            crate::process::futex_wait(a[0], expected, a[2])
        }
        Sys::FutexWake => crate::process::futex_wake(a[0], a[1]),
        Sys::SetFsBase => misc::set_fs_base(a[0]),
        Sys::Close => objects::close(a[0]),
        Sys::Duplicate => objects::duplicate(a[0], a[1]),
        Sys::ShmCreate => objects::shm_create(a[0]),
        Sys::ShmMap => objects::shm_map(a[0], a[1]),
        Sys::ShmLen => objects::shm_len(a[0]),
        Sys::Args => misc::args(a[0], a[1]),
        Sys::SysInfo => misc::sysinfo(a[0], a[1]),
        Sys::CpuStats => misc::cpu_stats(a[0], a[1], a[2]),
        Sys::ConsoleReadRaw => console::console_read_raw(a[0], a[1]),
        Sys::ConsoleForeground => console::console_foreground(a[0], a[1]),
        Sys::BootMark => misc::boot_mark(a[0]),
        Sys::PipeCreate => pipes::create(a[0]),
        Sys::Read => pipes::read(a[0], a[1], a[2]),
        Sys::Write => pipes::write(a[0], a[1], a[2]),
        Sys::DeviceInfo => device::info(a[0], a[1], a[2], a[3]),
        Sys::DeviceOpen => device::open(a[0], a[1]),
        Sys::DeviceMap => device::map(a[0], a[1], a[2], a[3]),
        Sys::DmaAlloc => device::dma_alloc(a[0], a[1], a[2]),
        Sys::IrqOpen => device::irq_open(a[0], a[1], a[2]),
        Sys::IrqAck => device::irq_ack(a[0]),
        Sys::WaitMany => wait_many::wait_many(a[0], a[1], a[2]),
        Sys::ConfigRead => device::config_read(a[0], a[1], a[2]),
        Sys::ConfigWrite => device::config_write(a[0], a[1], a[2], a[3]),
        Sys::ServiceRegister => service::register(a[0], a[1], a[2]),
        Sys::ServiceConnect => service::connect(a[0], a[1], a[2]),
        Sys::ServiceAccept => service::accept(a[0], a[1], a[2]),
        Sys::InitrdMap => service::initrd_map(a[0], a[1]),
        Sys::SpawnImage => objects::spawn_image(a[0], a[1]),
        Sys::FreePagesTake => free_pages::take(a[0], a[1], a[2], a[3]),
        Sys::FreePagesGive => free_pages::give(a[0], a[1]),
        Sys::ProcessList => procs::process_list(a[0], a[1]),
        Sys::KillPid => procs::kill_pid(a[0]),
    }
}
