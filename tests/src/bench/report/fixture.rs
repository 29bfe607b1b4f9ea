//! A [`Results`] for the unit tests of the report.

use super::super::measure::{IcountSection, Milestone, Results, WallSection};

pub(super) fn results(user_space: bool) -> Results {
    use super::super::host::{Host, KvmKind};
    use super::super::measure::InitrdProbe;
    let m = |k: &str, v: &[f64]| Milestone { key: k.into(), label: k.into(), values: v.to_vec(), required: true };
    let initrd = user_space.then(|| "build/initrd.cpio".to_string());
    Results {
        started_unix: 0,
        elapsed_secs: 1.0,
        host: Host {
            cpu_model: "cpu".into(),
            cpus: 2,
            kernel: "6.18".into(),
            kvm: KvmKind::Pvm,
            kvm_evidence: "test".into(),
        },
        qemu_version: "QEMU 7.2".into(),
        icount: IcountSection {
            runs: 1,
            runs_ok: 1,
            initrd: initrd.clone(),
            codes: vec![m("0x41", &[193_463.0]), m("0x43", &[198_288.0])],
            std_main: user_space.then(|| m("std_main", &[369_273.0])),
            user_rate_given: user_space.then(|| m("0x41_rate_given", &[118_000.0])),
            ..Default::default()
        },
        harness: WallSection {
            vmm: "vmm-harness".into(),
            boots_requested: 1,
            boots_run: 1,
            boots_ok: 1,
            milestones: vec![m("first KVM_RUN", &[2289.2])],
            extra: vec![m("host main to first KVM_RUN", &[1048.5])],
            initrd_probe: Some(InitrdProbe {
                reached: vec!["0x40 kernel entry".into()],
                outcome: "vmm-harness exit 125 (vCPU failure)".into(),
                failure: Some("KVM_EXIT_INTERNAL_ERROR on XGETBV".into()),
                verdict: super::super::measure::initrd_verdict(true),
                ..Default::default()
            }),
            ..Default::default()
        },
        qemu_wall: WallSection::default(),
        chv: WallSection { skipped: Some("skipped: cloud-hypervisor not found".into()), ..Default::default() },
        memory_idle: Some(super::super::mm::parse_line(
            "255.6 MiB RAM, 254.2 MiB free, 1499 KiB in use (kernel 344 KiB)",
        )),
        memory_idle_source: "test".into(),
        memory_setup: None,
        memory_setup_source: "none".into(),
        kernel_path: "build/kernel.elf".into(),
        kernel_size: Some(277_040),
        initrd_path: "build/initrd.cpio".into(),
        initrd_size: user_space.then_some(385_232),
    }
}
