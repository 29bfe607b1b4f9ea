// The image's entry is `vdso_entry(version: u64)` (the moto-rt contract),
// not `_start`: moto-rt calls it through vtable slot 0.
fn main() {
    println!("cargo:rustc-link-arg-bins=--entry=vdso_entry");
}
