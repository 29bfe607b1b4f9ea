//! Free-page reporting (docs/paravirt.md, "Free-page reporting"): memory
//! programs free goes back to the host through a virtio-balloon device
//! with VIRTIO_BALLOON_F_REPORTING. A thread of its own, once a second:
//! take free frames the host still backs from the kernel (`FreePagesTake`,
//! only when at least [`MIN_BYTES`] are free, so an idle guest does not
//! churn), offer them on the reporting queue, and when the device has used
//! them give them back as reported (`FreePagesGive`). The host discards
//! them; the kernel hands them out last.
//!
//! Server arguments: `balloon=off` leaves the device alone; `balloon.log`
//! prints a line per reporting round (how much, how long).
//!
//! A device that misbehaves (refuses the feature, has no queue, lies in its
//! used ring) gets one line and is closed: the kernel resets it and takes
//! back any frames it was reporting, and everything else runs on.
use pv_abi::syscall::device::{FreeRun, KIND_PCI, REPORT_MAX_RUNS};
use vireo_rt::device::{self as dev, DeviceInfo};
use vireo_rt::{println, sys};
use vireo_virtio::balloon::{self, Balloon, Run};
use vireo_virtio::sys::{self as vsys, AnyTransport, Irq};
use vireo_virtio::{queue, Error};

/// Report only when this much is free and unreported (Linux reports 2 MiB
/// blocks, `pageblock_order`).
const MIN_BYTES: u64 = 2 << 20;
/// How often free memory is looked at (Linux waits 2 s after a free).
const POLL_NS: u64 = 1_000_000_000;
const RUNS: usize = REPORT_MAX_RUNS as usize;
/// How long a driver without an interrupt sleeps between looks at the queue.
const POLL_BUSY_NS: u64 = 200_000;

/// The balloon, opened but not yet touched (on microvm its registers may
/// share a page with the disk's: see `net::claim`).
pub struct Claimed {
    handle: u64,
    info: DeviceInfo,
    log: bool,
}

fn transport_name(info: &DeviceInfo) -> &'static str {
    if info.kind == KIND_PCI {
        "virtio-pci"
    } else {
        "virtio-mmio"
    }
}

/// Opens the first virtio-balloon, unless the arguments say `balloon=off`.
pub fn claim(right: u64, args: &[&str]) -> Option<Claimed> {
    if args.contains(&"balloon=off") {
        return None;
    }
    let (index, info) = vsys::find(right, balloon::DEVICE_TYPE)?;
    match dev::open(right, index) {
        Ok(handle) => Some(Claimed { handle, info, log: args.contains(&"balloon.log") }),
        Err(e) => {
            println!("balloon: {}: cannot open: {}", transport_name(&info), e.name());
            None
        }
    }
}

/// Brings the device up and starts the reporting thread; a device that
/// cannot report is closed with one line saying why.
pub fn start(c: Claimed) {
    let name = transport_name(&c.info);
    let (mut b, irq) = match bring_up(&c) {
        Ok(v) => v,
        Err(e) => {
            let _ = sys::close(c.handle);
            return println!("balloon: {name}: {}; free-page reporting off", why(e));
        }
    };
    println!("balloon: free-page reporting on ({name})");
    let (handle, log) = (c.handle, c.log);
    let started = vireo_rt::thread::spawn(move || {
        let e = run(handle, &mut b, irq.as_ref(), log);
        // Closing resets the device; the kernel takes back what it held.
        let _ = sys::close(handle);
        println!("balloon: {}; free-page reporting off", why(e));
    });
    if let Err(e) = started {
        println!("balloon: cannot start its thread: {}", e.name());
    }
}

fn why(e: Error) -> alloc::string::String {
    use alloc::format;
    match e {
        Error::FeatureMissing(_) => "the device offers no free-page reporting (VIRTIO_BALLOON_F_REPORTING)".into(),
        Error::QueueUnavailable(q) => format!("the device has no reporting queue (queue {q} has size 0)"),
        Error::Kernel(k) => format!("kernel: {}", k.name()),
        e => format!("device error: {e:?}"),
    }
}

fn bring_up(c: &Claimed) -> Result<(Balloon<AnyTransport>, Option<Irq>), Error> {
    let (transport, irq) = vsys::attach_polling(c.handle, &c.info)?;
    let queue_mem = vsys::dma(c.handle, queue::layout(queue::MAX_SIZE).2)?;
    Ok((Balloon::new(transport, queue_mem)?, irq))
}

/// Waits for the device to use buffers: its interrupt, or without one a
/// short sleep (QEMU completes a report while the notifying write exits,
/// so the first look usually finds it done).
fn wait(irq: Option<&Irq>) -> Result<(), Error> {
    match irq {
        // No deadline, as for the disk (disk.rs says why): a silent device
        // keeps this batch, and only this thread waits.
        Some(irq) => irq.wait(sys::FOREVER),
        None => {
            let _ = sys::sleep(POLL_BUSY_NS);
            Ok(())
        }
    }
}

/// The reporting loop; returns only on an error.
fn run(handle: u64, b: &mut Balloon<AnyTransport>, irq: Option<&Irq>, log: bool) -> Error {
    let mut runs = [FreeRun::default(); RUNS];
    let mut asked = 0;
    let (mut round_bytes, mut round_batches, mut round_start, mut round_tsc) = (0u64, 0u32, 0u64, 0u64);
    let mut idle_looks = 0u32;
    loop {
        let tsc0 = tsc();
        match b.target_pages() {
            Ok(n) if n != asked => {
                asked = n;
                if n != 0 {
                    println!("balloon: the host asks for {} MiB; inflation is not supported", n / 256);
                }
            }
            Ok(_) => {}
            Err(e) => return e,
        }
        let n = match dev::free_pages_take(handle, &mut runs, MIN_BYTES) {
            Ok(n) => n,
            Err(e) => return Error::Kernel(e),
        };
        if n == 0 {
            if log && round_batches > 0 {
                let ms = (sys::now_ns() - round_start) / 1_000_000;
                let (mib, k) = (round_bytes >> 20, round_tsc / 1000);
                println!("balloon: reported {mib} MiB in {round_batches} batches, {ms} ms, {k} k TSC cycles");
            }
            if log && round_batches == 0 && idle_looks < 2 {
                // The second: the first pays for faults of a fresh stack.
                idle_looks += 1;
                if idle_looks == 2 {
                    println!("balloon: a look with nothing to report: {} TSC cycles", tsc() - tsc0);
                }
            }
            round_batches = 0;
            let _ = sys::sleep(POLL_NS);
            continue;
        }
        if round_batches == 0 {
            (round_bytes, round_start, round_tsc) = (0, sys::now_ns(), 0);
        }
        let mut list = [Run { addr: 0, len: 0 }; RUNS];
        for (d, r) in list.iter_mut().zip(&runs[..n]) {
            *d = Run { addr: r.addr, len: r.len };
        }
        let reported = b.report(&list[..n], &mut || wait(irq));
        if let Err(e) = reported {
            return e;
        }
        match dev::free_pages_give(handle, true) {
            Ok(frames) => round_bytes += frames * 4096,
            Err(e) => return Error::Kernel(e),
        }
        round_batches += 1;
        round_tsc += tsc() - tsc0;
    }
}

/// Under QEMU `-icount shift=0` the TSC counts guest instructions while the
/// CPU runs: `balloon.log` gives the cost of reporting that way.
fn tsc() -> u64 {
    // SAFETY: RDTSC has no preconditions on x86_64 (user mode may run it).
    unsafe { core::arch::x86_64::_rdtsc() }
}
