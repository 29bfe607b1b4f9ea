//! vireo-virtio's virtio-blk driver on real QEMU devices: `/test/blk` runs
//! as init against a 64 MiB sparse raw image this test writes, over
//! virtio-mmio (microvm) and virtio-pci with MSI-X (q35). The guest checks
//! the host's pattern (sectors 0..16 read with all requests in flight, and
//! sector 2048), writes sector 4096, flushes and reads it back; the host
//! then finds that sector in the image. A read-only drive refuses the
//! write with the driver's typed error and the image stays untouched.
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use vireo_tests::{Machine, Qemu, Run};

const SECTOR: u64 = 512;
const HOST_SECTOR: u64 = 2048;
const GUEST_SECTOR: u64 = 4096;

/// Must match guest-userspace/tests/test-blk.
fn host_byte(sector: u64, i: u64) -> u8 {
    (sector.wrapping_mul(31) + i * 7 + 1) as u8
}
fn guest_byte(i: u64) -> u8 {
    (i as u8) ^ 0xa5
}

/// A 64 MiB sparse image with the host pattern, removed when dropped.
struct Image(PathBuf);

impl Image {
    fn new(name: &str) -> Image {
        let path = std::env::temp_dir().join(format!("vireo-blk-{}-{name}.img", std::process::id()));
        let mut f = File::create(&path).unwrap();
        f.set_len(64 << 20).unwrap();
        for s in (0..16).chain([HOST_SECTOR]) {
            f.seek(SeekFrom::Start(s * SECTOR)).unwrap();
            f.write_all(&(0..SECTOR).map(|i| host_byte(s, i)).collect::<Vec<_>>()).unwrap();
        }
        Image(path)
    }

    fn sector(&self, s: u64) -> Vec<u8> {
        let mut f = OpenOptions::new().read(true).open(&self.0).unwrap();
        f.seek(SeekFrom::Start(s * SECTOR)).unwrap();
        let mut buf = vec![0; SECTOR as usize];
        f.read_exact(&mut buf).unwrap();
        buf
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// `dev` is QEMU's device for `machine`'s transport (`-device`).
fn boot(machine: Machine, dev: &str, image: &Image, read_only: bool) -> Run {
    let ro = if read_only { ",readonly=on" } else { "" };
    let drive = format!("file={},format=raw,if=none,id=d0{ro}", image.0.display());
    let cmdline = if read_only { "init=/test/blk -- ro" } else { "init=/test/blk" };
    let mut q = Qemu::new(machine).cpus(2).with_initrd().cmdline(cmdline);
    q.extra = vec![
        "-global".into(),
        "virtio-mmio.force-legacy=false".into(),
        "-drive".into(),
        drive,
        "-device".into(),
        dev.into(),
    ];
    q.run()
}

fn device(machine: Machine) -> &'static str {
    match machine {
        Machine::Q35 => "virtio-blk-pci,drive=d0",
        _ => "virtio-blk-device,drive=d0",
    }
}

fn reads_writes_and_flushes(machine: Machine, dev: &str, transport: &str) {
    let image = Image::new(&dev.replace([',', '='], "-"));
    let run = boot(machine, dev, &image, false);
    run.assert_exit(0);
    for line in [
        &format!("test-blk: {transport}: capacity 131072 sectors, block size 512, read-only false"),
        "test-blk: read sectors 0..16, all in flight at once: ok",
        "test-blk: host pattern at sector 2048: ok",
        "test-blk: wrote sector 4096, flushed, read it back: ok",
        "test-blk: ok",
    ] {
        assert!(run.has_line_starting(line), "missing {line:?}\n{}", run.dump());
    }
    let want: Vec<u8> = (0..SECTOR).map(guest_byte).collect();
    assert_eq!(image.sector(GUEST_SECTOR), want, "the guest's sector is in the image");
}

fn read_only_refuses_the_write(machine: Machine, transport: &str) {
    let image = Image::new(&format!("{transport}-ro"));
    let run = boot(machine, device(machine), &image, true);
    run.assert_exit(0);
    for line in [
        &format!("test-blk: {transport}: capacity 131072 sectors, block size 512, read-only true"),
        "test-blk: host pattern at sector 2048: ok",
        "test-blk: write refused: ReadOnly",
    ] {
        assert!(run.has_line_starting(line), "missing {line:?}\n{}", run.dump());
    }
    assert_eq!(image.sector(GUEST_SECTOR), vec![0; SECTOR as usize], "the read-only image is untouched");
}

#[test]
fn microvm_virtio_blk_over_mmio_reads_writes_and_flushes_the_host_image() {
    reads_writes_and_flushes(Machine::Microvm, device(Machine::Microvm), "virtio-mmio");
}

#[test]
fn q35_virtio_blk_over_pci_with_msix_reads_writes_and_flushes_the_host_image() {
    reads_writes_and_flushes(Machine::Q35, device(Machine::Q35), "virtio-pci");
}

/// QEMU's default virtio-pci device is transitional (ID 0x1001); this one
/// is modern only (0x1042), as Cloud Hypervisor's are.
#[test]
fn q35_modern_only_virtio_blk_pci_is_driven_the_same_way() {
    reads_writes_and_flushes(Machine::Q35, "virtio-blk-pci,drive=d0,disable-legacy=on", "virtio-pci");
}

#[test]
fn microvm_read_only_virtio_blk_refuses_writes_with_a_typed_error() {
    read_only_refuses_the_write(Machine::Microvm, "virtio-mmio");
}

#[test]
fn q35_read_only_virtio_blk_refuses_writes_with_a_typed_error() {
    read_only_refuses_the_write(Machine::Q35, "virtio-pci");
}
