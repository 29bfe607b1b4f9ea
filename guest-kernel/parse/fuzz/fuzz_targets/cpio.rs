//! The initrd's cpio newc parser: a parsed archive must iterate and look up
//! every member without surprises.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vireo_parse::cpio::Archive;

fuzz_target!(|data: &[u8]| {
    let Ok(a) = Archive::parse(data) else { return };
    let mut files = 0;
    for e in a.entries() {
        assert!(e.data.len() <= data.len());
        if e.is_file() {
            files += 1;
            assert!(a.find(e.name).is_some(), "{:?} listed but not found", e.name);
        }
    }
    assert_eq!(files, a.file_count());
    assert!(a.size() <= data.len());
});
