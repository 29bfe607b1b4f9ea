//! Snapshot and restore (`--snapshot-dir DIR`, `vmm-harness restore DIR`).
//!
//! A snapshot is taken on SIGUSR1 or when the guest writes
//! [`pv_abi::boot_trace::SNAPSHOT_REQUEST`] to port 0x80. Every vCPU thread
//! leaves KVM_RUN (the first to see the request signals the others, and
//! vCPU 0 signals again every 10 ms until all have answered), saves its own
//! state and parks; vCPU 0 then saves the VM's (kvmclock, irqchips, COM1,
//! the virtio devices), writes guest RAM to `DIR/memory` (pages of zeros as
//! holes) and the rest to `DIR/state` ([`state`], [`devices`]), and ends the
//! process with status 0. The VM does not go on: a snapshot is for
//! restoring, here or elsewhere.
//!
//! In-flight device requests are drained by construction: blk requests and
//! net TX are served on the vCPU thread that notified, inside its MMIO exit,
//! so once every vCPU has left KVM_RUN none is half done. The one other
//! writer of guest memory, a card's RX thread, delivers under its device's
//! lock; saving a device takes that lock and freezes the device (it serves
//! nothing more), and RAM is written after every device is saved, so RAM
//! and device state agree. A frame the RX thread holds then is dropped, as
//! on a wire.
//!
//! [`restore`] builds a VM from such a directory in a new process: RAM is
//! `DIR/memory` mapped privately, so it is faulted in lazily and the file
//! never changes, and the clock moves on by the time the VM was away. The
//! devices' host ends (disk paths, tap names) are reopened as the snapshot
//! records them (`devices::virtio::restore`).
pub mod cpuid;
pub mod devices;
pub mod request;
pub mod restore;
pub mod state;

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use kvm_bindings::{
    kvm_irqchip, kvm_msr_entry, Msrs, KVM_IRQCHIP_IOAPIC, KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE,
    KVM_MAX_CPUID_ENTRIES,
};
use kvm_ioctls::{VcpuFd, VmFd};
use vm_memory::{GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion};

use crate::devices::Devices;
use state::{VcpuState, VmState};

/// What vCPU 0 needs to save the VM; set once the VM runs.
pub struct Context {
    pub dir: PathBuf,
    pub vm: Arc<VmFd>,
    pub mem: GuestMemoryMmap,
    pub mem_mib: u64,
    pub cpus: usize,
    pub devices: Arc<Devices>,
}

static CONTEXT: OnceLock<Context> = OnceLock::new();
/// Every vCPU thread, to signal out of KVM_RUN.
static THREADS: Mutex<Vec<libc::pthread_t>> = Mutex::new(Vec::new());
/// Each vCPU's saved state, or why it could not be saved.
static SAVED: Mutex<Vec<Option<Result<VcpuState, String>>>> = Mutex::new(Vec::new());
static SAVED_CV: Condvar = Condvar::new();

/// The MSRs a restored vCPU needs beyond what KVM keeps in its other state:
/// the TSC (and its adjust), the syscall and sysenter set-up, the TSC
/// deadline, PAT, and KVM's paravirtual MSRs (kvmclock, steal time, PV EOI,
/// async PF, poll control).
pub const MSRS: [u32; 19] = [
    0x10,        // IA32_TSC
    0x3b,        // IA32_TSC_ADJUST
    0x174,       // SYSENTER_CS
    0x175,       // SYSENTER_ESP
    0x176,       // SYSENTER_EIP
    0x1a0,       // MISC_ENABLE
    0x277,       // PAT
    0x2ff,       // MTRR_DEF_TYPE
    0x6e0,       // TSC_DEADLINE
    0xc000_0081, // STAR
    0xc000_0082, // LSTAR
    0xc000_0083, // CSTAR
    0xc000_0084, // SFMASK
    0xc000_0102, // KERNEL_GS_BASE
    0x4b56_4d00, // KVM wall clock
    0x4b56_4d01, // KVM system time (kvmclock)
    0x4b56_4d03, // KVM steal time
    0x4b56_4d04, // KVM PV EOI
    0x4b56_4d05, // KVM poll control
];

extern "C" fn on_usr1(_signal: libc::c_int) {
    // Only async-signal-safe work here: an atomic store.
    request::request();
}

/// Makes SIGUSR1 interrupt KVM_RUN (no SA_RESTART) and request a snapshot.
pub fn install_signal() -> std::io::Result<()> {
    // The handler is an `extern "C" fn(c_int)` that only touches atomics.
    // SAFETY: an all-zero sigaction is valid (empty mask, no flags).
    let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
    sa.sa_sigaction = on_usr1 as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: sigaction reads the initialised `sa`; the old action is not requested.
    if unsafe { libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Snapshots become possible: `ctx` is what vCPU 0 will save.
pub fn enable(ctx: Context) {
    let cpus = ctx.cpus;
    if CONTEXT.set(ctx).is_ok() {
        *SAVED.lock().unwrap_or_else(|e| e.into_inner()) = vec![None; cpus];
        request::enable();
    }
}

pub use request::requested;

/// Each vCPU thread, before its first KVM_RUN.
pub fn register_vcpu_thread() {
    // SAFETY: pthread_self has no preconditions.
    let me = unsafe { libc::pthread_self() };
    THREADS.lock().unwrap_or_else(|e| e.into_inner()).push(me);
}

fn kick_all() {
    // SAFETY: pthread_self has no preconditions.
    let me = unsafe { libc::pthread_self() };
    for &t in THREADS.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        // SAFETY: pthread_equal compares two thread ids.
        if unsafe { libc::pthread_equal(t, me) } == 0 {
            // The SIGUSR1 handler only sets a flag.
            // SAFETY: `t` is a vCPU thread, alive until the process exits.
            unsafe { libc::pthread_kill(t, libc::SIGUSR1) };
        }
    }
}

/// Called by vCPU `id`'s thread once it sees [`requested`]: saves its state;
/// vCPU 0 then saves the VM and returns the message to end the process
/// with (`Ok`: the snapshot is written), the others never return.
pub fn pause(id: u64, fd: &VcpuFd) -> Result<String, String> {
    kick_all();
    let mine = save_vcpu(fd).map_err(|e| format!("vCPU {id}: {e}"));
    {
        let mut saved = SAVED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = saved.get_mut(id as usize) {
            *slot = Some(mine);
        }
    }
    SAVED_CV.notify_all();
    if id != 0 {
        loop {
            std::thread::park();
        }
    }
    let ctx = CONTEXT.get().ok_or("snapshot requested without --snapshot-dir")?;
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs(5);
    let mut saved = SAVED.lock().unwrap_or_else(|e| e.into_inner());
    while saved.iter().any(Option::is_none) {
        if Instant::now() > deadline {
            let missing: Vec<usize> = (0..saved.len()).filter(|&i| saved[i].is_none()).collect();
            return Err(format!("snapshot: vCPUs {missing:?} did not stop within 5 s"));
        }
        kick_all();
        saved = SAVED_CV.wait_timeout(saved, Duration::from_millis(10)).unwrap_or_else(|e| e.into_inner()).0;
    }
    let vcpus =
        saved.iter().map(|s| s.clone().unwrap_or_else(|| Err("missing".into()))).collect::<Result<Vec<_>, _>>()?;
    drop(saved);
    // vCPU 0's table: a restore sets it back (cpuid.rs).
    let cpuid = fd.get_cpuid2(KVM_MAX_CPUID_ENTRIES).map_err(|e| format!("KVM_GET_CPUID2: {e}"))?;
    let vm = save_vm(ctx, vcpus)?;
    let bytes = write(ctx, &vm, cpuid.as_slice()).map_err(|e| format!("snapshot: {e}"))?;
    Ok(format!(
        "snapshot of {} vCPUs and {} MiB ({} KiB written) in {} in {:.1} ms",
        ctx.cpus,
        ctx.mem_mib,
        bytes >> 10,
        ctx.dir.display(),
        t0.elapsed().as_secs_f64() * 1e3
    ))
}

fn save_vcpu(fd: &VcpuFd) -> Result<VcpuState, String> {
    let e = |what: &str| {
        let what = what.to_string();
        move |err: kvm_ioctls::Error| format!("{what}: {err}")
    };
    // Events first: KVM may still have an interrupt or exception to inject.
    let events = fd.get_vcpu_events().map_err(e("KVM_GET_VCPU_EVENTS"))?;
    let mut msrs = Msrs::from_entries(&MSRS.map(|index| kvm_msr_entry { index, ..Default::default() }))
        .map_err(|err| format!("MSR list: {err:?}"))?;
    let n = fd.get_msrs(&mut msrs).map_err(e("KVM_GET_MSRS"))?;
    // KVM stops at the first MSR it does not know: keep what it read.
    let msrs = msrs.as_slice()[..n].to_vec();
    Ok(VcpuState {
        regs: fd.get_regs().map_err(e("KVM_GET_REGS"))?,
        sregs: fd.get_sregs().map_err(e("KVM_GET_SREGS"))?,
        xsave: fd.get_xsave().map_err(e("KVM_GET_XSAVE"))?,
        xcrs: fd.get_xcrs().map_err(e("KVM_GET_XCRS"))?,
        lapic: fd.get_lapic().map_err(e("KVM_GET_LAPIC"))?,
        mp_state: fd.get_mp_state().map_err(e("KVM_GET_MP_STATE"))?,
        events,
        debugregs: fd.get_debug_regs().map_err(e("KVM_GET_DEBUGREGS"))?,
        msrs,
    })
}

fn save_vm(ctx: &Context, vcpus: Vec<VcpuState>) -> Result<VmState, String> {
    let chip = |id: u32| -> Result<kvm_irqchip, String> {
        let mut c = kvm_irqchip { chip_id: id, ..Default::default() };
        ctx.vm.get_irqchip(&mut c).map_err(|e| format!("KVM_GET_IRQCHIP {id}: {e}"))?;
        Ok(c)
    };
    Ok(VmState {
        mem_mib: ctx.mem_mib,
        clock: ctx.vm.get_clock().map_err(|e| format!("KVM_GET_CLOCK: {e}"))?,
        irqchips: [chip(KVM_IRQCHIP_PIC_MASTER)?, chip(KVM_IRQCHIP_PIC_SLAVE)?, chip(KVM_IRQCHIP_IOAPIC)?],
        serial: ctx.devices.serial.state(),
        vcpus,
        devices: ctx.devices.save_virtio(),
    })
}

/// Writes `DIR/memory` (the RAM regions in order, pages of zeros left as
/// holes), `DIR/cpuid` and `DIR/state`; returns the bytes of RAM written.
fn write(ctx: &Context, vm: &VmState, cpuid: &[kvm_bindings::kvm_cpuid_entry2]) -> std::io::Result<u64> {
    std::fs::create_dir_all(&ctx.dir)?;
    let mut f = std::fs::File::create(memory_path(&ctx.dir))?;
    let mut written = 0u64;
    let mut offset = 0u64;
    const PAGE: usize = 4096;
    for region in ctx.mem.iter() {
        let len = region.len() as usize;
        let host = ctx.mem.get_host_address(region.start_addr()).map_err(std::io::Error::other)?;
        // Every vCPU is stopped, so nothing writes to it meanwhile.
        // SAFETY: the region's host mapping is `len` bytes and lives as long as `ctx.mem`.
        let bytes = unsafe { std::slice::from_raw_parts(host as *const u8, len) };
        for (i, page) in bytes.chunks(PAGE).enumerate() {
            if page.iter().any(|&b| b != 0) {
                f.seek(SeekFrom::Start(offset + (i * PAGE) as u64))?;
                f.write_all(page)?;
                written += page.len() as u64;
            }
        }
        offset += len as u64;
    }
    f.set_len(offset)?;
    f.sync_all()?;
    // Before the state file, whose rename makes the snapshot whole.
    std::fs::write(cpuid::path(&ctx.dir), cpuid::encode(cpuid))?;
    let tmp = ctx.dir.join("state.tmp");
    std::fs::write(&tmp, state::encode(vm))?;
    std::fs::rename(&tmp, ctx.dir.join("state"))?;
    Ok(written)
}

pub fn memory_path(dir: &Path) -> PathBuf {
    dir.join("memory")
}
