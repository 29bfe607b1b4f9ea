//! The QEMU microvm command line every QEMU measurement uses, and QEMU's
//! version.

use std::path::Path;
use std::process::Command;

use super::super::CMDLINE;

pub(super) fn qemu_base(kernel: &Path, initrd: Option<&Path>, icount: bool) -> Command {
    qemu_with_cmdline(kernel, initrd, icount, CMDLINE)
}

/// [`qemu_base`] with another kernel command line.
pub fn qemu_with_cmdline(kernel: &Path, initrd: Option<&Path>, icount: bool, cmdline: &str) -> Command {
    let mut c = Command::new("qemu-system-x86_64");
    c.args(["-M", "microvm", "-accel", "tcg"]);
    if icount {
        c.args(["-icount", "shift=0,sleep=off"]);
    }
    c.args(["-smp", "1", "-m", "256M", "-nodefaults", "-no-user-config", "-display", "none"]);
    c.args(["-serial", "stdio", "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=4"]);
    c.arg("-kernel").arg(kernel);
    if let Some(i) = initrd {
        c.arg("-initrd").arg(i);
    }
    c.args(["-append", cmdline]);
    c
}

/// `qemu-system-x86_64 --version`'s first line, or why QEMU cannot run.
pub fn qemu_version() -> Result<String, String> {
    match Command::new("qemu-system-x86_64").arg("--version").output() {
        Ok(o) if o.status.success() => {
            Ok(String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or("").trim().to_string())
        }
        Ok(o) => Err(format!("qemu-system-x86_64 --version failed ({})", o.status)),
        Err(e) => Err(format!("qemu-system-x86_64 not found ({e}); run `make deps`")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::show;
    use super::*;

    #[test]
    fn qemu_command_is_the_documented_one() {
        let c = show(&qemu_base(Path::new("build/kernel.elf"), Some(Path::new("build/initrd.cpio")), true));
        assert_eq!(
            c,
            "qemu-system-x86_64 -M microvm -accel tcg -icount shift=0,sleep=off -smp 1 -m 256M -nodefaults \
             -no-user-config -display none -serial stdio -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4 \
             -kernel build/kernel.elf -initrd build/initrd.cpio -append bootstat"
        );
        assert!(!show(&qemu_base(Path::new("k"), None, false)).contains("icount"));
        assert!(!show(&qemu_base(Path::new("k"), None, true)).contains("initrd"));
    }
}
