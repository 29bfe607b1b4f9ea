//! Paravirtual features (docs/paravirt.md): the pure policy (`nopv=`
//! parsing, the halt-polling window, steal accounting) as host unit tests,
//! the `pv:` boot line under QEMU TCG, and steal time and poll control under
//! vmm-harness on this machine's /dev/kvm.

/// The kernel's own file, compiled here so its unit tests run on the host.
#[allow(dead_code)]
#[path = "../../guest-kernel/src/pv/policy.rs"]
mod policy;
