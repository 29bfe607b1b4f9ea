//! `/test/faults`: every way `/bin/crash` can die must end in
//! `status::killed_by_exception(vector)` with the right vector, and the
//! system must go on running programs afterwards.
#![no_std]
#![no_main]

use vireo_rt::sys::status;
use vireo_rt::{println, process};

vireo_rt::entry!(main);

const PF: u8 = 14;
const UD: u8 = 6;

const CASES: [(&str, u8); 6] = [
    ("null", PF),
    ("ud2", UD),
    ("write-text", PF),
    // A user-mode fetch from a supervisor page is a #PF (error code U=1), not #GP.
    ("jump-kernel", PF),
    ("stack-overflow", PF),
    // The runtime's panic handler ends a process with ud2.
    ("panic", UD),
];

fn main() -> i32 {
    let mut failed = 0;
    for (mode, vector) in CASES {
        let want = status::killed_by_exception(vector);
        match process::run("/bin/crash", &[mode]) {
            Ok(s) if s == want => println!("test-faults: {mode}: killed by vector {vector}"),
            Ok(s) => {
                println!("test-faults: {mode}: status {s:#x}, want {want:#x}");
                failed += 1;
            }
            Err(e) => {
                println!("test-faults: {mode}: spawn/wait: {}", e.name());
                failed += 1;
            }
        }
    }
    match process::run("/bin/hello", &[]) {
        Ok(0) => {}
        Ok(s) => {
            println!("test-faults: /bin/hello after the crashes: status {s:#x}");
            failed += 1;
        }
        Err(e) => {
            println!("test-faults: /bin/hello after the crashes: {}", e.name());
            failed += 1;
        }
    }
    if failed != 0 {
        println!("test-faults: FAILED: {failed} case(s)");
        return 1;
    }
    println!("test-faults: ok");
    0
}
