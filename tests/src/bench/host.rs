//! What machine a benchmark ran on, so numbers are never compared across
//! unlike hosts: CPU model, host kernel, and what kind of /dev/kvm it has.

use std::path::Path;

/// How /dev/kvm is provided here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KvmKind {
    /// `/sys/module/kvm_pvm` exists: software virtualisation (PVM); guest ring 0 is emulated.
    Pvm,
    /// /dev/kvm exists but the CPU flags have neither vmx nor svm: almost surely kvm-pvm.
    LikelyPvm,
    /// /dev/kvm with vmx or svm: hardware KVM.
    Hardware,
    /// No /dev/kvm.
    Absent,
}

impl KvmKind {
    pub fn name(self) -> &'static str {
        match self {
            KvmKind::Pvm => "kvm-pvm",
            KvmKind::LikelyPvm => "kvm, no vmx/svm (likely kvm-pvm)",
            KvmKind::Hardware => "kvm (hardware vmx/svm)",
            KvmKind::Absent => "absent",
        }
    }

    pub fn is_pvm(self) -> bool {
        matches!(self, KvmKind::Pvm | KvmKind::LikelyPvm)
    }
}

/// The host facts recorded with every run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    pub cpu_model: String,
    pub cpus: usize,
    pub kernel: String,
    pub kvm: KvmKind,
    /// How `kvm` was decided, for the record.
    pub kvm_evidence: String,
}

/// CPU model (first `model name`) and whether any `flags` line has vmx or svm.
pub fn parse_cpuinfo(text: &str) -> (String, usize, bool) {
    let mut model = None;
    let mut cpus = 0;
    let mut hw_virt = false;
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        match k.trim() {
            "model name" if model.is_none() => model = Some(v.trim().to_string()),
            "processor" => cpus += 1,
            "flags" => hw_virt |= v.split_whitespace().any(|f| f == "vmx" || f == "svm"),
            _ => {}
        }
    }
    (model.unwrap_or_else(|| "unknown".into()), cpus, hw_virt)
}

/// Decides the KVM kind from the three observable facts.
pub fn classify(kvm_dev: bool, pvm_module: bool, hw_virt: bool) -> (KvmKind, String) {
    match (kvm_dev, pvm_module, hw_virt) {
        (false, _, _) => (KvmKind::Absent, "no /dev/kvm".into()),
        (true, true, _) => (KvmKind::Pvm, "/sys/module/kvm_pvm exists".into()),
        (true, false, false) => (KvmKind::LikelyPvm, "/dev/kvm exists but /proc/cpuinfo has no vmx/svm".into()),
        (true, false, true) => (KvmKind::Hardware, "/proc/cpuinfo has vmx/svm".into()),
    }
}

/// Reads the facts from this machine.
pub fn detect() -> Host {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let (cpu_model, cpus, hw_virt) = parse_cpuinfo(&cpuinfo);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    let (kvm, kvm_evidence) =
        classify(Path::new("/dev/kvm").exists(), Path::new("/sys/module/kvm_pvm").exists(), hw_virt);
    Host { cpu_model, cpus, kernel, kvm, kvm_evidence }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpuinfo() {
        let text = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 lm\n\n\
                    processor\t: 1\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 lm\n";
        assert_eq!(parse_cpuinfo(text), ("AMD EPYC".into(), 2, false));
        let (_, _, hw) = parse_cpuinfo("processor : 0\nflags : fpu vmx\n");
        assert!(hw);
        assert_eq!(parse_cpuinfo("").0, "unknown");
    }

    #[test]
    fn kvm_kinds() {
        assert_eq!(classify(false, true, true).0, KvmKind::Absent);
        assert_eq!(classify(true, true, false).0, KvmKind::Pvm);
        assert_eq!(classify(true, false, false).0, KvmKind::LikelyPvm);
        assert_eq!(classify(true, false, true).0, KvmKind::Hardware);
        assert!(KvmKind::LikelyPvm.is_pvm() && !KvmKind::Hardware.is_pvm());
    }
}
