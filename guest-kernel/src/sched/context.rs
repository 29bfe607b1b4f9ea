//! Kernel-thread context switch: callee-saved registers on the old stack,
//! stack pointer swapped. Everything else is saved by the compiler at the
//! call site because `switch` is an ordinary `extern "C"` call.

extern "C" {
    /// Saves the current context's RSP to `*save_rsp` and resumes `next_rsp`.
    pub fn switch_context(save_rsp: *mut u64, next_rsp: u64);
}

core::arch::global_asm!(
    r#"
    .text
    .global switch_context
switch_context:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    retq
    "#,
    options(att_syntax)
);

/// Lays out a fresh stack so that the first `switch_context` into it
/// "returns" to `trampoline` with a 16-byte aligned stack.
pub fn initial_rsp(stack_top: u64, trampoline: u64) -> u64 {
    let top = stack_top & !15;
    let rsp = top - 7 * 8;
    // SAFETY: the 56 bytes below `top` belong to the new, unused stack.
    unsafe {
        let p = rsp as *mut u64;
        for i in 0..6 {
            p.add(i).write(0);
        }
        p.add(6).write(trampoline);
    }
    rsp
}
