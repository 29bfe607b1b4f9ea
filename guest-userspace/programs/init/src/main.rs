//! `/init`: the first user process. Reports readiness on the boot-trace port,
//! runs `/bin/hello`, and exits with 0 if that worked (the kernel then powers
//! off with init's status).
#![no_std]
#![no_main]

use vireo_rt::pv_abi::boot_trace;
use vireo_rt::{println, sys};

vireo_rt::entry!(main);

fn main() -> i32 {
    println!("init: Vireo user space is up");
    if let Err(e) = sys::boot_mark(boot_trace::INIT_READY) {
        println!("init: boot_mark(INIT_READY) failed: {}", e.name());
        return 1;
    }
    match vireo_rt::process::run("/bin/hello", &[]) {
        Ok(0) => 0,
        Ok(status) => {
            println!("init: /bin/hello ended with status {status:#x}");
            1
        }
        Err(e) => {
            println!("init: cannot run /bin/hello: {}", e.name());
            1
        }
    }
}
