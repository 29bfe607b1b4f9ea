//! KVM or TCG. KVM runs Vireo only where the host CPU virtualises in
//! hardware (VMX or SVM) and /dev/kvm is a full KVM: kvm-pvm (a KVM for
//! hosts without VMX/SVM) emulates ring 0 and cannot run Vireo's user
//! space, so it counts as no KVM.
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccelChoice {
    Auto,
    Tcg,
    Kvm,
}

impl AccelChoice {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Self::Auto),
            "tcg" => Ok(Self::Tcg),
            "kvm" => Ok(Self::Kvm),
            _ => Err(format!("accelerator {s:?}: expected auto, tcg or kvm")),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
    Tcg,
    Kvm,
}

impl Accel {
    pub fn qemu_args(self) -> &'static [&'static str] {
        match self {
            Self::Tcg => &["-accel", "tcg"],
            Self::Kvm => &["-accel", "kvm", "-cpu", "host"],
        }
    }
}

/// What the host offers, read from /proc and /sys.
pub struct Host {
    pub cpu_virtualises: bool,
    pub kvm_pvm: bool,
    pub kvm_openable: bool,
}

impl Host {
    pub fn probe() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        Self {
            cpu_virtualises: cpu_flags_virtualise(&cpuinfo),
            kvm_pvm: Path::new("/sys/module/kvm_pvm").exists(),
            kvm_openable: std::fs::OpenOptions::new().read(true).write(true).open("/dev/kvm").is_ok(),
        }
    }

    /// `Ok` if KVM can run Vireo, else why not.
    pub fn kvm(&self) -> Result<(), &'static str> {
        if self.kvm_pvm {
            Err("/dev/kvm is kvm-pvm, which cannot run a guest's user space")
        } else if !self.cpu_virtualises {
            Err("the host CPU has neither VMX nor SVM")
        } else if !self.kvm_openable {
            Err("/dev/kvm cannot be opened read-write")
        } else {
            Ok(())
        }
    }
}

fn cpu_flags_virtualise(cpuinfo: &str) -> bool {
    cpuinfo.lines().filter(|l| l.starts_with("flags")).any(|l| l.split_whitespace().any(|f| f == "vmx" || f == "svm"))
}

pub fn choose(choice: AccelChoice, host: &Host) -> Result<Accel, String> {
    match (choice, host.kvm()) {
        (AccelChoice::Tcg, _) | (AccelChoice::Auto, Err(_)) => Ok(Accel::Tcg),
        (AccelChoice::Kvm | AccelChoice::Auto, Ok(())) => Ok(Accel::Kvm),
        (AccelChoice::Kvm, Err(why)) => Err(why.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: Host = Host { cpu_virtualises: true, kvm_pvm: false, kvm_openable: true };

    #[test]
    fn kvm_only_with_vmx_or_svm_and_not_kvm_pvm() {
        assert_eq!(choose(AccelChoice::Auto, &FULL), Ok(Accel::Kvm));
        let pvm = Host { kvm_pvm: true, cpu_virtualises: false, ..FULL };
        assert_eq!(choose(AccelChoice::Auto, &pvm), Ok(Accel::Tcg));
        assert!(choose(AccelChoice::Kvm, &pvm).unwrap_err().contains("kvm-pvm"));
        let closed = Host { kvm_openable: false, ..FULL };
        assert_eq!(choose(AccelChoice::Auto, &closed), Ok(Accel::Tcg));
        assert_eq!(choose(AccelChoice::Tcg, &FULL), Ok(Accel::Tcg));
    }

    #[test]
    fn flags_line_is_read_word_by_word() {
        assert!(cpu_flags_virtualise("flags\t\t: fpu vme svm lm\n"));
        assert!(!cpu_flags_virtualise("flags\t\t: fpu vmxnope\nmodel name : vmx\n"));
    }
}
