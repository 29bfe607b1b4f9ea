//! `virtio_mmio.device=` entries on a command line: every transport found
//! is a non-empty, non-wrapping window with a non-zero IRQ that reads back
//! the same when written in Linux's form, and the set built from them
//! keeps no two overlapping windows.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vireo_parse::virtio_mmio::{cmdline, Transport};
use vireo_parse_fuzz::check_transport_set;

fn check(t: &Transport) {
    assert!(t.end().is_some() && t.irq != 0, "{t:?}");
    let again = format!("{}@{:#x}:{}", t.size, t.base, t.irq);
    assert_eq!(cmdline::parse(again.as_bytes()), Ok(*t), "{again}");
}

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = cmdline::parse(data) {
        check(&t);
    }
    let entries = data.windows(b"device=".len()).filter(|w| w == b"device=").count();
    let found: Vec<_> = cmdline::devices(data).collect();
    assert!(found.len() <= entries, "{} results from {entries} entries", found.len());
    let ok: Vec<_> = found.into_iter().flatten().collect();
    ok.iter().for_each(check);
    check_transport_set(&ok);
});
