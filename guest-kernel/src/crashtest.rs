//! `crashtest=pf|ud|df`: fault on purpose so the exception dump path is
//! exercised by tests.

pub fn run(kind: &str) {
    kprintln!("crashtest: {kind}");
    // Each arm faults on purpose; the exception handler reports and powers
    // off, so nothing runs afterwards.
    match kind {
        // Nothing is mapped in the low half of the kernel's address space.
        // SAFETY: a read that faults; no memory is changed.
        "pf" => unsafe { core::arch::asm!("mov rax, qword ptr [0x8]", out("rax") _, options(nostack)) },
        // SAFETY: raises #UD; no memory is touched.
        "ud" => unsafe { core::arch::asm!("ud2", options(nostack, nomem)) },
        // A page fault whose frame cannot be pushed (RSP unmapped) escalates
        // to #DF, which runs on its own IST stack.
        // SAFETY: the CPU never returns here (the #DF handler powers off).
        "df" => unsafe { core::arch::asm!("mov rsp, 0x1000", "push rax", options(nomem)) },
        other => kprintln!("crashtest: unknown kind {other:?} (want pf, ud or df)"),
    }
}
