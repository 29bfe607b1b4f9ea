//! Not a parser: panics on one input, so `fuzz.sh` can check that a panic
//! in a target fails the run (a fuzz step that could not fail proves nothing).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.starts_with(b"VIREO-CANARY") {
        panic!("canary input: the harness must report this as a failure");
    }
});
