//! `/test/io-dies`: a stand-in I/O server that says `ready` on init's pipe
//! (its handle 2), then dies (exit 3) a moment later, so a test can check
//! that init notices the server's death while its program runs and powers
//! the system off with `IO_SERVER_DIED` instead of hanging.
#![no_std]
#![no_main]

use vireo_rt::{println, sys};

vireo_rt::entry!(main);

const READY: u64 = 2;

fn main() -> i32 {
    if sys::pipe_write(READY, b"ready\n").is_err() {
        println!("test-io-dies: no ready pipe");
        return 1;
    }
    let _ = sys::sleep(50_000_000);
    println!("test-io-dies: dying now");
    3
}
