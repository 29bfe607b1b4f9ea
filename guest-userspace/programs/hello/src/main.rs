//! `/bin/hello [status]`: prints a greeting and its arguments; exits with the
//! first argument parsed as an i32 (0 without one), which lets parents check
//! that arguments and exit statuses travel correctly.
#![no_std]
#![no_main]

use vireo_rt::{print, println};

vireo_rt::entry!(main);

fn main() -> i32 {
    let args = vireo_rt::args();
    print!("hello from user space");
    if !args.is_empty() {
        print!(", args:");
        for a in args.iter() {
            print!(" {a}");
        }
    }
    println!();
    match args.get(0) {
        None => 0,
        Some(a) => match a.parse::<i32>() {
            Ok(status) => status,
            Err(_) => {
                println!("hello: first argument {a:?} is not an i32");
                2
            }
        },
    }
}
