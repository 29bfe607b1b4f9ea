//! Named services, InitrdMap and SpawnImage (`/test/services` as init, so
//! it holds the device right): a register/connect/accept round trip with a
//! region shared between two processes, the registry's rules (Busy, names
//! freed with their server, NotFound, the pending limit, timeouts, polling,
//! a killed acceptor), the initrd mapped read-only at its full length, and
//! programs (raw ABI and std) started from their bytes, corrupt ones refused.
use vireo_tests::{artifact, Machine, Qemu, Run};

const CHECKS: [&str; 8] =
    ["round trip", "registry", "queue", "client end", "killed acceptor", "initrd", "spawn image", "bad images"];

fn services(machine: Machine, cpus: u32) -> Run {
    let run = Qemu::new(machine).cpus(cpus).with_initrd().cmdline("init=/test/services").run();
    run.assert_exit(0);
    for c in CHECKS {
        assert!(run.has_line_starting(&format!("test-services: {c} ok")), "no '{c} ok'\n{}", run.dump());
    }
    assert!(run.has_line_starting("test-services: ok"), "{}", run.dump());
    // InitrdMap gives the whole module: as many bytes as the file QEMU loaded.
    let size = std::fs::metadata(artifact("initrd.cpio")).expect("initrd.cpio").len();
    assert!(run.has_line_starting(&format!("test-services: initrd {size} bytes,")), "{}", run.dump());
    // The std program started from an image ran its checks (runtime attached).
    assert!(run.has_line_starting("hello-std: all ok"), "{}", run.dump());
    run
}

#[test]
fn services_initrd_map_and_spawn_image_1_cpu() {
    services(Machine::Microvm, 1);
}

#[test]
fn services_initrd_map_and_spawn_image_2_cpus() {
    services(Machine::Microvm, 2);
}
