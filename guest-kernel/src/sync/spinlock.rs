//! A spinlock over `spin::Mutex`; the seam for the PV (halt+kick) slow path.
use core::ops::{Deref, DerefMut};

pub struct SpinLock<T: ?Sized> {
    inner: spin::Mutex<T>,
}

pub struct SpinLockGuard<'a, T: ?Sized> {
    inner: spin::MutexGuard<'a, T>,
}

impl<T> SpinLock<T> {
    pub const fn new(value: T) -> Self {
        Self { inner: spin::Mutex::new(value) }
    }
}

impl<T: ?Sized> SpinLock<T> {
    pub fn lock(&self) -> SpinLockGuard<'_, T> {
        SpinLockGuard { inner: self.inner.lock() }
    }
}

impl<T: ?Sized> Deref for SpinLockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> DerefMut for SpinLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}
