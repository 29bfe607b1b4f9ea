//! `selftest` on the kernel command line: runs every subsystem's in-kernel
//! tests in a kernel thread and prints `SELFTEST PASS n/n` or the failures;
//! `selftest=PREFIX[,PREFIX...]` runs only those whose names start with one
//! of the prefixes.
pub use crate::selftest_api::SelfTest;

pub fn run_all(only: Option<&str>) -> bool {
    let groups: [&[SelfTest]; 5] = [
        crate::mm::selftest::all(),
        crate::acpi::selftest::all(),
        crate::time::selftest::all(),
        crate::sched::selftest::all(),
        crate::pv::selftest::all(),
    ];
    let chosen = |t: &&SelfTest| only.is_none_or(|o| o.split(',').any(|p| t.name.starts_with(p)));
    let total = groups.iter().flat_map(|g| g.iter()).filter(chosen).count();
    let mut failed = 0;
    for t in groups.iter().flat_map(|g| g.iter()).filter(chosen) {
        let t0 = crate::time::now_ns();
        match (t.run)() {
            Ok(()) => kprintln!("selftest: {} ... ok ({} us)", t.name, (crate::time::now_ns() - t0) / 1000),
            Err(detail) => {
                failed += 1;
                kprintln!("selftest: {} ... FAILED: {detail}", t.name);
            }
        }
    }
    if failed == 0 {
        kprintln!("SELFTEST PASS {total}/{total}");
    } else {
        kprintln!("SELFTEST FAIL {failed} of {total} failed");
    }
    failed == 0
}
