//! The hypervisor's own cost: the KVM calls every VM start needs, timed one
//! by one in this process with nothing of vmm-harness around them (a fresh
//! VM per round). What the harness cannot go below on this host.
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Instant;

use super::super::stats::Summary;

// From <linux/kvm.h>: _IO(0xAE, n), _IOW/_IOWR with the argument's size.
const KVM_CREATE_VM: libc::c_ulong = 0xAE01;
const KVM_GET_SUPPORTED_CPUID: libc::c_ulong = 0xC008_AE05;
const KVM_CREATE_VCPU: libc::c_ulong = 0xAE41;
const KVM_SET_USER_MEMORY_REGION: libc::c_ulong = 0x4020_AE46;
const KVM_CREATE_IRQCHIP: libc::c_ulong = 0xAE60;
const MAX_CPUID_ENTRIES: usize = 256;
const CPUID_ENTRY_BYTES: usize = 40;

/// The calls, in the order a VMM makes them.
pub const CALLS: [&str; 5] = [
    "KVM_CREATE_VM",
    "KVM_SET_USER_MEMORY_REGION (256 MiB)",
    "KVM_CREATE_IRQCHIP",
    "KVM_GET_SUPPORTED_CPUID",
    "KVM_CREATE_VCPU",
];

#[repr(C)]
struct MemoryRegion {
    slot: u32,
    flags: u32,
    guest_phys_addr: u64,
    memory_size: u64,
    userspace_addr: u64,
}

fn timed(what: &str, f: impl FnOnce() -> libc::c_int) -> Result<(f64, libc::c_int), String> {
    let t = Instant::now();
    let r = f();
    let us = t.elapsed().as_nanos() as f64 / 1000.0;
    if r < 0 {
        return Err(format!("{what}: {}", std::io::Error::last_os_error()));
    }
    Ok((us, r))
}

/// One round: microseconds per call of [`CALLS`].
fn round(kvm: &OwnedFd, mem: *mut libc::c_void, mem_len: u64) -> Result<[f64; 5], String> {
    // SAFETY: plain ioctls on descriptors we own, with arguments of the
    // sizes their numbers encode; `mem` is a live mapping of `mem_len` bytes
    // that outlives the VM (closed at the end of this function).
    unsafe {
        let (t0, vm) = timed(CALLS[0], || libc::ioctl(kvm.as_raw_fd(), KVM_CREATE_VM, 0))?;
        let vm = OwnedFd::from_raw_fd(vm);
        let region =
            MemoryRegion { slot: 0, flags: 0, guest_phys_addr: 0, memory_size: mem_len, userspace_addr: mem as u64 };
        let (t1, _) = timed(CALLS[1], || libc::ioctl(vm.as_raw_fd(), KVM_SET_USER_MEMORY_REGION, &region))?;
        let (t2, _) = timed(CALLS[2], || libc::ioctl(vm.as_raw_fd(), KVM_CREATE_IRQCHIP, 0))?;
        let mut buf = vec![0u8; 8 + MAX_CPUID_ENTRIES * CPUID_ENTRY_BYTES];
        buf[..4].copy_from_slice(&(MAX_CPUID_ENTRIES as u32).to_ne_bytes());
        let (t3, _) = timed(CALLS[3], || libc::ioctl(kvm.as_raw_fd(), KVM_GET_SUPPORTED_CPUID, buf.as_mut_ptr()))?;
        let (t4, vcpu) = timed(CALLS[4], || libc::ioctl(vm.as_raw_fd(), KVM_CREATE_VCPU, 0))?;
        drop(OwnedFd::from_raw_fd(vcpu));
        Ok([t0, t1, t2, t3, t4])
    }
}

/// Per call (of [`CALLS`]) its summary in microseconds.
pub type Rows = Vec<(&'static str, Summary)>;

/// `rounds` fresh VMs; per call the summary in microseconds, and the sum of
/// the medians.
pub fn measure(rounds: usize) -> Result<(Rows, f64), String> {
    let kvm =
        std::fs::OpenOptions::new().read(true).write(true).open("/dev/kvm").map_err(|e| format!("/dev/kvm: {e}"))?;
    let kvm = OwnedFd::from(kvm);
    let len: u64 = 256 << 20;
    // SAFETY: a fresh anonymous mapping, unmapped below; nothing touches it.
    let mem = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len as usize,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if mem == libc::MAP_FAILED {
        return Err(format!("mmap: {}", std::io::Error::last_os_error()));
    }
    let mut per: Vec<Vec<f64>> = vec![Vec::new(); CALLS.len()];
    let mut result = Ok(());
    for _ in 0..rounds {
        match round(&kvm, mem, len) {
            Ok(t) => t.iter().zip(per.iter_mut()).for_each(|(t, v)| v.push(*t)),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    // SAFETY: the mapping made above; every VM using it is closed.
    unsafe { libc::munmap(mem, len as usize) };
    result?;
    let rows: Rows = CALLS.iter().zip(&per).filter_map(|(c, v)| Summary::of(v).map(|s| (*c, s))).collect();
    let sum = rows.iter().map(|(_, s)| s.median).sum();
    Ok((rows, sum))
}
