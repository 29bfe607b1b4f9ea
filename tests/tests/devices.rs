//! The device interface for user-space drivers, under QEMU TCG:
//! `/test/devices` runs as init (holding the device right) and proves that
//! a process without the right is refused by every device call, that the
//! right cannot be forged, that bad arguments are refused, that a dying
//! driver's device is reset and freed, and that a driver maps a virtio
//! entropy device's registers, reads its ID, gets DMA memory and receives
//! its interrupt through `WaitMany`: virtio-mmio on QEMU microvm (an
//! IOAPIC line described in the DSDT), virtio-pci with MSI-X on q35.
use vireo_tests::{Machine, Qemu, Run};

fn boot(machine: Machine, device: &[&str]) -> Run {
    let mut q = Qemu::new(machine).cpus(2).with_initrd().cmdline("init=/test/devices");
    q.extra = device.iter().map(|s| s.to_string()).collect();
    q.run()
}

fn assert_passed(run: &Run) {
    run.assert_exit(0);
    for line in ["test-devices: norights: ok", "test-devices: init: ok"] {
        assert!(run.has_line_starting(line), "missing {line:?}\n{}", run.dump());
    }
}

#[test]
fn microvm_virtio_mmio_device_is_driven_from_user_space_with_its_interrupt_line() {
    let run = boot(Machine::Microvm, &["-global", "virtio-mmio.force-legacy=false", "-device", "virtio-rng-device"]);
    assert_passed(&run);
    assert!(run.stdout.contains("virtio-mmio magic 0x74726976 version 2 device id 4"), "{}", run.dump());
    assert!(run.has_line_starting("test-devices: virtio-mmio interrupt: used idx 1"), "{}", run.dump());
}

#[test]
fn q35_virtio_pci_device_is_found_through_ecam_and_interrupts_through_msix() {
    let run = boot(Machine::Q35, &["-device", "virtio-rng-pci"]);
    assert_passed(&run);
    assert!(run.has_line_starting("test-devices: MSI-X entry 0 <- address 0xfee"), "{}", run.dump());
    assert!(run.has_line_starting("test-devices: virtio-pci MSI-X interrupt: used idx 1"), "{}", run.dump());
}

#[test]
fn a_system_without_devices_reports_none_to_the_driver() {
    let run = boot(Machine::Microvm, &[]);
    run.assert_exit(2);
    assert!(run.has_line_starting("test-devices: no devices"), "{}", run.dump());
}

/// QEMU puts a lone virtio-mmio device in its last slot (VR23: 0xfeb02e00,
/// GSI 47). The command line describes that window as 1 KiB instead of 512
/// bytes and adds a malformed entry: the command line's transport is the
/// one kept, the DSDT's overlapping one is reported and dropped, the
/// malformed entry is reported, and the device still works.
#[test]
fn microvm_command_line_transports_come_before_the_dsdt_s_and_bad_entries_are_reported() {
    let mut q = Qemu::new(Machine::Microvm)
        .cpus(2)
        .with_initrd()
        .cmdline("init=/test/devices virtio_mmio.device=1K@0xfeb02e00:47 virtio_mmio.device=4K@0xd000000g:5");
    q.extra = ["-global", "virtio-mmio.force-legacy=false", "-device", "virtio-rng-device"].map(String::from).to_vec();
    let run = q.run();
    assert_passed(&run);
    for line in [
        "virtio-mmio: command line: entry skipped: bad ADDR",
        "virtio-mmio: DSDT: 0xfeb02e00+0x200 skipped: overlaps 0xfeb02e00+0x400",
        "devices: 0 pci, 1 virtio-mmio",
        "test-devices: virtio-mmio interrupt: used idx 1",
    ] {
        assert!(run.has_line_starting(line), "missing {line:?}\n{}", run.dump());
    }
}
