//! `/test/std`: runs the Rust std program `/bin/hello-std` (built by upstream
//! rustc for x86_64-unknown-motor, docs/runtime.md) as a child and checks
//! the statuses its parent sees: 0 after a full run (threads, Mutex, time,
//! env), N for `exit N`, -1 for a panic (std's abort on Vireo), and that a
//! panicking child leaves the parent and later children unharmed.
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
    let p = Process::spawn("/bin/hello-std", args).map_err(|e| e.name())?;
    let got = p.wait().map_err(|e| e.name())?;
    println!("test-std: hello-std {args:?} ended with {got}");
    if got != want {
        println!("test-std: expected {want}");
        return Err("wrong status from /bin/hello-std");
    }
    Ok(())
}

fn run() -> Result<(), &'static str> {
    expect(&["exit", "7"], 7)?;
    expect(&["panic"], -1)?;
    expect(&["exit", "0"], 0)?;
    expect(&["full", "run"], 0)?;
    Ok(())
}
