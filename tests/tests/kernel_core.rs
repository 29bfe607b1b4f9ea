//! The kernel core on QEMU TCG: every vCPU comes online, the clock source is
//! named, the in-kernel self-tests pass, ACPI powers the VM off, and kernel
//! exceptions produce a readable dump and a failure status.
use pv_abi::exit::KernelExit;
use vireo_tests::{Machine, Qemu, Run};

fn assert_core_up(run: &Run, cpus: u32) {
    run.assert_exit(0);
    for n in 0..cpus {
        assert!(run.has_line_starting(&format!("cpu {n} online")), "cpu {n} not online\n{}", run.dump());
    }
    assert!(run.has_line_starting(&format!("smp: {cpus} of {cpus} cpus online")), "{}", run.dump());
    assert!(run.has_line_starting("clock: "), "clock source not named\n{}", run.dump());
    assert!(run.stdout.contains(" MHz"), "TSC frequency not named\n{}", run.dump());
    assert!(run.has_line_starting("acpi: "), "{}", run.dump());
}

fn selftest(machine: Machine, cpus: u32) {
    let run = Qemu::new(machine).cpus(cpus).cmdline("selftest").run();
    assert_core_up(&run, cpus);
    assert!(run.has_line_starting("SELFTEST PASS"), "self-tests did not pass\n{}", run.dump());
    assert!(!run.stdout.contains("FAILED"), "{}", run.dump());
}

#[test]
fn microvm_1_cpu_selftest_passes() {
    selftest(Machine::Microvm, 1);
}

#[test]
fn microvm_4_cpus_selftest_passes() {
    selftest(Machine::Microvm, 4);
}

#[test]
fn q35_1_cpu_selftest_passes() {
    selftest(Machine::Q35, 1);
}

#[test]
fn q35_4_cpus_selftest_passes() {
    selftest(Machine::Q35, 4);
}

#[test]
fn microvm_8_cpus_come_online() {
    assert_core_up(&Qemu::new(Machine::Microvm).cpus(8).run(), 8);
}

#[test]
fn q35_2_cpus_come_online() {
    assert_core_up(&Qemu::new(Machine::Q35).cpus(2).run(), 2);
}

/// Without isa-debug-exit the only way out is ACPI S5: QEMU must exit by
/// itself (status 0) instead of hanging until the test's timeout.
fn acpi_power_off(machine: Machine) {
    let run = Qemu::new(machine).cpus(2).without_debug_exit().run();
    run.assert_exit(0);
    assert_eq!(run.status.code(), Some(0), "QEMU did not power off via ACPI\n{}", run.dump());
}

#[test]
fn microvm_powers_off_through_acpi() {
    acpi_power_off(Machine::Microvm);
}

#[test]
fn q35_powers_off_through_acpi() {
    acpi_power_off(Machine::Q35);
}

fn crash(kind: &str, vector_name: &str) {
    let run = Qemu::new(Machine::Microvm).cpus(2).cmdline(&format!("crashtest={kind}")).run();
    run.assert_exit(KernelExit::CpuException.code());
    for needle in ["KERNEL EXCEPTION on cpu 0", vector_name, "error code", "cr2", "rip ", "rax ", "r15 ", "backtrace:"]
    {
        assert!(run.stdout.contains(needle), "dump lacks {needle:?}\n{}", run.dump());
    }
}

#[test]
fn crashtest_page_fault_dumps_and_fails() {
    crash("pf", "page fault (#PF)");
}

#[test]
fn crashtest_invalid_opcode_dumps_and_fails() {
    crash("ud", "invalid opcode (#UD)");
}

#[test]
fn crashtest_double_fault_dumps_and_fails() {
    crash("df", "double fault (#DF)");
}

/// KiB in "N KiB in use" (or MiB) on the line starting with `prefix`
/// that has it (`bootstat: memory` also names a phase).
fn in_use_kib(run: &Run, prefix: &str) -> u64 {
    let line = run.lines_containing(prefix).into_iter().find(|l| l.starts_with(prefix) && l.contains(" in use"));
    let line = line.unwrap_or_else(|| panic!("no {prefix:?} line\n{}", run.dump()));
    let before = line.split(" in use").next().unwrap_or_default();
    let mut words = before.rsplit(' ');
    let (unit, n) = (words.next().unwrap_or_default(), words.next().unwrap_or_default());
    let n: f64 = n.parse().unwrap_or_else(|_| panic!("{line}"));
    match unit {
        "KiB" => n as u64,
        "MiB" => (n * 1024.0) as u64,
        _ => panic!("{line}"),
    }
}

/// Once every CPU is up, the free pages below 1 MiB (kept for the SMP
/// trampoline) become ordinary free memory: the idle figure no longer
/// counts them as in use.
#[test]
fn memory_below_1_mib_is_free_memory_after_boot() {
    let run = Qemu::new(Machine::Microvm).cpus(2).cmdline("bootstat").run();
    assert_core_up(&run, 2);
    let idle = run.lines_containing("bootstat: memory ").into_iter().find(|l| l.contains(" in use"));
    let idle = idle.unwrap_or_else(|| panic!("no bootstat memory line\n{}", run.dump()));
    assert!(idle.contains("low pool 0 B free"), "{idle}");
    // The early figure counts the low pool (about 600 KiB) as reserved.
    let (early, late) = (in_use_kib(&run, "mm: "), in_use_kib(&run, "bootstat: memory "));
    assert!(late + 256 < early, "in use {early} KiB after set-up, {late} KiB at idle\n{}", run.dump());
}
