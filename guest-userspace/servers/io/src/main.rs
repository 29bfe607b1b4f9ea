//! `/sbin/io`: the I/O server. Init starts it first and hands it the device
//! right; it mounts `/` (the first virtio-blk disk holding ext4, read-write,
//! else the initrd, read-only), registers the `io` service and serves every
//! program's file requests over its own I/O channel (one thread per
//! connection). There is no block or file-data cache here: every read goes
//! to the device and the host's page cache is the only one.
//!
//! It also runs the network (`net`, docs/network.md) when there is a
//! virtio-net card: a thread of its own, started just before the `ready`
//! line (so requests find its queue) and addressing the interface after
//! it, so the disk never waits for DHCP. Its options (`ip=`, `dns=`, `net.*`) are
//! this program's arguments, which init forwards from the kernel command
//! line.
//!
//! With a virtio-balloon offering free-page reporting, a `balloon` thread
//! gives memory programs freed back to the host (balloon.rs).
//!
//! Handles from init: 1 the device right, 2 the write end of a pipe on
//! which we say `ready` once `/` is mounted and the service registered,
//! 3 the read end of init's control pipe: when init closes it (the system is
//! shutting down) we unmount cleanly and end.
#![no_std]
#![no_main]

extern crate alloc;

mod balloon;
mod clock;
mod conn;
mod disk;
mod futex;
mod handles;
mod mount;
mod net;
mod path;
mod serve;
mod sysfiles;

use alloc::boxed::Box;
use alloc::vec::Vec;
use pv_abi::syscall::IO_SERVICE;
use vireo_fs::FileSystem;
use vireo_rt::sync::Mutex;
use vireo_rt::{println, sys};

vireo_rt::entry!(main);

const DEVICE_RIGHT: u64 = 1;
const READY: u64 = 2;
const CONTROL: u64 = 3;

/// The file system mounted at `/`; one request holds it at a time.
pub static ROOT: Mutex<Option<Box<dyn FileSystem + Send>>> = Mutex::new(None);

fn main() -> i32 {
    let args = vireo_rt::args();
    let words: Vec<&str> = args.iter().collect();
    // Opened before the disk maps its registers: on microvm they share a
    // page with the card's (net::claim says why that matters).
    let card = net::claim(DEVICE_RIGHT, &words);
    let balloon = balloon::claim(DEVICE_RIGHT, &words);
    let Some((fs, disk)) = mount::root(DEVICE_RIGHT) else {
        println!("io: nothing to serve as /");
        return 1;
    };
    println!("io: / is {}", fs.describe());
    mount::set_root_is_disk(disk);
    *ROOT.lock() = Some(fs);
    let listener = match sys::service_register(DEVICE_RIGHT, IO_SERVICE) {
        Ok(l) => l,
        Err(e) => {
            println!("io: cannot register the {IO_SERVICE:?} service: {}", e.name());
            return 1;
        }
    };
    if let Err(e) = vireo_rt::thread::spawn(move || conn::accept_loop(listener)) {
        println!("io: cannot start the accepting thread: {}", e.name());
        return 1;
    }
    // The net thread's request queue must exist before `ready`: a program
    // init starts next may bind or connect at once, and without the queue
    // that was NetworkUnreachable (httpd's listen failed now and then).
    // Requests wait in the queue while the thread brings the card up;
    // addressing (DHCP) goes on after `ready` on that thread.
    if let Some(card) = card {
        net::start(card);
    }
    // init may not have asked to hear it (a missing pipe is BadHandle).
    let _ = sys::pipe_write(READY, b"ready\n");
    let _ = sys::close(READY);
    if let Some(b) = balloon {
        balloon::start(b);
    }
    let mut buf = [0u8; 16];
    while let Ok(n) = sys::pipe_read(CONTROL, &mut buf) {
        if n == 0 {
            break;
        }
    }
    net::finish_probe();
    shut_down()
}

/// Unmounts `/` (journal checkpointed, clean flag set) and ends the server.
fn shut_down() -> i32 {
    let mut root = ROOT.lock();
    let Some(fs) = root.as_mut() else { return 0 };
    match fs.unmount() {
        Ok(()) => {
            if mount::root_is_disk() {
                println!("io: / unmounted cleanly");
            }
            0
        }
        Err(e) => {
            println!("io: unmounting / failed: {e:?}");
            1
        }
    }
}
