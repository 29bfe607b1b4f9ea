//! Device interrupt vectors: the range `DEVICE_FIRST..=DEVICE_LAST` is
//! handed out one vector at a time to whoever routes a device interrupt
//! (an IOAPIC line or an MSI/MSI-X entry) and given back when it is done.
use crate::arch::x86_64::trap::{vector, TrapFrame};
use crate::sync::SpinLock;

const COUNT: usize = (vector::DEVICE_LAST - vector::DEVICE_FIRST) as usize + 1;

/// Which device vectors are taken.
static TAKEN: SpinLock<[bool; COUNT]> = SpinLock::new([false; COUNT]);

/// Takes a free device vector and registers `h` for it; `None` when all
/// are in use.
pub fn alloc(h: fn(&mut TrapFrame)) -> Option<u8> {
    let mut taken = TAKEN.lock();
    let i = taken.iter().position(|t| !t)?;
    taken[i] = true;
    let v = vector::DEVICE_FIRST + i as u8;
    super::table::register(v, h);
    Some(v)
}

/// Returns a vector from [`alloc`]; its handler is removed first.
pub fn free(v: u8) {
    if !(vector::DEVICE_FIRST..=vector::DEVICE_LAST).contains(&v) {
        return;
    }
    super::table::unregister(v);
    TAKEN.lock()[usize::from(v - vector::DEVICE_FIRST)] = false;
}
