//! `/test/services`: named services (ServiceRegister/Connect/Accept),
//! InitrdMap and SpawnImage, end to end. Runs as init (`init=/test/services`),
//! whose handle 1 is the device right; it passes that right to the children
//! that play a server. Prints `test-services: <check> ok` per check and
//! `test-services: ok` at the end (exit 0), or `FAILED: why` (exit 1).
//!
//! Child modes (the first argument): `server`, `acceptor`, `client`,
//! `write-initrd` (children.rs).
#![no_std]
#![no_main]

extern crate alloc;

mod children;
mod images;
mod services;

use vireo_rt::sys;
use vireo_rt::{println, Error};

vireo_rt::entry!(main);

/// The device right: init's handle 1 (and each server child's).
pub const RIGHT: u64 = 1;
/// How long a check waits for another process before calling it stuck.
pub const PATIENCE_NS: u64 = 10_000_000_000;

pub type Check = Result<(), &'static str>;

fn main() -> i32 {
    let args = vireo_rt::args();
    let result = match args.get(0) {
        Some(mode) => children::run(mode),
        None => services::all().and_then(|()| images::all()),
    };
    match (result, args.get(0)) {
        (Ok(()), None) => {
            println!("test-services: ok");
            0
        }
        (Ok(()), Some(_)) => 0,
        (Err(why), mode) => {
            println!("test-services: FAILED ({}): {why}", mode.unwrap_or("main"));
            1
        }
    }
}

/// `r` must be exactly `Err(want)`; prints what it was otherwise.
pub fn expect_err<T>(r: Result<T, Error>, want: Error, what: &'static str) -> Check {
    match r {
        Err(e) if e == want => Ok(()),
        Err(e) => {
            println!("test-services: {what}: {} (want {})", e.name(), want.name());
            Err(what)
        }
        Ok(_) => {
            println!("test-services: {what}: succeeded (want {})", want.name());
            Err(what)
        }
    }
}

/// Unwraps `r`, naming the error and the step on failure.
pub fn ok<T>(r: Result<T, Error>, what: &'static str) -> Result<T, &'static str> {
    r.map_err(|e| {
        println!("test-services: {what}: {}", e.name());
        what
    })
}

/// Waits for a child process and returns its status.
pub fn wait_child(h: u64, what: &'static str) -> Result<i32, &'static str> {
    let s = ok(sys::wait(h, PATIENCE_NS), what);
    let _ = sys::close(h);
    s
}
