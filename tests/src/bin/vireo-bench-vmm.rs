//! `make bench-vmm`: vmm-harness from exec to the first KVM_RUN, and a
//! restore to the first guest instruction (docs/benchmarks.md "VMM start",
//! "Snapshot and restore"). The work is in `vireo_tests::bench::vmm`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(vireo_tests::bench::vmm::main(&args));
}
