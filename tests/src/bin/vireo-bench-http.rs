//! `make bench-http`: the HTTP benchmark, Vireo's httpd against a Linux
//! guest (docs/benchmarks.md "HTTP"). The work is in `vireo_tests::bench::http`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(vireo_tests::bench::http::main(&args));
}
