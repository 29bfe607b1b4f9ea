//! `crashtest=pf|ud|df`: fault on purpose so the exception dump path is
//! exercised by tests.

pub fn run(kind: &str) {
    kprintln!("crashtest: {kind}");
    match kind {
        // SAFETY (all three): these deliberately fault; the exception
        // handler reports and powers off, so nothing runs afterwards.
        "pf" => unsafe {
            // Nothing is mapped in the low half of the kernel address space.
            core::arch::asm!("mov rax, qword ptr [0x8]", out("rax") _, options(nostack));
        },
        "ud" => unsafe { core::arch::asm!("ud2", options(nostack, nomem)) },
        "df" => unsafe {
            // A page fault whose frame cannot be pushed (RSP unmapped)
            // escalates to #DF, which runs on its own IST stack.
            core::arch::asm!("mov rsp, 0x1000", "push rax", options(nomem));
        },
        other => kprintln!("crashtest: unknown kind {other:?} (want pf, ud or df)"),
    }
}
