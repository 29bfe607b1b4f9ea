//! Archives mkinitrd writes, read back by the kernel's own cpio parser
//! (`vireo_parse::cpio`), plus the malformed archives it must refuse with a
//! typed error and never a panic.
use mkinitrd::{cpio, fixtures};
use vireo_parse::cpio::{Archive, CpioError};

fn sample() -> Vec<u8> {
    let mut w = cpio::Writer::new();
    w.add_file("init", b"init program").unwrap();
    w.add_file("bin/hello", b"hello!").unwrap();
    w.add_file("empty", b"").unwrap();
    for f in fixtures::all() {
        w.add_file(&format!("test/elf/{}", f.name), &f.image).unwrap();
    }
    w.finish()
}

#[test]
fn kernel_reads_what_mkinitrd_writes() {
    let bytes = sample();
    let a = Archive::parse(&bytes).unwrap();
    for p in ["/init", "init", "./init", "//init", "././init"] {
        assert_eq!(a.find(p), Some(&b"init program"[..]), "{p}");
    }
    assert_eq!(a.find("/bin/hello"), Some(&b"hello!"[..]));
    assert_eq!(a.find("empty"), Some(&b""[..]));
    assert_eq!(a.find("bin"), None, "directories are not files");
    assert_eq!(a.find("missing"), None);
    assert_eq!(a.find("TRAILER!!!"), None);
    for f in fixtures::all() {
        assert_eq!(a.find(&format!("/test/elf/{}", f.name)), Some(&f.image[..]), "{}", f.name);
    }
    let files: Vec<_> = a.entries().filter(|e| e.is_file()).map(|e| e.name).collect();
    assert_eq!(files.len(), 3 + fixtures::all().len());
    assert_eq!(&files[..3], ["init", "bin/hello", "empty"]);
    assert_eq!(a.entries().count(), files.len() + 3, "bin, test, test/elf");
}

#[test]
fn crc_variant_and_missing_trailer_padding_are_accepted() {
    let mut bytes = sample();
    for m in 0..bytes.len() - 6 {
        if &bytes[m..m + 6] == b"070701" {
            bytes[m + 5] = b'2';
        }
    }
    assert_eq!(Archive::parse(&bytes).unwrap().find("init"), Some(&b"init program"[..]));
    // Drop the trailer's name padding: the name ends at the last byte.
    let bytes = sample();
    let trailer = bytes.len() - 124;
    let cut = &bytes[..trailer + 110 + 11];
    assert!(Archive::parse(cut).is_ok());
}

#[test]
fn malformed_archives_give_typed_errors() {
    let good = sample();
    let parse = |b: &[u8]| Archive::parse(b).map(|_| ());
    assert_eq!(parse(b""), Err(CpioError::NoTrailer));
    assert_eq!(parse(b"070701"), Err(CpioError::Truncated { offset: 0 }));
    let mut bad = good.clone();
    bad[..6].copy_from_slice(b"070707"); // old portable ASCII format
    assert_eq!(parse(&bad), Err(CpioError::BadMagic { offset: 0 }));
    let mut bad = good.clone();
    bad[6 + 8 * 6] = b'g'; // filesize
    assert_eq!(parse(&bad), Err(CpioError::BadHex { offset: 0, field: "filesize" }));
    let mut bad = good.clone();
    bad[6 + 8 * 6..6 + 8 * 7].copy_from_slice(b"7FFFFFFF");
    assert_eq!(parse(&bad), Err(CpioError::Truncated { offset: 0 }));
    let mut bad = good.clone();
    bad[110 + 4] = b'X'; // "init\0" -> "initX"
    assert_eq!(parse(&bad), Err(CpioError::NameNotTerminated { offset: 0 }));
    let mut bad = good.clone();
    bad[6 + 8 * 11..6 + 8 * 12].copy_from_slice(b"00000000"); // namesize 0
    assert_eq!(parse(&bad), Err(CpioError::NameNotTerminated { offset: 0 }));
    let mut bad = good.clone();
    bad[110] = 0xff;
    assert_eq!(parse(&bad), Err(CpioError::NameNotUtf8 { offset: 0 }));
    // No trailer: every archive cut at an entry boundary.
    let a = Archive::parse(&good).unwrap();
    assert_eq!(parse(&good[..a.size()]), Err(CpioError::NoTrailer));
    assert!(CpioError::BadHex { offset: 0x74, field: "mode" }.to_string().contains("mode"));
}

#[test]
fn every_prefix_and_random_bytes_fail_cleanly() {
    let good = sample();
    for n in 0..good.len() - 124 {
        assert!(Archive::parse(&good[..n]).is_err(), "prefix {n}");
    }
    let mut x = 0x1234_5678_9abc_def1u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..20_000 {
        let mut b = good.clone();
        for _ in 0..1 + next() % 4 {
            let at = (next() % b.len() as u64) as usize;
            b[at] = [b'0', b'F', b'f', 0, b'x', next() as u8][(next() % 6) as usize];
        }
        if let Ok(a) = Archive::parse(&b) {
            // Whatever parsed must iterate without surprises.
            for e in a.entries() {
                assert!(!e.name.is_empty() || e.data.len() <= b.len());
            }
        }
        let random: Vec<u8> = (0..next() % 400).map(|_| next() as u8).collect();
        assert!(Archive::parse(&random).is_err());
    }
}
