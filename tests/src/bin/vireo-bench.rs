//! `make bench`: Vireo's boot-cost measurements (docs/benchmarks.md).
//! All the work is in `vireo_tests::bench`, next to its unit tests.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(vireo_tests::bench::main(&args));
}
