//! The I/O channel (guest-userspace/lib/io-channel) between two processes:
//! `/test/ioring` sends 10,000 requests in batches to an echo server it
//! spawned over shared memory and checks every reply, on 1 and 4 vCPUs; under
//! `-icount` its TSC figures are guest instructions per request.
use vireo_tests::{Machine, Qemu, Run};

fn ioring(cpus: u32, icount: bool) -> Run {
    let mut q = Qemu::new(Machine::Microvm).cpus(cpus).with_initrd().cmdline("init=/test/ioring");
    q.icount = icount;
    let run = q.run();
    run.assert_exit(0);
    assert!(run.has_line_starting("test-ioring: 10000 requests in batches of 1 to 32 checked"), "{}", run.dump());
    assert!(run.has_line_starting("test-ioring: ok"), "{}", run.dump());
    run
}

#[test]
fn ten_thousand_requests_round_trip_through_the_rings_1_cpu() {
    ioring(1, false);
}

#[test]
fn ten_thousand_requests_round_trip_through_the_rings_4_cpus() {
    ioring(4, false);
}

/// Prints the cost per request (`cargo test -- --nocapture`); under icount
/// the TSC advances one tick per guest instruction.
#[test]
fn batching_makes_a_request_cheaper_in_guest_instructions() {
    let run = ioring(1, true);
    let per = |n: u32| -> u64 {
        let prefix = format!("test-ioring: batch {n}: ");
        let line = run.stdout.lines().find_map(|l| l.trim_end().strip_prefix(prefix.as_str()).map(str::to_owned));
        let line = line.unwrap_or_else(|| panic!("no batch {n} figure\n{}", run.dump()));
        line.split(' ').next().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("bad figure: {line}"))
    };
    let (one, many) = (per(1), per(32));
    eprintln!("io-channel round trip: batch 1 {one} instructions/request, batch 32 {many} instructions/request");
    assert!(many * 2 < one, "a batch of 32 should cost far less per request than one at a time ({many} vs {one})");
}
