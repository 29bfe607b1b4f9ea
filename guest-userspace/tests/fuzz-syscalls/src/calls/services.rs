//! Named services, InitrdMap and SpawnImage (calls 36-40). The fuzzer holds
//! no device right, so ServiceRegister and InitrdMap always fail and it has
//! no listener to accept on; ServiceConnect goes to names nobody registers
//! here (it may succeed if a system server had one: the kernel then just
//! holds a handle of ours); SpawnImage gets garbage images and bad specs,
//! which must all be refused.
use super::R;
use crate::abi::outside_user;
use crate::owner;
use crate::values;
use crate::worker::*;
use vireo_rt::pv_abi::syscall::{Sys, MAX_SERVICE_NAME, MAX_SPAWN_IMAGE};
use vireo_rt::Error::*;

/// Where in the scratch mapping each piece goes (past what other calls use
/// at its start: Spawn's path, args and handles take the first 2 KiB).
const NAME_AT: u64 = 4096;
const SPEC_AT: u64 = 8192;
const PATH_AT: u64 = 8192 + 128;
const IMAGE_AT: u64 = 16 << 10;
const IMAGE_MAX: u64 = 32 << 10;

impl Worker {
    /// A name in scratch memory (or a bad pointer/length): `(ptr, len)`.
    fn service_name(&mut self) -> (u64, u64) {
        let p = self.scratch + NAME_AT;
        match self.rng.below(8) {
            0 => (values::bad_ptr(&mut self.rng), 1 + self.rng.below(MAX_SERVICE_NAME)),
            1 => (p, self.rng.pick(&[0, MAX_SERVICE_NAME + 1, u64::MAX])),
            2 => values::crossing_range(&mut self.rng),
            _ => {
                let len = 1 + self.rng.below(MAX_SERVICE_NAME);
                for i in 0..len {
                    // Mostly printable (valid UTF-8, never a real service's
                    // name: they do not start with '~'), sometimes not.
                    let b = if i == 0 {
                        b'~'
                    } else if self.rng.chance(1, 16) {
                        0xff
                    } else {
                        b'a' + (self.rng.below(26) as u8)
                    };
                    // SAFETY: within our scratch mapping.
                    unsafe { ((p + i) as *mut u8).write(b) };
                }
                (p, len)
            }
        }
    }

    /// ServiceRegister, ServiceConnect, ServiceAccept or InitrdMap.
    pub(super) fn service_call(&mut self, n: u64) {
        let (h, _) = self.pick_handle();
        let a = if n == Sys::ServiceRegister as u64 {
            let (p, l) = self.service_name();
            [h, p, l, 0, 0, 0]
        } else if n == Sys::ServiceConnect as u64 {
            let (p, l) = self.service_name();
            [p, l, h, 0, 0, 0]
        } else if n == Sys::ServiceAccept as u64 {
            let (p, _, _) = self.buffer();
            [h, p, values::short_timeout(&mut self.rng), 0, 0, 0]
        } else {
            let (p, _, _) = self.buffer();
            [h, p, 0, 0, 0, 0]
        };
        let r: R = self.call(n, a, false);
        if n != Sys::ServiceConnect as u64 {
            self.expect(r.is_err(), n, &a, r, "a service or initrd call succeeded without the device right");
        }
        let name_len = if n == Sys::ServiceConnect as u64 { a[1] } else { a[2] };
        if n != Sys::ServiceAccept as u64
            && n != Sys::InitrdMap as u64
            && (name_len == 0 || name_len > MAX_SERVICE_NAME)
        {
            // Register may refuse the handle first; connect checks the name first.
            let want = if n == Sys::ServiceConnect as u64 { Self::is_err(r, Invalid) } else { r.is_err() };
            self.expect(want, n, &a, r, "a service name of 0 or over 32 bytes must be refused");
        }
    }

    /// SpawnImage with a garbage image (random bytes, perhaps behind an ELF
    /// magic, perhaps cut short) or a bad spec: never a success.
    pub(super) fn spawn_image(&mut self) {
        if self.child_mode {
            return;
        }
        let n = Sys::SpawnImage as u64;
        let image = self.scratch + IMAGE_AT;
        let image_len = self.rng.below(IMAGE_MAX);
        for i in (0..image_len).step_by(8) {
            let v = self.rng.next();
            // SAFETY: within our scratch mapping (IMAGE_AT + IMAGE_MAX <= SCRATCH_LEN).
            unsafe { ((image + i) as *mut u64).write_unaligned(v) };
        }
        if image_len >= 4 && self.rng.chance(1, 2) {
            // SAFETY: as above.
            unsafe { (image as *mut [u8; 4]).write(*b"\x7fELF") };
        }
        let path = b"/fuzz/image";
        // SAFETY: within our scratch mapping.
        unsafe { core::ptr::copy_nonoverlapping(path.as_ptr(), (self.scratch + PATH_AT) as *mut u8, path.len()) };
        let mut spec = [image, image_len, self.scratch + PATH_AT, path.len() as u64, image, 0, image, 0];
        match self.rng.below(10) {
            0 => (spec[0], spec[1]) = (values::bad_ptr(&mut self.rng), 1 + self.rng.below(4096)),
            1 => (spec[0], spec[1]) = values::crossing_range(&mut self.rng),
            2 => spec[1] = self.rng.pick(&[MAX_SPAWN_IMAGE + 1, u64::MAX, SCRATCH_LEN]),
            3 => spec[3] = self.rng.pick(&[0, 257, u64::MAX]),
            4 => (spec[6], spec[7]) = (values::bad_ptr(&mut self.rng), 1 + self.rng.below(16)),
            5 => (spec[4], spec[5]) = ((values::bad_ptr(&mut self.rng)), 1 + self.rng.below(64)),
            _ => {}
        }
        let sp = self.scratch + SPEC_AT;
        for (i, v) in spec.iter().enumerate() {
            // SAFETY: within our scratch mapping.
            unsafe { ((sp + 8 * i as u64) as *mut u64).write(*v) };
        }
        let (mut p, mut len) = (sp, 64);
        match self.rng.below(12) {
            0 => p = values::bad_ptr(&mut self.rng),
            1 => len = self.rng.pick(&[0, 56, 72, u64::MAX]),
            _ => {}
        }
        let a = [p, len, 0, 0, 0, 0];
        let refuse = len == 64 && outside_user(p, len);
        let r = {
            let _g = owner::LOCK.lock();
            let r = self.call(n, a, refuse);
            if let Ok(h) = r {
                self.adopt(h, Kind::Process, CHILD_RIGHTS, n, &a);
            }
            r
        };
        self.expect(r.is_err(), n, &a, r, "SpawnImage of a garbage image succeeded");
        if len != 64 {
            self.expect(Self::is_err(r, Invalid), n, &a, r, "SpawnImage with a wrong spec length must be Invalid");
        }
        self.trim();
    }
}
