//! `/test/elf`: `Spawn` must refuse each malformed executable under
//! `/test/elf/` (made by `mkinitrd --fixtures`) with the matching error, and
//! run the defect-free control `/test/elf/ok`.
#![no_std]
#![no_main]

use vireo_rt::{println, Error, Process};

vireo_rt::entry!(main);

const FIXTURES: [(&str, Error); 10] = [
    ("/test/elf/bad-magic", Error::ElfBadMagic),
    ("/test/elf/truncated", Error::ElfTruncated),
    ("/test/elf/overlap", Error::ElfOverlap),
    ("/test/elf/out-of-range", Error::ElfOutOfRange),
    ("/test/elf/last-page", Error::ElfOutOfRange),
    ("/test/elf/bad-reloc", Error::ElfBadRelocation),
    ("/test/elf/tls", Error::ElfTls),
    ("/test/elf/write-exec", Error::ElfWriteExec),
    ("/test/elf/interp", Error::ElfDynamic),
    ("/test/elf/elf32", Error::ElfUnsupported),
];

fn main() -> i32 {
    let mut failed = 0;
    for (path, want) in FIXTURES {
        match Process::spawn(path, &[]) {
            Err(e) if e == want => println!("test-elf: {path}: {} (ok)", e.name()),
            Err(e) => {
                println!("test-elf: {path}: got {e:?} ({}), want {want:?}", e.name());
                failed += 1;
            }
            Ok(p) => {
                // It must not run; end it in case it does.
                let _ = p.kill();
                let s = p.wait();
                println!("test-elf: {path}: spawn succeeded (status {s:?}), want {want:?}");
                failed += 1;
            }
        }
    }
    // The controls: `ok` is the same image without a defect, so it must
    // load and run (its code just calls Exit(0)); so must the one whose
    // header segment has no access at all.
    for path in ["/test/elf/ok", "/test/elf/no-access-headers"] {
        match vireo_rt::process::run(path, &[]) {
            Ok(0) => println!("test-elf: {path}: runs (ok)"),
            Ok(s) => {
                println!("test-elf: {path}: status {s:#x}, want 0");
                failed += 1;
            }
            Err(e) => {
                println!("test-elf: {path}: {e:?} ({}), want it to run", e.name());
                failed += 1;
            }
        }
    }
    if failed != 0 {
        println!("test-elf: FAILED: {failed} of {} fixtures", FIXTURES.len() + 2);
        return 1;
    }
    println!("test-elf: ok");
    0
}
