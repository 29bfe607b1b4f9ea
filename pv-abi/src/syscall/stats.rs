//! What `SysInfo` and `CpuStats` fill: the machine's and each CPU's figures.

/// Filled by `SysInfo`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SysInfo {
    pub cpus: u32,
    pub pid: u32,
    pub total_memory: u64,
    pub free_memory: u64,
    pub tsc_hz: u64,
    pub boot_ns: u64,
    /// Unix time in ns now (0 when the machine gave no wall clock).
    pub wall_ns: u64,
    /// Nanoseconds all CPUs have spent halted since boot (benchmarks
    /// subtract it: under QEMU `-icount` idle time advances the TSC too).
    pub idle_ns: u64,
}

const _: () = {
    assert!(core::mem::size_of::<SysInfo>() == 56);
    assert!(core::mem::offset_of!(SysInfo, idle_ns) == 48);
    assert!(core::mem::offset_of!(SysInfo, wall_ns) == 40);
    assert!(core::mem::offset_of!(SysInfo, total_memory) == 8);
    assert!(core::mem::offset_of!(SysInfo, boot_ns) == 32);
};

/// Filled by `CpuStats`: one CPU's time since boot. Every field is a u64.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuStats {
    /// Nanoseconds idle: halt polling plus halted.
    pub idle_ns: u64,
    /// Nanoseconds the host ran something else while this vCPU wanted to run
    /// (KVM steal time; 0 when the host does not offer it or `nopv=steal`).
    pub steal_ns: u64,
    /// Nanoseconds of `idle_ns` spent halt polling.
    pub poll_ns: u64,
    /// Idle periods that polling ended (work arrived before `hlt`).
    pub poll_hits: u64,
    /// Times the CPU halted.
    pub halts: u64,
    /// The current halt-polling window in ns (0: polling off or shrunk away).
    pub poll_window_ns: u64,
    /// Context switches into threads.
    pub switches: u64,
}

impl CpuStats {
    /// The little-endian bytes `CpuStats` copies out (fields in order).
    pub fn to_bytes(&self) -> [u8; 56] {
        let f =
            [self.idle_ns, self.steal_ns, self.poll_ns, self.poll_hits, self.halts, self.poll_window_ns, self.switches];
        let mut out = [0u8; 56];
        for (chunk, v) in out.chunks_exact_mut(8).zip(f) {
            chunk.copy_from_slice(&v.to_le_bytes());
        }
        out
    }
}

const _: () = {
    assert!(core::mem::size_of::<CpuStats>() == 56);
    assert!(core::mem::offset_of!(CpuStats, steal_ns) == 8);
    assert!(core::mem::offset_of!(CpuStats, switches) == 48);
};
