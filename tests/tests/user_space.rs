//! User space under QEMU TCG: init runs from the initrd and its status
//! becomes the VM's exit code; the test programs in guest-userspace prove
//! processes, threads and futexes, preemption, fault isolation, syscall
//! argument checking, out-of-memory handling and ELF validation, each on 1
//! and 4 vCPUs.
use vireo_tests::{Machine, Qemu, Run};

fn boot(machine: Machine, cpus: u32, cmdline: &str) -> Run {
    Qemu::new(machine).cpus(cpus).with_initrd().cmdline(cmdline).run()
}

/// Runs `/test/<name>` (`/test/loader` for the ELF checks: `/test/elf/`
/// holds their fixtures) as init and expects its `test-<name>: ok`.
fn user_test(name: &str, cpus: u32) {
    let path = if name == "elf" { "loader" } else { name };
    let run = boot(Machine::Microvm, cpus, &format!("init=/test/{path}"));
    run.assert_exit(0);
    assert!(run.has_line_starting(&format!("test-{name}: ok")), "{}", run.dump());
}

#[test]
fn default_init_starts_and_powers_off_with_status_0() {
    let run = boot(Machine::Microvm, 2, "");
    run.assert_exit(0);
    assert!(run.has_line_starting("init: Vireo user space is up"), "{}", run.dump());
    assert!(run.has_line_starting("hello from user space"), "{}", run.dump());
}

#[test]
fn q35_runs_init_too() {
    let run = boot(Machine::Q35, 2, "");
    run.assert_exit(0);
    assert!(run.has_line_starting("init: Vireo user space is up"), "{}", run.dump());
}

#[test]
fn init_status_becomes_the_vm_exit_code() {
    let run = boot(Machine::Microvm, 1, "init=/bin/hello -- 42");
    run.assert_exit(42);
}

#[test]
fn missing_init_is_reported() {
    let run = boot(Machine::Microvm, 1, "init=/bin/no-such-program");
    run.assert_exit(pv_abi::exit::KernelExit::NoInit.code());
    assert!(run.stdout.contains("cannot start /bin/no-such-program: not found"), "{}", run.dump());
}

#[test]
fn spawn_wait_and_exit_codes_round_trip_1_cpu() {
    user_test("spawn", 1);
}

#[test]
fn spawn_wait_and_exit_codes_round_trip_4_cpus() {
    user_test("spawn", 4);
}

#[test]
fn eight_threads_count_exactly_under_a_futex_mutex_1_cpu() {
    user_test("threads", 1);
}

#[test]
fn eight_threads_count_exactly_under_a_futex_mutex_4_cpus() {
    user_test("threads", 4);
}

#[test]
fn cpu_bound_processes_do_not_starve_others_1_cpu() {
    user_test("preempt", 1);
}

#[test]
fn cpu_bound_processes_do_not_starve_others_4_cpus() {
    user_test("preempt", 4);
}

#[test]
fn faults_kill_only_the_offending_process_1_cpu() {
    user_test("faults", 1);
}

#[test]
fn faults_kill_only_the_offending_process_4_cpus() {
    let run = boot(Machine::Microvm, 4, "init=/test/faults");
    run.assert_exit(0);
    for line in ["killed: page fault (#PF) at 0x8", "killed: invalid opcode (#UD)"] {
        assert!(run.stdout.contains(line), "no report {line:?}\n{}", run.dump());
    }
    assert!(run.has_line_starting("test-faults: ok"), "{}", run.dump());
}

#[test]
fn garbage_syscalls_return_errors_1_cpu() {
    user_test("syscalls", 1);
}

#[test]
fn garbage_syscalls_return_errors_4_cpus() {
    user_test("syscalls", 4);
}

#[test]
fn unbounded_allocation_is_killed_and_the_kernel_survives_1_cpu() {
    user_test("oom", 1);
}

#[test]
fn unbounded_allocation_is_killed_and_the_kernel_survives_4_cpus() {
    let run = boot(Machine::Microvm, 4, "init=/test/oom");
    run.assert_exit(0);
    assert!(run.stdout.contains("killed: out of memory"), "{}", run.dump());
    assert!(run.has_line_starting("test-oom: ok"), "{}", run.dump());
}

#[test]
fn malformed_elf_images_are_refused_with_their_errors_1_cpu() {
    user_test("elf", 1);
}

#[test]
fn malformed_elf_images_are_refused_with_their_errors_4_cpus() {
    user_test("elf", 4);
}

/// A corrupt initrd is reported and the VM fails (it must not look like a
/// system with nothing to run).
#[test]
fn corrupt_initrd_is_refused_with_its_error() {
    let good = std::fs::read(vireo_tests::artifact("initrd.cpio")).expect("read initrd");
    let dir = std::env::temp_dir().join(format!("vireo-initrd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // Cut mid-archive (a truncated download) and garbage from the start.
    let cases: [(&str, Vec<u8>); 2] = [
        ("truncated.cpio", good[..good.len() / 2].to_vec()),
        ("garbage.cpio", (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect()),
    ];
    for (name, bytes) in cases {
        let path = dir.join(name);
        std::fs::write(&path, &bytes).expect("write corrupt initrd");
        let mut q = Qemu::new(Machine::Microvm);
        q.initrd = Some(path);
        let run = q.run();
        run.assert_exit(pv_abi::exit::KernelExit::NoInit.code());
        assert!(run.stdout.contains("initrd: unusable:"), "{name}\n{}", run.dump());
    }
}

/// Init supervises the I/O server: a server that dies while init's program
/// runs (the stand-in `/test/io-dies` says ready, then exits) makes init say
/// so and power off with `IO_SERVER_DIED` rather than hang; one that dies
/// before it is ready (`/bin/crash` with no mode) does the same.
#[test]
fn init_powers_off_with_io_server_died_when_the_server_dies() {
    let code = pv_abi::exit::init::IO_SERVER_DIED;
    let run = boot(Machine::Microvm, 1, "-- --io-server=/test/io-dies /bin/spin");
    assert!(run.has_line_starting("init: the I/O server died (status 0x3); powering off"), "{}", run.dump());
    run.assert_exit(code);
    let run = boot(Machine::Microvm, 1, "-- --io-server=/bin/crash /bin/hello");
    assert!(run.has_line_starting("init: the I/O server died while starting"), "{}", run.dump());
    run.assert_exit(code);
}
