//! `/init`: the first user process. Reports readiness on the boot-trace
//! port, starts the I/O server (`/sbin/io`, handing it the device right),
//! then runs the program named after `--` on the kernel command line
//! (default `/bin/hello`; one the initrd does not have is started from the
//! root disk through `/sbin/launch`) and exits with its status (the kernel then powers
//! off with it). It supervises the server: if the server dies, init says so
//! and powers the system off with [`IO_SERVER_DIED`] instead of hanging.
//! When the program is done, init closes the server's control pipe, which
//! makes the server unmount `/` cleanly, and waits for it. A program that
//! ends with `REBOOT_REQUEST` (the shell's `reboot`) gets the same clean
//! stop, and init ends with that status too: the kernel then restarts.
//!
//! `-- --io-server=PATH PROGRAM ...` starts PATH as the server instead (tests
//! of the supervision use a stand-in that dies).
//!
//! Network options (`ip=...`, `dns=...`, `net.*`; docs/network.md) and
//! free-page reporting's (`balloon=off`, `balloon.*`; docs/paravirt.md) right
//! after `--`, before the program, go to the server as its arguments: the
//! kernel gives init only the words after `--`, and the server, which runs
//! the network and the balloon, gets its options from init.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use vireo_rt::device::{wait_many, INIT_DEVICE_RIGHT};
use vireo_rt::pv_abi::boot_trace;
use vireo_rt::pv_abi::exit::init::{IO_SERVER_DIED, IO_SERVER_SILENT, REBOOT_REQUEST};
use vireo_rt::{println, sys};

vireo_rt::entry!(main);

const IO_SERVER: &str = "/sbin/io";
const DEFAULT_PROGRAM: &str = "/bin/hello";
/// Runs a program that is not in the initrd (guest-userspace/std-programs/launch).
const LAUNCH: &str = "/sbin/launch";
/// How long the server may take to mount `/` (a journal replay included).
const READY_TIMEOUT_NS: u64 = 60_000_000_000;
/// How long the server may take to unmount at shutdown.
const STOP_TIMEOUT_NS: u64 = 30_000_000_000;

fn main() -> i32 {
    println!("init: Vireo user space is up");
    if let Err(e) = sys::boot_mark(boot_trace::INIT_READY) {
        println!("init: boot_mark(INIT_READY) failed: {}", e.name());
        return 1;
    }
    let args = vireo_rt::args();
    let mut argv: Vec<&str> = args.iter().collect();
    let server_path = match argv.first().and_then(|a| a.strip_prefix("--io-server=")) {
        Some(path) => {
            argv.remove(0);
            path
        }
        None => IO_SERVER,
    };
    // The server's own options, then the program.
    let server_args: Vec<&str> = argv.iter().copied().take_while(|a| is_server_option(a)).collect();
    argv.drain(..server_args.len());
    let server = match start_io_server(server_path, &server_args) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let (program, rest) = match argv.split_first() {
        Some((p, rest)) => (*p, rest),
        None => (DEFAULT_PROGRAM, &[][..]),
    };
    let status = match spawn_program(program, rest) {
        Ok(child) => match supervise(child, &server) {
            Ok(status) => status,
            Err(code) => return code,
        },
        Err(e) => {
            println!("init: cannot run {program}: {}", e.name());
            1
        }
    };
    stop_io_server(&server);
    if status == REBOOT_REQUEST {
        // The kernel restarts the machine when init ends with it.
        return status;
    }
    match u8::try_from(status) {
        Ok(code) => i32::from(code),
        Err(_) => {
            println!("init: {program} ended with status {status:#x}");
            1
        }
    }
}

/// Starts `program` from the initrd, or, when the initrd has no such file,
/// through [`LAUNCH`], whose std runtime finds it on `/` (the root disk).
fn spawn_program(program: &str, rest: &[&str]) -> Result<u64, vireo_rt::Error> {
    match sys::spawn(program, rest) {
        Err(vireo_rt::Error::NotFound) => {
            let mut argv: Vec<&str> = Vec::with_capacity(rest.len() + 1);
            argv.push(program);
            argv.extend_from_slice(rest);
            sys::spawn(LAUNCH, &argv)
        }
        other => other,
    }
}

/// The I/O server's network and balloon options (the server parses them).
fn is_server_option(word: &str) -> bool {
    ["ip=", "dns=", "net.", "balloon=", "balloon."].iter().any(|p| word.starts_with(p))
}

struct IoServer {
    process: u64,
    /// Closing it tells the server to unmount and end.
    control: u64,
}

/// Starts the server and waits until it has mounted `/`.
fn start_io_server(path: &str, args: &[&str]) -> Result<IoServer, i32> {
    let (ready_r, ready_w) = sys::pipe_create().map_err(|e| fail("cannot create a pipe", e))?;
    let (control_r, control_w) = sys::pipe_create().map_err(|e| fail("cannot create a pipe", e))?;
    let process = sys::spawn_with_handles(path, args, &[INIT_DEVICE_RIGHT, ready_w, control_r])
        .map_err(|e| fail("cannot start the I/O server", e))?;
    let _ = sys::close(ready_w);
    let _ = sys::close(control_r);
    let mut line = [0u8; 8];
    let ready = match wait_many(&[ready_r, process], READY_TIMEOUT_NS) {
        Ok(mask) if mask & 1 != 0 => matches!(sys::pipe_read(ready_r, &mut line), Ok(n) if n > 0),
        _ => false,
    };
    let _ = sys::close(ready_r);
    if ready {
        return Ok(IoServer { process, control: control_w });
    }
    match sys::wait(process, 0) {
        Ok(status) => {
            println!("init: the I/O server died while starting (status {status:#x}); powering off");
            Err(i32::from(IO_SERVER_DIED))
        }
        Err(_) => {
            println!("init: the I/O server did not get ready; powering off");
            Err(i32::from(IO_SERVER_SILENT))
        }
    }
}

/// Waits for `child`; if the I/O server dies first, that ends the system.
fn supervise(child: u64, server: &IoServer) -> Result<i32, i32> {
    match wait_many(&[child, server.process], sys::FOREVER) {
        Ok(mask) if mask & 2 != 0 => {
            let status = sys::wait(server.process, 0).unwrap_or(-1);
            println!("init: the I/O server died (status {status:#x}); powering off");
            Err(i32::from(IO_SERVER_DIED))
        }
        Ok(_) => sys::wait(child, 0).map_err(|e| fail("cannot read the program's status", e)),
        Err(e) => Err(fail("waiting failed", e)),
    }
}

fn stop_io_server(server: &IoServer) {
    let _ = sys::close(server.control);
    match sys::wait(server.process, STOP_TIMEOUT_NS) {
        Ok(0) => {}
        Ok(status) => println!("init: the I/O server ended with status {status:#x}"),
        Err(e) => println!("init: the I/O server did not stop: {}", e.name()),
    }
}

fn fail(what: &str, e: vireo_rt::Error) -> i32 {
    println!("init: {what}: {}", e.name());
    1
}
