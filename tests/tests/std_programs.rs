//! Unmodified Rust std programs: `/bin/hello-std` is built by upstream rustc
//! for the tier-3 target x86_64-unknown-motor (moto-rt ABI 16) and runs on
//! Vireo through its runtime, which the kernel maps into the process
//! (docs/runtime.md). QEMU TCG microvm, 2 vCPUs.
use pv_abi::exit::KernelExit;
use vireo_tests::{Machine, Qemu, Run};

fn boot(cpus: u32, cmdline: &str) -> Run {
    Qemu::new(Machine::Microvm).cpus(cpus).with_initrd().cmdline(cmdline).run()
}

#[test]
fn hello_std_prints_its_args_runs_threads_and_exits_0() {
    let run = boot(2, "init=/bin/hello-std -- a b");
    run.assert_exit(0);
    for line in [
        "hello-std: hello from Rust std on Vireo",
        r#"hello-std: args ["/bin/hello-std", "a", "b"]"#,
        "hello-std: threads ok (4 threads, counter 4000, 2 cpus)",
        "hello-std: thread_local ok",
        "hello-std: time ok",
        "hello-std: env and HashMap ok",
        "hello-std: all ok",
    ] {
        assert!(run.has_line_starting(line), "missing {line:?}\n{}", run.dump());
    }
}

#[test]
fn std_process_exit_code_becomes_the_vm_exit_code() {
    let run = boot(2, "init=/bin/hello-std -- exit 42");
    run.assert_exit(42);
    assert!(run.has_line_starting("hello-std: exiting with 42"), "{}", run.dump());
}

#[test]
fn std_panic_prints_its_message_and_ends_init_with_a_failure() {
    let run = boot(2, "init=/bin/hello-std -- panic");
    // std's abort on this target is exit(-1): init's status is not 0-255.
    run.assert_exit(KernelExit::InitKilled.code());
    assert!(run.stdout.contains("panicked at"), "{}", run.dump());
    assert!(run.has_line_starting("hello-std: deliberate panic (2 args)"), "{}", run.dump());
}

/// A raw-ABI parent sees each std child's status: 7, -1 (panic), 0, 0.
#[test]
fn a_parent_sees_std_exit_codes_and_panics_1_cpu() {
    let run = boot(1, "init=/test/std");
    run.assert_exit(0);
    assert!(run.has_line_starting("test-std: hello-std [\"panic\"] ended with -1"), "{}", run.dump());
    assert!(run.has_line_starting("test-std: ok"), "{}", run.dump());
}

#[test]
fn a_parent_sees_std_exit_codes_and_panics_2_cpus() {
    let run = boot(2, "init=/test/std");
    run.assert_exit(0);
    assert!(run.has_line_starting("test-std: ok"), "{}", run.dump());
}
