//! What the measurements record: one [`Milestone`] per named point of a
//! timeline, a section per VMM, and [`Results`] for the whole run.

use std::path::PathBuf;

use super::super::host::Host;
use super::super::mm::MmStats;

/// One named point of a timeline, with one value per successful run.
#[derive(Clone, Debug, PartialEq)]
pub struct Milestone {
    /// Stable machine-readable key (JSON).
    pub key: String,
    /// What the table and the figure call it.
    pub label: String,
    pub values: Vec<f64>,
    /// Shown as "not reached" when empty (otherwise an empty milestone is left out).
    pub required: bool,
}

impl Milestone {
    pub(super) fn new(key: &str, label: &str, required: bool) -> Self {
        Milestone { key: key.into(), label: label.into(), values: Vec::new(), required }
    }
}

/// A VMM measured over N boots on the host clock (microseconds since spawn).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WallSection {
    pub vmm: String,
    pub skipped: Option<String>,
    pub command: String,
    pub boots_requested: usize,
    pub boots_run: usize,
    pub boots_ok: usize,
    pub failures: Vec<String>,
    /// Microseconds since spawn, in timeline order.
    pub milestones: Vec<Milestone>,
    /// Other per-boot figures (their labels say what they count).
    pub extra: Vec<Milestone>,
    pub notes: Vec<String>,
    /// The initrd the timed boots used (display path); `None`: kernel only.
    pub initrd: Option<String>,
    /// Set when a boot with the initrd was tried and failed, so that the
    /// timed boots are kernel only.
    pub initrd_probe: Option<InitrdProbe>,
}

/// One vmm-harness boot with the initrd that did not complete.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InitrdProbe {
    pub command: String,
    /// How it ended, e.g. `exit 125 (vCPU failure) at 102.9 ms`.
    pub outcome: String,
    /// The harness's error line, summarised (`KVM_EXIT_INTERNAL_ERROR ... on XGETBV ...`).
    pub failure: Option<String>,
    /// Labels of the boot-trace codes it reached and did not reach.
    pub reached: Vec<String>,
    pub not_reached: Vec<String>,
    /// Why the timed boots are kernel only (the table and docs print it).
    pub verdict: String,
}

impl WallSection {
    pub(super) fn skipped(vmm: &str, why: String) -> Self {
        WallSection { vmm: vmm.into(), skipped: Some(why), ..Default::default() }
    }
}

/// Section (a).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IcountSection {
    pub skipped: Option<String>,
    pub command: String,
    /// The initrd booted (display path); `None`: kernel only, 0x41 is then
    /// the kernel's own mark and 0x43 is not reached.
    pub initrd: Option<String>,
    pub runs: usize,
    pub runs_ok: usize,
    pub failures: Vec<String>,
    pub tsc_hz: Option<u64>,
    /// Instructions from PVH entry to each boot-trace code.
    pub codes: Vec<Milestone>,
    /// Instructions from PVH entry to the end of each `bootstat` phase.
    pub phases: Vec<Milestone>,
    /// Instructions from PVH entry to a std hello's `main` (`/bin/std-first-main`
    /// as init; empty without an initrd).
    pub std_main: Option<Milestone>,
    /// Its command line, or why it was not measured.
    pub std_main_note: Option<String>,
    /// Instructions to the first user instruction (0x41) when the command
    /// line states the TSC rate (`tsc_khz=`), as every cloud VMM does
    /// through kvmclock or CPUID and as Linux's `tsc_early_khz` does in the
    /// Linux baseline: the kernel then skips its calibration.
    pub user_rate_given: Option<Milestone>,
    /// Its command line, or why it was not measured.
    pub user_rate_given_note: Option<String>,
}

/// Everything one `make bench` measured.
#[derive(Clone, Debug)]
pub struct Results {
    pub started_unix: u64,
    pub elapsed_secs: f64,
    pub host: Host,
    pub qemu_version: String,
    pub icount: IcountSection,
    pub harness: WallSection,
    pub qemu_wall: WallSection,
    pub chv: WallSection,
    /// Idle memory: the `bootstat: memory` line printed after init exited.
    pub memory_idle: Option<MmStats>,
    pub memory_idle_source: String,
    /// The early `mm:` line (after memory set-up, before init).
    pub memory_setup: Option<MmStats>,
    pub memory_setup_source: String,
    pub kernel_path: PathBuf,
    pub kernel_size: Option<u64>,
    pub initrd_path: PathBuf,
    pub initrd_size: Option<u64>,
}
