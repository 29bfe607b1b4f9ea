//! Address-space lifetime and page-table regressions (issue 9), each proved
//! by `/test/vm` under QEMU TCG microvm on 4 vCPUs.
use std::time::Duration;
use vireo_tests::{Machine, Qemu, Run};

fn vm_test(args: &str, timeout_s: u64) -> Run {
    let mode = args.split(' ').next().unwrap_or(args);
    let mut q = Qemu::new(Machine::Microvm).cpus(4).with_initrd().cmdline(&format!("init=/test/vm -- {args}"));
    q.timeout = Duration::from_secs(timeout_s);
    let run = q.run();
    run.assert_exit(0);
    assert!(run.has_line_starting(&format!("test-vm {mode}: ok")), "{}", run.dump());
    run
}

/// A child whose three threads spin on `Yield` while its main thread exits,
/// 3,000 times: the process's page tables were freed by whichever thread
/// exited last while its siblings still ran on them, and the VM reset (the
/// old kernel did so within the first 3,000 rounds in every boot tried).
#[test]
fn multi_threaded_exit_never_frees_page_tables_in_use_4_cpus() {
    vm_test("exit-race 3000", 240);
}

/// 100 rounds of a mapping at fresh addresses with one page touched per
/// 2 MiB, then unmapped: free memory is back where it was after each round.
#[test]
fn unmap_frees_the_page_tables_it_empties_4_cpus() {
    vm_test("tables 100", 60);
}

/// A process growing page tables until memory runs out is killed alone, all
/// its memory comes back, and programs still run.
#[test]
fn page_tables_count_against_user_memory_4_cpus() {
    vm_test("tables-oom", 60);
}

/// The last page below 2^47 is never user memory: `Map` does not return it,
/// `Protect`/`Unmap` refuse it (the ELF case is `/test/elf/last-page`).
#[test]
fn the_last_lower_half_page_is_never_user_memory() {
    vm_test("last-page", 60);
}

/// `Protect` to 0 takes every access away (the program faults, the kernel
/// refuses), back to READ restores the data, and `Protect` of a range
/// without mappings is `Invalid` (found by the fuzzer).
#[test]
fn protect_to_none_takes_every_access_away() {
    vm_test("protect", 60);
}

/// `MAX_THREADS` live threads per process, then `Limit`; the system goes on.
#[test]
fn a_process_cannot_take_every_kernel_stack() {
    vm_test("thread-limit", 120);
}
