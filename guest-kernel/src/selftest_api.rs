//! The contract between subsystems and the `selftest` runner: each
//! subsystem's `selftest` module exposes `pub fn all() -> &'static [SelfTest]`.

/// One in-kernel test. `run` returns `Err(detail)` on failure; the detail is
/// printed after the test name.
pub struct SelfTest {
    pub name: &'static str,
    pub run: fn() -> Result<(), alloc::string::String>,
}
