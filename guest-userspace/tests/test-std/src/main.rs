//! `/test/std`: runs the Rust std program `/bin/hello-std` (built by upstream
//! rustc for x86_64-unknown-motor, docs/runtime.md) as a child and checks
//! the statuses its parent sees: 0 after a full run (threads, Mutex, time,
//! env), N for `exit N`, -1 for a panic (std's abort on Vireo), 126 for
//! `/bin/hello-std-v17` (hello-std patched to ask for moto-rt ABI 17, which
//! the runtime refuses), and that such children leave the parent and later
//! children unharmed. Also: a raw child gets no std runtime (`/bin/crash
//! motor-vtable` faults reading the vtable page), the stripped copy
//! `/bin/hello-std-stripped` runs as a std program, and two `hello-std
//! random` children print their random values (the host test compares them).
#![no_std]
#![no_main]

use vireo_rt::{println, Process};

vireo_rt::entry!(main);

fn main() -> i32 {
    match run() {
        Ok(()) => {
            println!("test-std: ok");
            0
        }
        Err(why) => {
            println!("test-std: FAILED: {why}");
            1
        }
    }
}

fn expect(args: &[&str], want: i32) -> Result<(), &'static str> {
    expect_from("/bin/hello-std", args, want)
}

fn expect_from(path: &str, args: &[&str], want: i32) -> Result<(), &'static str> {
    let p = Process::spawn(path, args).map_err(|e| e.name())?;
    let got = p.wait().map_err(|e| e.name())?;
    println!("test-std: {} {args:?} ended with {got}", path.trim_start_matches("/bin/"));
    if got != want {
        println!("test-std: expected {want}");
        return Err("wrong status from a std child");
    }
    Ok(())
}

fn run() -> Result<(), &'static str> {
    // Raw programs stay raw: no vtable page, so the read faults (#PF).
    expect_from("/bin/crash", &["motor-vtable"], vireo_rt::sys::status::killed_by_exception(14))?;
    expect_from("/bin/hello-std-stripped", &["exit", "9"], 9)?;
    expect(&["random"], 0)?;
    expect(&["random"], 0)?;
    expect(&["exit", "7"], 7)?;
    expect(&["panic"], -1)?;
    expect(&["exit", "0"], 0)?;
    // ABI version 17: refused with STATUS_UNSUPPORTED_VERSION; the system goes on.
    expect_from("/bin/hello-std-v17", &["exit", "5"], vireo_rt::pv_abi::motor::STATUS_UNSUPPORTED_VERSION)?;
    expect(&["full", "run"], 0)?;
    Ok(())
}
