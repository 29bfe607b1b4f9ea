//! The raw-ABI note lookup (`vireo_parse::elf::note`, which decides whether
//! a program gets the std runtime) against the fixtures, which carry the
//! note like every raw program.
use vireo_parse::elf::note as raw_note;

#[test]
fn every_fixture_that_loads_is_a_raw_program() {
    for f in mkinitrd::fixtures::all().iter().filter(|f| f.expect.is_ok()) {
        assert_eq!(raw_note::has_raw_abi_note(&f.image), Ok(true), "{}", f.name);
    }
}
