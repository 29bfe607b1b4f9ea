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

/// `vmm-harness --trace`'s `exits to first user instruction: N (...)`.
fn exits_to_user(stderr: &str) -> Option<u64> {
    let line = stderr.lines().find(|l| l.starts_with("vmm-harness: exits to first user instruction: "))?;
    line.split(": ").nth(2)?.split_whitespace().next()?.parse().ok()
}

/// `quiet` keeps the kernel's boot chatter off the serial port (each byte is
/// a VM exit) but not what matters (init's own output, the exit line); the
/// harness counts the exits by reason up to the first user instruction.
#[test]
fn quiet_boot_prints_no_chatter_and_exits_to_the_vmm_rarely() {
    if let Err(why) = kvm_available() {
        eprintln!("skipping: {why}");
        return;
    }
    let boot = |cmdline: &str| {
        let mut cmd = Command::new(harness());
        cmd.arg("boot").arg("--kernel").arg(kernel());
        cmd.args(["--cmdline", cmdline, "--trace", "--timeout", "60"]);
        let run = run_with_timeout(cmd, Duration::from_secs(90));
        run.assert_exit(0);
        run
    };
    let loud = boot("");
    let quiet = boot("quiet");
    for chatter in ["Vireo ", "memory: ", "cmdline: ", "pv: ", "cpu 0 online"] {
        assert!(loud.has_line_starting(chatter), "{}", loud.dump());
        assert!(!quiet.has_line_starting(chatter), "{chatter}\n{}", quiet.dump());
    }
    assert!(quiet.has_line_starting("VIREO-EXIT 0"), "{}", quiet.dump());
    let (l, q) = (exits_to_user(&loud.stderr), exits_to_user(&quiet.stderr));
    let (Some(l), Some(q)) = (l, q) else { panic!("no exit counts\n{}\n{}", loud.dump(), quiet.dump()) };
    // The boot's own exits (UART set-up, port 0x80 milestones) are about a dozen.
    assert!(q <= 20 && q * 10 < l, "quiet {q} exits, loud {l}\n{}", quiet.dump());
    assert!(quiet.stderr.contains("vmm-harness: exits in all: "), "{}", quiet.dump());
}
