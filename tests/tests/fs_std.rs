//! std::fs end to end on an ext4 disk (issue 11): unmodified Rust std
//! programs (`/bin/fs-suite`, `/bin/fs-stress`, guest-userspace/std-programs)
//! run on a private copy of `build/disk.img` served by the I/O server, on
//! microvm (virtio-mmio) and q35 (virtio-pci), 1 and 4 vCPUs. After every
//! boot that wrote, `e2fsck -fn` must find the image clean. Without a disk,
//! or with a read-only one, writes fail with PermissionDenied.
use std::time::Duration;

use vireo_tests::disk::{assert_fsck_clean, assert_program_ran, debugfs, debugfs_write, e2fs, program, text, DiskCopy};
use vireo_tests::{Machine, Qemu, Run};

/// One VM at a time: TCG on a 2-core host, and the suite times a sleep.
static ONE_VM: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn boot(machine: Machine, cpus: u32, disk: Option<(&DiskCopy, bool)>, cmd: &str) -> Run {
    let _one = ONE_VM.lock().unwrap_or_else(|e| e.into_inner());
    let mut q = Qemu::new(machine).cpus(cpus).with_initrd().cmdline(&program(cmd)).timeout(Duration::from_secs(600));
    if let Some((d, read_only)) = disk {
        q = q.with_disk(&d.path, read_only);
    }
    let run = q.run();
    for l in run.stdout.lines().filter(|l| l.contains("fs-") || l.contains("io:")) {
        println!("{l}");
    }
    eprintln!("boot {machine:?} {cpus} cpus `{cmd}`: {:?}", run.elapsed);
    assert_program_ran(&run, cmd);
    run
}

/// Every check of fs-suite (guest-userspace/std-programs/fs-suite/src/main.rs).
const SUITE_CHECKS: &[&str] = &[
    "create-write-read",
    "open-options",
    "append",
    "seek",
    "seek-far",
    "set-len",
    "sync",
    "metadata",
    "modified-time",
    "permissions",
    "two-handles",
    "many-handles",
    "fs-read-write",
    "large-file",
    "read-dir",
    "read-dir-empty",
    "create-dir",
    "create-dir-all",
    "remove-file",
    "remove-open-file",
    "remove-dir",
    "remove-dir-all",
    "rename-file",
    "rename-replace",
    "rename-dir",
    "rename-over-empty-dir",
    "rename-missing",
    "copy",
    "canonicalize",
    "current-dir",
    "threads",
    "not-found",
    "already-exists",
    "permission-denied",
    "not-a-directory",
    "is-a-directory",
    "directory-not-empty",
    "cleanup",
];

/// Names in the root directory of `image`, by debugfs.
fn root_names(image: &DiskCopy) -> String {
    text(&debugfs(&image.path, "ls -l /"))
}

fn fs_suite(machine: Machine, cpus: u32) {
    let disk = DiskCopy::new(&format!("fs-suite-{machine:?}-{cpus}"));
    let run = boot(machine, cpus, Some((&disk, false)), "/bin/fs-suite /fs-suite");
    let failed = run.lines_containing("fs-suite: FAIL");
    assert!(failed.is_empty(), "failed checks: {failed:#?}\n{}", run.dump());
    run.assert_exit(0);
    for check in SUITE_CHECKS {
        assert!(run.has_check(&format!("fs-suite: ok {check}")), "check {check} did not pass\n{}", run.dump());
    }
    assert!(run.has_line_starting(&format!("fs-suite: all ok ({} checks", SUITE_CHECKS.len())), "{}", run.dump());
    assert_fsck_clean(&disk.path, "fs-suite");
    let root = root_names(&disk);
    assert!(!root.contains("fs-suite"), "the suite's directory is still on the disk:\n{root}");
}

#[test]
fn fs_suite_passes_on_microvm_1_cpu() {
    fs_suite(Machine::Microvm, 1);
}

#[test]
fn fs_suite_passes_on_microvm_4_cpus() {
    fs_suite(Machine::Microvm, 4);
}

#[test]
fn fs_suite_passes_on_q35_1_cpu() {
    fs_suite(Machine::Q35, 1);
}

#[test]
fn fs_suite_passes_on_q35_4_cpus() {
    fs_suite(Machine::Q35, 4);
}

/// Files written in one boot are on the disk (as the host's debugfs sees
/// them) and are read back by the next boot, which then removes them.
#[test]
fn files_written_in_one_boot_are_read_back_after_a_reboot() {
    let disk = DiskCopy::new("fs-persist");
    let run = boot(Machine::Microvm, 2, Some((&disk, false)), "/bin/fs-suite write-persist /persist");
    run.assert_exit(0);
    assert!(run.has_line_starting("fs-suite: write-persist all ok"), "{}", run.dump());
    assert_fsck_clean(&disk.path, "write-persist");
    let a = debugfs(&disk.path, "cat /persist/a.txt");
    assert_eq!(String::from_utf8_lossy(&a.stdout), "persist a\n", "the host's debugfs reads /persist/a.txt");
    let big = debugfs(&disk.path, "cat /persist/big");
    assert_eq!(big.stdout.len(), 1 << 20, "/persist/big on the disk");

    let run = boot(Machine::Q35, 2, Some((&disk, false)), "/bin/fs-suite check-persist /persist");
    run.assert_exit(0);
    assert!(run.has_line_starting("fs-suite: check-persist all ok"), "{}", run.dump());
    assert_fsck_clean(&disk.path, "check-persist");
    assert!(!root_names(&disk).contains("persist"), "/persist was not removed:\n{}", root_names(&disk));
}

/// 4 threads in each of 4 processes (the program and 3 copies it spawns)
/// create, write, read back, rename and delete files in one directory.
#[test]
fn threads_and_processes_share_the_file_system_without_corruption_4_cpus() {
    let disk = DiskCopy::new("fs-stress");
    let run = boot(Machine::Microvm, 4, Some((&disk, false)), "/bin/fs-stress 4 procs 3 secs 5 dir /stress");
    let failed = run.lines_containing("fs-stress: FAIL");
    assert!(failed.is_empty(), "{failed:#?}\n{}", run.dump());
    run.assert_exit(0);
    for tag in ["main", "p0", "p1", "p2"] {
        assert!(run.has_line_starting(&format!("fs-stress: ok {tag} ")), "no ok from {tag}\n{}", run.dump());
    }
    assert_fsck_clean(&disk.path, "fs-stress");
    assert!(!root_names(&disk).contains("stress"), "/stress was not removed");
}

/// No disk: `/` is the initrd, read-only; writes fail with PermissionDenied.
#[test]
fn without_a_disk_root_is_the_read_only_initrd() {
    let run = boot(Machine::Microvm, 1, None, "/bin/fs-suite readonly");
    run.assert_exit(0);
    assert!(run.has_check("fs-suite: ok readonly-writes-fail"), "{}", run.dump());
    assert!(run.has_check("fs-suite: ok readonly-reads-work"), "{}", run.dump());
    assert!(run.has_line_starting("fs-suite: readonly all ok"), "{}", run.dump());
}

/// A read-only drive (`readonly=on`) is mounted (a file only the disk has
/// reads back) and refuses writes with PermissionDenied; the image is
/// untouched.
fn read_only_disk(machine: Machine) {
    let disk = DiskCopy::new(&format!("fs-ro-{machine:?}"));
    let marker = disk.scratch("marker", b"on the disk\n");
    debugfs_write(&disk.path, &format!("write {} /etc/vireo-disk-marker", marker.display()));
    assert_fsck_clean(&disk.path, "adding the marker");
    let before = disk.bytes();
    let run = boot(machine, 2, Some((&disk, true)), "/bin/fs-suite readonly /etc/vireo-disk-marker");
    run.assert_exit(0);
    assert!(run.has_check("fs-suite: ok readonly-writes-fail"), "{}", run.dump());
    let reads = run.lines_containing("fs-suite: ok readonly-reads-work");
    assert!(
        reads.iter().any(|l| l.contains("marker /etc/vireo-disk-marker: \"on the disk\"")),
        "the disk's marker file was not read (is the disk mounted?)\n{}",
        run.dump()
    );
    assert!(disk.bytes() == before, "the read-only image changed");
}

#[test]
fn a_read_only_disk_mounts_and_refuses_writes_on_microvm() {
    read_only_disk(Machine::Microvm);
}

#[test]
fn a_read_only_disk_mounts_and_refuses_writes_on_q35() {
    read_only_disk(Machine::Q35);
}

/// A disk of 8 GiB (a sparse image: 64 block groups, group descriptors past
/// the first block) made by mkfs.ext4 the way `make disk` makes its image:
/// it mounts read-write, a file written there reads back on the host, and
/// e2fsck finds nothing wrong.
#[test]
fn an_8_gib_sparse_disk_mounts_and_keeps_what_was_written() {
    let disk = DiskCopy::zeros("fs-8g", 8 << 30);
    let mkfs = e2fs(
        "mkfs.ext4",
        &["-q", "-F", "-t", "ext4", "-b", "4096", "-I", "256", "-L", "big", "-E", "nodiscard"],
        &disk.path,
    );
    assert!(mkfs.status.success(), "mkfs.ext4: {}", text(&mkfs));
    let run = boot(Machine::Q35, 1, Some((&disk, false)), "/bin/fs-suite write-persist /persist");
    assert!(run.has_line_starting("io: / is ext4"), "{}", run.dump());
    run.assert_exit(0);
    assert_fsck_clean(&disk.path, "8 GiB write-persist");
    let a = debugfs(&disk.path, "cat /persist/a.txt");
    assert_eq!(String::from_utf8_lossy(&a.stdout), "persist a\n", "the host's debugfs reads /persist/a.txt");
}

/// A program that is only on the disk (not in the initrd) is started by
/// path from a std program (`Command::new`): the runtime finds that the
/// initrd lacks it, reads it through the I/O server and starts it with
/// `SpawnImage`.
#[test]
fn a_program_only_on_the_disk_runs_by_path() {
    let disk = DiskCopy::new("fs-spawn-disk");
    let hello =
        vireo_tests::repo_root().join("guest-userspace/std-programs/target/x86_64-unknown-motor/release/hello-std");
    debugfs_write(&disk.path, &format!("write {} /disk-only-hello", hello.display()));
    debugfs_write(&disk.path, "sif /disk-only-hello mode 0100755");
    let run = boot(Machine::Microvm, 1, Some((&disk, false)), "/bin/fs-suite spawn /disk-only-hello exit 7");
    assert!(run.has_line_starting("hello-std: hello from Rust std on Vireo"), "{}", run.dump());
    run.assert_exit(7);
    assert_fsck_clean(&disk.path, "spawn from disk");
}
