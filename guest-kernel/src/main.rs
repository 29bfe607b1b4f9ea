//! Vireo guest kernel.
#![no_std]
#![no_main]

extern crate alloc;

#[macro_use]
mod console;
mod acpi;
mod arch;
mod boot;
mod cpu_init;
mod crashtest;
mod device;
mod entropy;
mod initrd;
mod irq;
mod loader;
mod mm;
mod percpu;
mod poweroff;
mod process;
mod pv;
mod sched;
mod selftest;
mod selftest_api;
mod smp;
mod sync;
mod syscall;
mod time;
mod tlb;
mod trace;
mod trap_handlers;

use boot::cmdline::Cmdline;
use boot::start_info::BootInfo;
use pv_abi::{boot_trace, exit::KernelExit};
use spin::Once;

const VERSION: &str = env!("CARGO_PKG_VERSION");

static CMDLINE: Once<Cmdline> = Once::new();

/// Called from the PVH entry code on the boot stack, in long mode.
#[no_mangle]
extern "C" fn kernel_main(start_info_paddr: u64) -> ! {
    irq::install();
    trap_handlers::register_all();
    console::init();
    cpu_init::init_boot_cpu();
    let info = match boot::start_info::parse(start_info_paddr) {
        Ok(info) => info,
        Err(e) => {
            kprintln!("Vireo {VERSION} (x86_64, PVH)");
            kprintln!("boot: unusable start_info at {start_info_paddr:#x}: {e}");
            poweroff::exit_with(KernelExit::BadBootInfo);
        }
    };
    let cmdline = CMDLINE.call_once(|| Cmdline::new(info.cmdline));
    let quiet = cmdline.has_flag("quiet");
    console::set_quiet(quiet);
    kinfoln!("Vireo {VERSION} (x86_64, PVH)");
    print_memory_map(&info, cmdline.has_flag("memmap"));
    kinfo!("cmdline: ");
    if !quiet {
        console::write_bytes(cmdline.raw());
    }
    kinfoln!();
    trace::phase("banner");

    match mm::init(&info) {
        Ok(stats) => kinfoln!("mm: {stats}"),
        Err(e) => {
            kprintln!("mm: {e}");
            poweroff::exit_with(KernelExit::OutOfMemory);
        }
    }
    trace::phase("memory");

    // Without ACPI (e.g. microvm,acpi=off) the kernel still runs, on the
    // boot CPU only and without an ACPI PM timer or S5.
    let acpi = match acpi::init(info.rsdp_paddr) {
        Ok(a) => {
            kinfoln!("acpi: {a}");
            Some(a)
        }
        Err(e) => {
            kprintln!("acpi: {e}; continuing without ACPI on the boot cpu");
            None
        }
    };
    trace::phase("acpi");
    match mm::paging::map_mmio(arch::x86_64::apic::mmio_paddr(), 4096) {
        Ok(va) => arch::x86_64::apic::set_mmio_base(va),
        Err(e) => kprintln!("apic: cannot map registers uncached ({e:?}); using the direct map"),
    }
    arch::x86_64::apic::init_cpu(true, arch::x86_64::trap::vector::SPURIOUS);
    arch::x86_64::pic::disable_legacy();
    if let Some(acpi) = acpi {
        irq::gsi::init(acpi);
        let com1 = pv_abi::serial::COM1_IRQ as u8;
        match irq::gsi::route_isa_irq(acpi, com1, arch::x86_64::trap::vector::SERIAL, percpu::current().apic_id) {
            Ok(_) => console::enable_input(),
            Err(e) => kprintln!("console: no input: {e}"),
        }
    }

    device::init(acpi, cmdline.raw());
    let pm_timer = acpi.and_then(|a| a.pm_timer);
    // `tsc_khz=` states the TSC rate (like Linux's tsc_early_khz), e.g.
    // 1000000 under QEMU `-icount shift=0`.
    let tsc_khz = cmdline.value("tsc_khz").and_then(|v| v.parse::<u64>().ok());
    let clock = match time::init_boot_cpu(pm_timer, tsc_khz) {
        Ok(clock) => clock,
        Err(e) => {
            kprintln!("clock: {e}");
            poweroff::exit_with(KernelExit::BadBootInfo);
        }
    };
    kinfoln!("clock: {clock}");
    pv::init_boot_cpu(cmdline, clock.source == time::ClockSource::KvmClock);
    time::set_cpu_index_fn(percpu::index);
    if !arch::x86_64::apic::has_tsc_deadline() {
        // KVM and QEMU clock the virtual APIC timer at a fixed 1 GHz; only
        // bare metal (or an unknown hypervisor) needs measuring.
        let hz = if time::under_hypervisor() {
            time::timer::set_oneshot_hz(time::APIC_BUS_HZ);
            time::APIC_BUS_HZ
        } else {
            time::timer::calibrate_oneshot()
        };
        kinfoln!("apic: one-shot timer at {} kHz (no TSC-deadline)", hz / 1000);
    }
    trace::phase("clock and apic");
    kinfoln!("cpu 0 online");
    // Online-capable but disabled entries are hot-plug slots: not started.
    let apic_ids: alloc::vec::Vec<u32> =
        acpi.map(|a| a.cpus().iter().filter(|c| c.enabled).map(|c| c.apic_id).collect()).unwrap_or_default();
    match smp::start_aps(&apic_ids) {
        Ok(n) => kinfoln!("smp: {n} of {} cpus online", apic_ids.len().max(1)),
        Err(e) => kprintln!("smp: {e}; continuing on the boot cpu"),
    }
    trace::phase("smp");
    if let Some(r) = initrd::from_boot_info(&info) {
        match r.map(initrd::init) {
            Ok(rd) => kinfoln!("initrd: {rd}"),
            Err(e) => {
                // A broken boot image must not look like a system with nothing to run.
                kprintln!("initrd: unusable: {e}");
                poweroff::exit_with(KernelExit::NoInit);
            }
        }
    }
    trace::mark(boot_trace::KERNEL_INIT_DONE);
    // After bring-up, so the dump path runs with every CPU up and ACPI
    // power-off available.
    if let Some(kind) = cmdline.value("crashtest") {
        crashtest::run(kind);
    }

    if let Err(e) = sched::spawn("kinit", 0, kinit, 0) {
        kprintln!("sched: cannot start kinit: {e}");
        poweroff::exit_with(KernelExit::OutOfMemory);
    }
    sched::run()
}

/// The first kernel thread: runs the optional kernel self-tests, then
/// starts init from the initrd and powers off with its status.
fn kinit(_: usize) {
    let flag = |f| CMDLINE.get().is_some_and(|c| c.has_flag(f));
    if flag("consoletest") {
        console_echo();
    }
    // `selftest` runs them all, `selftest=PREFIX` those whose names start so.
    let only = CMDLINE.get().and_then(|c| c.value("selftest"));
    if (flag("selftest") || only.is_some()) && !selftest::run_all(only) {
        poweroff::exit_with(KernelExit::SelfTestFailed);
    }
    // Every CPU is up and the self-tests (which take a low page) are done.
    mm::retire_low_pool();
    let Some(initrd) = initrd::get() else {
        trace::mark(boot_trace::USER_ENTRY);
        if flag("bootstat") {
            trace::print_bootstat(time::tsc_hz());
        }
        kprintln!("init: no initrd, nothing to run");
        poweroff::exit_with(KernelExit::Success)
    };
    let path = CMDLINE.get().and_then(|c| c.value("init")).unwrap_or("/init");
    // Arguments after `--` on the kernel command line go to init.
    let args = CMDLINE.get().map(|c| c.after_separator()).unwrap_or_default();
    // Init holds the device right (its handle 1) and hands it to the I/O server.
    let right = (process::Object::DeviceRight, pv_abi::syscall::rights::DEVICE | pv_abi::syscall::rights::DUPLICATE);
    let init = match process::spawn(path, args, alloc::vec![right]) {
        Ok(p) => p,
        Err(e) => {
            kprintln!("init: cannot start {path}: {} (initrd: {initrd})", e.name());
            poweroff::exit_with(KernelExit::NoInit);
        }
    };
    let status = loop {
        init.add_waiter();
        if let Some(s) = init.ended_status() {
            break s;
        }
        sched::park();
    };
    if flag("bootstat") {
        trace::print_bootstat(time::tsc_hz());
    }
    if status == pv_abi::exit::init::REBOOT_REQUEST {
        poweroff::reboot();
    }
    match u8::try_from(status) {
        Ok(code) => poweroff::exit(code),
        Err(_) => {
            kprintln!("init: ended with status {status:#x}");
            poweroff::exit_with(KernelExit::InitKilled)
        }
    }
}

/// `consoletest`: proves console input end to end (UART interrupt, IOAPIC
/// route, park/wake of the reading thread) by echoing lines until `exit`.
fn console_echo() {
    let mut buf = [0u8; 128];
    loop {
        kprintln!("console> ");
        let n = console::input::read_line(&mut buf, &|| false);
        let line = core::str::from_utf8(&buf[..n]).unwrap_or("<not utf-8>");
        kprintln!("console: got {line:?}");
        if line == "exit" {
            return;
        }
    }
}

/// The summary always; each entry with `memmap` (every byte printed is a VM
/// exit plus formatting, the largest boot cost where ring 0 is emulated).
fn print_memory_map(info: &BootInfo, entries: bool) {
    let (ram, ranges) = info.usable_ram();
    kinfoln!(
        "memory: {} MiB usable in {} ranges, {} map entries, {} modules",
        ram >> 20,
        ranges,
        info.memmap().len(),
        info.modules().len()
    );
    for e in info.memmap().iter().filter(|_| entries) {
        let kind = e.mem_type().map_or("unknown", |t| t.name());
        kinfoln!("  [{:#012x}-{:#012x}] {kind}", e.addr, e.addr + e.size - 1);
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    use core::sync::atomic::{AtomicBool, Ordering};
    static PANICKING: AtomicBool = AtomicBool::new(false);
    if !PANICKING.swap(true, Ordering::SeqCst) {
        match info.location() {
            Some(l) => console::emergency_print(format_args!(
                "KERNEL PANIC at {}:{}: {}\n",
                l.file(),
                l.line(),
                info.message()
            )),
            None => console::emergency_print(format_args!("KERNEL PANIC: {}\n", info.message())),
        }
    }
    poweroff::exit_with(KernelExit::Panic)
}
