//! The device calls (27-35, and free-page reporting's 43-44) and WaitMany. The fuzzer holds no device right
//! (init's handle 1 is closed before the run: a driver with the right is
//! trusted with device registers and DMA, so random writes there could
//! legitimately corrupt memory), so every device call must fail with one of
//! its documented errors; WaitMany is fuzzed on whatever handles we hold.
use super::R;
use crate::abi::outside_user;
use crate::values;
use crate::worker::*;
use vireo_rt::pv_abi::syscall::Sys;

impl Worker {
    /// A value for a device-call argument: small indices and widths,
    /// boundaries, or anything.
    fn device_arg(&mut self) -> u64 {
        match self.rng.below(6) {
            0 => self.rng.below(8),
            1 => self.rng.pick(&[1, 2, 4, 8, 0xfff, 0x1000, 4 << 20]),
            2 => values::len(&mut self.rng),
            _ => self.rng.next(),
        }
    }

    /// One of DeviceInfo .. ConfigWrite with a picked handle: never a success.
    pub(super) fn device_call(&mut self, n: u64) {
        let (h, _) = self.pick_handle();
        let (p, forced, _) = self.buffer();
        let out_len = forced.unwrap_or_else(|| self.device_arg());
        let a = match n {
            // (right, index, out_ptr, out_len)
            x if x == Sys::DeviceInfo as u64 => [h, self.device_arg(), p, out_len, 0, 0],
            // (device, len, paddr_out) and (device, kind, msi_out)
            x if x == Sys::DmaAlloc as u64 || x == Sys::IrqOpen as u64 => [h, self.device_arg(), p, 0, 0, 0],
            _ => [h, self.device_arg(), self.device_arg(), self.device_arg(), 0, 0],
        };
        let r: R = self.call(n, a, false);
        self.expect(r.is_err(), n, &a, r, "a device call succeeded without the device right");
    }

    /// WaitMany over up to 65 handles from our table and the bogus pool,
    /// with a timeout that never blocks for long.
    pub(super) fn wait_many(&mut self) {
        let n = Sys::WaitMany as u64;
        let (p, count, refuse) = if self.rng.below(4) == 0 {
            let (p, forced, _) = self.buffer();
            let count = forced.unwrap_or_else(|| self.rng.below(70));
            (p, count, count > 0 && outside_user(p, count.saturating_mul(8)))
        } else {
            let count = self.rng.below(66);
            let mut handles = [0u64; 65];
            for slot in handles.iter_mut().take(count as usize) {
                *slot = self.pick_handle().0;
            }
            let p = self.scratch;
            // SAFETY: the scratch mapping is ours, read-write, and larger
            // than 65 handles; nothing else uses it during the call.
            unsafe { core::ptr::copy_nonoverlapping(handles.as_ptr(), p as *mut u64, count as usize) };
            (p, count, false)
        };
        let timeout = values::short_timeout(&mut self.rng);
        let a = [p, count, timeout, 0, 0, 0];
        let r = self.call(n, a, refuse);
        if let Ok(mask) = r {
            let fits = count >= 64 || mask < (1u64 << count);
            self.expect(mask != 0 && fits, n, &a, r, "WaitMany's ready mask must name a handle passed");
        }
        if count == 0 || count > 64 {
            self.expect(r.is_err(), n, &a, r, "WaitMany takes 1..=64 handles");
        }
    }
}
