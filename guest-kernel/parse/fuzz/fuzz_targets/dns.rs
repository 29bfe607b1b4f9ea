//! The I/O server's DNS reply parser and resolver state machine
//! (guest-userspace/lib/dns): any bytes as a reply, over UDP and TCP;
//! `vireo_dns::fuzz::reply` checks the invariants.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    vireo_dns::fuzz::reply(data);
});
