//! vmm-harness boots the kernel with 2 vCPUs (INIT-SIPI-SIPI through the
//! in-kernel LAPIC, ACPI tables from the harness) to the end of kernel init.
use std::process::Command;
use std::time::Duration;
use vireo_tests::{harness, kernel, kvm_available, run_with_timeout};

#[test]
fn harness_boots_two_cpus_to_end_of_kernel_init() {
    if let Err(why) = kvm_available() {
        eprintln!("skipping: {why}");
        return;
    }
    let mut cmd = Command::new(harness());
    cmd.arg("boot").arg("--kernel").arg(kernel());
    cmd.args(["--cpus", "2", "--cmdline", "bootstat", "--trace", "--timeout", "120"]);
    let run = run_with_timeout(cmd, Duration::from_secs(150));
    run.assert_exit(0);
    assert_eq!(run.status.code(), Some(0), "{}", run.dump());
    for line in ["cpu 0 online", "cpu 1 online", "smp: 2 of 2 cpus online", "clock: kvmclock"] {
        assert!(run.has_line_starting(line), "missing {line:?}\n{}", run.dump());
    }
    assert!(run.stderr.contains("0x42"), "timeline lacks end of kernel init\n{}", run.dump());
}
