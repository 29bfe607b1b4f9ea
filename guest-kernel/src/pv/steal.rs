//! Steal time (MSR_KVM_STEAL_TIME): one 64-byte record per vCPU in which the
//! host counts the ns the vCPU was runnable but not running. Layout and
//! protocol: Linux `Documentation/virt/kvm/x86/msr.rst`, pv_abi::kvm_para.
use crate::arch::x86_64::kvm;
use crate::arch::x86_64::layout::KERNEL_VMA;
use core::cell::UnsafeCell;
use core::ptr::{addr_of, addr_of_mut, read_volatile};
use core::sync::atomic::{AtomicU8, Ordering};
use pv_abi::kvm_para::steal;
use pv_abi::MAX_CPUS;

/// The host bumps `version` twice per update; a reader that keeps losing the
/// race for this long faces a broken host, and reports no steal.
const MAX_READ_RETRIES: u32 = 1 << 12;

/// `struct kvm_steal_time`.
#[repr(C)]
struct KvmStealTime {
    steal: u64,
    version: u32,
    flags: u32,
    preempted: u8,
    pad0: [u8; 3],
    pad: [u32; 11],
}

/// 64-byte aligned, as the host requires (it never straddles a page).
#[repr(C, align(64))]
pub struct StealArea(UnsafeCell<KvmStealTime>);

const _: () = {
    assert!(core::mem::size_of::<StealArea>() == steal::SIZE);
    assert!(core::mem::offset_of!(KvmStealTime, version) == steal::OFFSET_VERSION);
    assert!(core::mem::offset_of!(KvmStealTime, flags) == steal::OFFSET_FLAGS);
    assert!(core::mem::offset_of!(KvmStealTime, preempted) == steal::OFFSET_PREEMPTED);
};

// SAFETY: the kernel writes an area after registering it only through an
// atomic compare-exchange of its `preempted` byte (as KVM's protocol has
// the guest do); it starts zeroed in .bss, as the host requires; the
// host's concurrent writes are read only through volatile or atomic loads.
unsafe impl Sync for StealArea {}

/// One consistent copy of a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub steal_ns: u64,
    pub version: u32,
    pub flags: u32,
    pub preempted: u8,
}

impl StealArea {
    const fn new() -> Self {
        Self(UnsafeCell::new(KvmStealTime { steal: 0, version: 0, flags: 0, preempted: 0, pad0: [0; 3], pad: [0; 11] }))
    }

    /// `None` while the host has not written the record yet (version 0) or
    /// never let a read finish.
    pub fn read(&self) -> Option<Snapshot> {
        let p = self.0.get();
        // The closure only loads, volatile, as the host writes the record.
        // SAFETY: `p` points into a static; its fields are aligned.
        unsafe {
            kvm::read_versioned(addr_of!((*p).version), MAX_READ_RETRIES, || Snapshot {
                steal_ns: read_volatile(addr_of!((*p).steal)),
                version: read_volatile(addr_of!((*p).version)),
                flags: read_volatile(addr_of!((*p).flags)),
                preempted: read_volatile(addr_of!((*p).preempted)),
            })
        }
    }
}

static AREAS: [StealArea; MAX_CPUS] = [const { StealArea::new() }; MAX_CPUS];

#[derive(Debug, Clone, Copy)]
pub enum StealError {
    CpuIndexOutOfRange(usize),
    NoPhysicalAddress,
}

impl core::fmt::Display for StealError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::CpuIndexOutOfRange(c) => write!(f, "cpu index {c} has no steal-time area"),
            Self::NoPhysicalAddress => f.write_str("steal-time area outside the kernel image"),
        }
    }
}

/// Points the host at `cpu`'s record. Must run on that CPU, once, and only
/// when KVM offered STEAL_TIME (the MSR #GPs otherwise).
pub fn register(cpu: usize) -> Result<(), StealError> {
    let area = AREAS.get(cpu).ok_or(StealError::CpuIndexOutOfRange(cpu))?;
    // Statics live in the kernel image, linked at `KERNEL_VMA + phys`.
    let gpa = (area.0.get() as u64).checked_sub(KERNEL_VMA).ok_or(StealError::NoPhysicalAddress)?;
    // The caller checked STEAL_TIME, so the MSR exists.
    // SAFETY: the GPA is this CPU's own zeroed, 64-byte aligned static record, used for nothing else.
    unsafe { kvm::set_steal_time(Some(gpa)) };
    Ok(())
}

/// `cpu`'s record as the host last wrote it.
pub fn read(cpu: usize) -> Option<Snapshot> {
    AREAS.get(cpu)?.read()
}

fn preempted_byte(cpu: usize) -> Option<&'static AtomicU8> {
    let p = AREAS.get(cpu)?.0.get();
    // The host writes it with a locked byte write or exchange.
    // SAFETY: the byte lives in a static and everyone accesses it atomically.
    Some(unsafe { AtomicU8::from_ptr(addr_of_mut!((*p).preempted)) })
}

/// Whether the host has `cpu`'s vCPU preempted right now.
pub fn is_preempted(cpu: usize) -> bool {
    preempted_byte(cpu).is_some_and(|b| b.load(Ordering::Acquire) & steal::PREEMPTED != 0)
}

/// If `cpu`'s vCPU is preempted, asks the host to flush its TLB before it
/// runs again (PV TLB flush) and returns true: no IPI is needed then.
pub fn flush_on_entry(cpu: usize) -> bool {
    let Some(b) = preempted_byte(cpu) else { return false };
    let v = b.load(Ordering::Acquire);
    v & steal::PREEMPTED != 0
        && b.compare_exchange(v, v | steal::FLUSH_TLB, Ordering::AcqRel, Ordering::Acquire).is_ok()
}
