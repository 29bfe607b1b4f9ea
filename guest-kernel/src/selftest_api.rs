//! The contract between subsystems and the `selftest` runner: each
//! subsystem exposes `pub fn selftests() -> &'static [SelfTest]`.

/// One in-kernel test. `run` returns `Err(detail)` on failure; the detail is
/// printed after the test name.
pub struct SelfTest {
    pub name: &'static str,
    pub run: fn() -> Result<(), alloc::string::String>,
}
