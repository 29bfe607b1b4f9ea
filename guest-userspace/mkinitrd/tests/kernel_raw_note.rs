//! The kernel's raw-ABI note lookup (`guest-kernel/src/process/motor/raw_note.rs`,
//! which decides whether a program gets the std runtime) depends only on
//! core and pv-abi, so its unit tests run here unchanged; this file also
//! checks it against the fixtures, which carry the note like every raw program.
#[path = "../../../guest-kernel/src/process/motor/raw_note.rs"]
mod raw_note;

#[test]
fn every_fixture_that_loads_is_a_raw_program() {
    for f in mkinitrd::fixtures::all().iter().filter(|f| f.expect.is_ok()) {
        assert_eq!(raw_note::has_raw_abi_note(&f.image), Ok(true), "{}", f.name);
    }
}
