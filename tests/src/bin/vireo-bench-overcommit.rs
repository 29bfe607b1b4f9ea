//! `make bench-overcommit`: Vireo's paravirtual interfaces against
//! `nopv=all` with more vCPUs than CPUs (docs/paravirt.md "Measured").
//! The work is in `vireo_tests::bench::overcommit`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(vireo_tests::bench::overcommit::main(&args));
}
