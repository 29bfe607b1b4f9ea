//! vmm-harness boots the kernel on /dev/kvm via PVH, relays the serial
//! console, records a boot timeline, and exits with the guest's status.
use std::process::Command;
use std::time::Duration;
use vireo_tests::{harness, kernel, kvm_available, run_with_timeout};

#[test]
fn harness_boots_kernel_to_clean_exit_with_timeline() {
    let mut cmd = Command::new(harness());
    cmd.arg("boot").arg("--kernel").arg(kernel());
    cmd.args(["--cmdline", "hello", "--trace", "--timeout", "60"]);
    let run = run_with_timeout(cmd, Duration::from_secs(90));
    if let Err(why) = kvm_available() {
        // Without KVM the harness must refuse cleanly, not crash.
        eprintln!("skipping the harness boot: {why}");
        assert_eq!(run.status.code(), Some(2), "{}", run.dump());
        assert!(run.stderr.contains("/dev/kvm"), "{}", run.dump());
        return;
    }
    run.assert_exit(0);
    assert_eq!(run.status.code(), Some(0), "{}", run.dump());
    assert!(run.has_line_starting("Vireo "), "{}", run.dump());
    assert!(run.has_line_starting("memory: "), "{}", run.dump());
    assert!(run.has_line_starting("cmdline: hello"), "{}", run.dump());
    for event in ["first KVM_RUN", "0x40", "0x41"] {
        assert!(run.stderr.contains(event), "timeline lacks {event}\n{}", run.dump());
    }
}
