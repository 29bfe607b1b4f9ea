//! `make bench-fs`: the file-system benchmark, Vireo against a Linux guest
//! (docs/benchmarks.md "File system"). The work is in `vireo_tests::bench::fs`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(vireo_tests::bench::fs::main(&args));
}
