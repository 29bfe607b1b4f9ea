// The image's entry is `vdso_entry(version: u64)` (the moto-rt contract),
// not `_start`: moto-rt calls it through vtable slot 0.
fn main() {
    println!("cargo:rustc-link-arg-bins=--entry=vdso_entry");
    // No symbol table: the kernel loads this image into every std process,
    // and the spawn cost grows with the file (the fs client made the
    // 1,000-spawn test in std-programs/command 40% slower unstripped).
    // VIREO_RT_SYMBOLS=1 keeps it, for profiling (tests/profile/report.py).
    println!("cargo:rerun-if-env-changed=VIREO_RT_SYMBOLS");
    if std::env::var_os("VIREO_RT_SYMBOLS").is_none() {
        println!("cargo:rustc-link-arg-bins=--strip-all");
    }
}
