//! `selftest` on the kernel command line: runs every subsystem's in-kernel
//! tests in a kernel thread and prints `SELFTEST PASS n/n` or the failures.
pub use crate::selftest_api::SelfTest;

pub fn run_all() -> bool {
    let groups: [&[SelfTest]; 4] = [
        crate::mm::selftest::all(),
        crate::acpi::selftest::all(),
        crate::time::selftest::all(),
        crate::sched::selftest::all(),
    ];
    let total: usize = groups.iter().map(|g| g.len()).sum();
    let mut failed = 0;
    for t in groups.iter().flat_map(|g| g.iter()) {
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
