//! The QEMU microvm the program runs in: PVH via -kernel, the console on
//! QEMU's stdout (read by the runner), the devices the options ask for.
use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::accel::Accel;
use crate::options::Options;

pub const QEMU: &str = "qemu-system-x86_64";

pub fn command(o: &Options, accel: Accel, kernel: &Path, initrd: &Path, cmdline: &str) -> Command {
    let mut c = Command::new(QEMU);
    c.args(["-M", "microvm"]).args(accel.qemu_args());
    c.args(["-m", &o.mem, "-smp", &o.cpus.to_string()]);
    c.args(["-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot"]);
    c.args(["-device", "isa-debug-exit,iobase=0xf4,iosize=4"]);
    if o.disk.is_some() || o.net.is_some() || o.balloon {
        // Vireo drives virtio-mmio devices in their modern (version 2) form.
        c.args(["-global", "virtio-mmio.force-legacy=false"]);
    }
    if let Some(disk) = &o.disk {
        let mut spec = OsString::from("file=");
        // QEMU's option syntax doubles a comma inside a value.
        spec.push(disk.as_os_str().to_string_lossy().replace(',', ",,"));
        spec.push(",format=raw,if=none,id=d0");
        c.arg("-drive").arg(spec).args(["-device", "virtio-blk-device,drive=d0"]);
    }
    if let Some(net) = &o.net {
        c.args(["-netdev", &format!("{net},id=n0"), "-device", "virtio-net-device,netdev=n0"]);
    }
    if o.balloon {
        c.args(["-device", "virtio-balloon-device,free-page-reporting=on"]);
    }
    c.arg("-kernel").arg(kernel).arg("-initrd").arg(initrd).args(["-append", cmdline]);
    // The runner's stdin is not the program's: the serial console has no
    // end of file to pass on, and a terminal would be put in raw mode.
    c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    c
}
