//! Vireo boots via PVH under QEMU TCG on both machine types it supports,
//! prints its banner, memory map and command line, and powers off with
//! status 0.
use vireo_tests::{Machine, Qemu, Run};

fn assert_clean_boot(run: &Run, cmdline: &str) {
    run.assert_exit(0);
    assert!(run.has_line_starting("Vireo "), "no banner line\n{}", run.dump());
    assert!(run.has_line_starting("memory: "), "no memory map line\n{}", run.dump());
    assert!(run.has_line_starting(&format!("cmdline: {cmdline}")), "command line not echoed\n{}", run.dump());
    // isa-debug-exit: QEMU exits with (0 << 1) | 1.
    assert_eq!(run.status.code(), Some(1), "QEMU did not exit through isa-debug-exit\n{}", run.dump());
    let last = run.stdout.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
    assert!(last.starts_with("VIREO-EXIT"), "VIREO-EXIT is not the last line\n{}", run.dump());
}

#[test]
fn microvm_boots_to_banner_and_exits_cleanly() {
    let cmdline = "hello from microvm";
    let run = Qemu::new(Machine::Microvm).cmdline(cmdline).run();
    assert_clean_boot(&run, cmdline);
}

#[test]
fn q35_boots_to_banner_and_exits_cleanly() {
    let cmdline = "hello q35 console=ttyS0 x=1";
    let run = Qemu::new(Machine::Q35).cmdline(cmdline).run();
    assert_clean_boot(&run, cmdline);
}

#[test]
fn empty_command_line_is_echoed_empty() {
    let run = Qemu::new(Machine::Microvm).run();
    run.assert_exit(0);
    assert!(run.stdout.lines().any(|l| l.trim_end() == "cmdline:"), "{}", run.dump());
}
