//! The system initrd (`build/system.cpio`, `make initrd`): what a machine
//! boots with its root disk. It holds only what starts the system; init runs
//! any other program from the disk through `/sbin/launch`, with the
//! program's exit status, and says clearly when there is no such program.
use vireo_tests::disk::{program, DiskCopy};
use vireo_tests::{artifact, Machine, Qemu};

/// The system's programs, and nothing else (no tests, no fixtures).
#[test]
fn the_system_initrd_holds_only_the_system() {
    let bytes = std::fs::read(artifact("system.cpio")).expect("build/system.cpio (make initrd)");
    let members = mkinitrd::cpio::read(&bytes).expect("a newc archive");
    let mut names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
    names.sort_unstable();
    let want = ["bin", "bin/hello", "bin/sh", "init", "sbin", "sbin/io", "sbin/launch", "sys", "sys/motor-rt"];
    assert_eq!(names, want);
}

fn boot(name: &str, cmd: &str) -> vireo_tests::Run {
    let disk = DiskCopy::new(name);
    Qemu::new(Machine::Microvm).with_system_initrd().with_disk(&disk.path, false).cmdline(&program(cmd)).run()
}

/// `echo` is on the disk only: init hands it to launch, which runs it from
/// `/`; its output and status come through.
#[test]
fn init_runs_a_program_from_the_disk() {
    let run = boot("sys-echo", "/bin/echo from the disk");
    assert!(run.has_line_starting("from the disk"), "{}", run.dump());
    assert_eq!(run.vireo_exit(), Some(0), "{}", run.dump());
}

/// A disk program's failure is the VM's exit status.
#[test]
fn a_disk_programs_exit_status_is_the_vms() {
    let run = boot("sys-ls", "/bin/ls /no-such-dir");
    let code = run.vireo_exit();
    assert!(matches!(code, Some(c) if c != 0), "ls of a missing directory must fail: {code:?}\n{}", run.dump());
}

/// A program neither the initrd nor the disk has: one line, status 127.
#[test]
fn a_missing_program_is_reported_with_127() {
    let run = boot("sys-none", "/bin/no-such-program");
    assert!(run.has_line_starting("launch: cannot run /bin/no-such-program: "), "{}", run.dump());
    assert_eq!(run.vireo_exit(), Some(127), "{}", run.dump());
}
