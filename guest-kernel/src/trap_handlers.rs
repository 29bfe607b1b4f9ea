//! The kernel's own trap handlers, registered at boot: system calls, user
//! exceptions, the scheduler's timer and wake-up IPI, the TLB-flush and
//! stop IPIs, and the serial console's receive interrupt.
use crate::arch::x86_64::trap::vector;

pub fn register_all() {
    crate::irq::set_syscall_handler(crate::syscall::dispatch);
    crate::irq::set_user_fault_handler(crate::process::on_user_exception);
    crate::irq::set_user_return_hook(|f| crate::process::before_user_return(f.rip));
    crate::irq::register(vector::SPURIOUS, |_| {});
    crate::irq::register(vector::TIMER, |f| {
        crate::pv::eoi();
        crate::sched::on_timer_interrupt(f.is_from_user());
    });
    crate::irq::register(vector::SERIAL, |_| {
        if crate::console::input::on_interrupt() {
            crate::process::interrupt_foreground();
        }
        crate::pv::eoi();
    });
    crate::irq::register(vector::IPI_WAKE, |f| {
        crate::pv::eoi();
        crate::sched::on_wake_ipi(f.is_from_user());
    });
    crate::irq::register(vector::IPI_TLB_FLUSH, |_| {
        crate::pv::eoi();
        crate::tlb::on_flush_ipi();
    });
    crate::irq::register(vector::IPI_STOP, |_| crate::poweroff::halt_forever());
}
