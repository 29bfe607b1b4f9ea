//! The virtio-mmio devices end to end: tiny PVH guests (32-bit, paging
//! off) drive `--disk`, `--net` and `--balloon` the way a driver does (status, features,
//! one queue per ring, descriptor chains, notify), then exit with bytes that
//! prove what the device did. Bad programming fails the device (one stderr
//! line, DEVICE_NEEDS_RESET) while the guest runs on, resets it and uses it
//! again. Tests that need KVM skip (saying why) without /dev/kvm.

use std::net::UdpSocket;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

mod guest;
use guest::{kvm_usable, pvh_elf, text, TempFile, BIN};

/// The first two virtio-mmio windows (vmm-harness/src/devices/virtio/layout.rs).
const DEV0: u32 = 0xC000_1000;
/// Three queues' rings, and buffers, in guest RAM.
const Q: [(u32, u32, u32); 3] =
    [(0x20_0000, 0x20_1000, 0x20_2000), (0x21_0000, 0x21_1000, 0x21_2000), (0x22_0000, 0x22_1000, 0x22_2000)];
const HDR: u32 = 0x30_0000;
const DATA: u32 = 0x30_1000;
const STATUS: u32 = 0x30_2000;
const DATA2: u32 = 0x30_3000;
const SAVED: u32 = 0x30_4000;
const RXBUF: u32 = 0x30_5000;
const TXBUF: u32 = 0x30_6000;
const NEXT: u32 = 1;
const WRITE: u32 = 2;

/// 32-bit code, paging off.
#[derive(Default)]
struct Asm(Vec<u8>);

impl Asm {
    /// mov dword [addr], v
    fn movd(&mut self, addr: u32, v: u32) -> &mut Self {
        self.0.extend_from_slice(&[0xC7, 0x05]);
        self.0.extend_from_slice(&addr.to_le_bytes());
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// mov word [addr], v
    fn movw(&mut self, addr: u32, v: u16) -> &mut Self {
        self.0.extend_from_slice(&[0x66, 0xC7, 0x05]);
        self.0.extend_from_slice(&addr.to_le_bytes());
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// mov byte [addr], v
    fn movb(&mut self, addr: u32, v: u8) -> &mut Self {
        self.0.extend_from_slice(&[0xC6, 0x05]);
        self.0.extend_from_slice(&addr.to_le_bytes());
        self.0.push(v);
        self
    }
    /// mov eax, [from]; mov [to], eax
    fn copyd(&mut self, from: u32, to: u32) -> &mut Self {
        self.0.push(0xA1);
        self.0.extend_from_slice(&from.to_le_bytes());
        self.0.push(0xA3);
        self.0.extend_from_slice(&to.to_le_bytes());
        self
    }
    /// Spin until the word at `addr` is `v`.
    fn wait_word(&mut self, addr: u32, v: u16) -> &mut Self {
        self.0.extend_from_slice(&[0x66, 0xA1]); // mov ax, [addr]
        self.0.extend_from_slice(&addr.to_le_bytes());
        self.0.extend_from_slice(&[0x66, 0x3D]); // cmp ax, v
        self.0.extend_from_slice(&v.to_le_bytes());
        self.0.extend_from_slice(&[0x75, 0xF4]); // jne back to the mov
        self
    }
    /// Exit with the byte sum of `addrs` (out 0xf4, al).
    fn exit_sum(&mut self, addrs: &[u32]) -> &mut Self {
        self.0.extend_from_slice(&[0x31, 0xC0]); // xor eax, eax
        for a in addrs {
            self.0.extend_from_slice(&[0x02, 0x05]); // add al, [a]
            self.0.extend_from_slice(&a.to_le_bytes());
        }
        self.0.extend_from_slice(&[0xE6, 0xF4, 0xEB, 0xFE]);
        self
    }

    /// Ask the harness for a snapshot (port 0x80 = 0x50): with
    /// `--snapshot-dir` the VM stops here, and a restore goes on from here.
    fn snapshot(&mut self) -> &mut Self {
        self.0.extend_from_slice(&[0xB0, 0x50, 0xE6, 0x80]); // mov al, 0x50; out 0x80, al
        self
    }

    // The driver's side of virtio-mmio.
    fn reg(&mut self, dev: u32, off: u32, v: u32) -> &mut Self {
        self.movd(dev + off, v)
    }
    /// Status up to FEATURES_OK with VERSION_1 only.
    fn init(&mut self, dev: u32) -> &mut Self {
        self.reg(dev, 0x70, 0).reg(dev, 0x70, 1).reg(dev, 0x70, 3);
        self.reg(dev, 0x24, 1).reg(dev, 0x20, 1).reg(dev, 0x24, 0).reg(dev, 0x20, 0);
        self.reg(dev, 0x70, 0xB)
    }
    fn queue(&mut self, dev: u32, q: u32, size: u32) -> &mut Self {
        let (d, a, u) = Q[q as usize];
        self.reg(dev, 0x30, q).reg(dev, 0x38, size);
        self.reg(dev, 0x80, d).reg(dev, 0x90, a).reg(dev, 0xa0, u).reg(dev, 0x44, 1)
    }
    fn driver_ok(&mut self, dev: u32) -> &mut Self {
        self.reg(dev, 0x70, 0xF)
    }
    fn desc(&mut self, q: usize, i: u32, addr: u32, len: u32, flags: u32, next: u32) -> &mut Self {
        let at = Q[q].0 + 16 * i;
        self.movd(at, addr).movd(at + 4, 0).movd(at + 8, len).movd(at + 12, flags | next << 16)
    }
    /// Offer chain `head` in avail slot `slot` and notify.
    fn offer(&mut self, dev: u32, q: usize, slot: u16, head: u16) -> &mut Self {
        let avail = Q[q].1;
        self.movw(avail + 4 + 2 * u32::from(slot), head).movw(avail + 2, slot + 1);
        self.reg(dev, 0x50, q as u32)
    }
    /// A virtio-blk request header (type, sector) at `at`.
    fn blk_header(&mut self, at: u32, ty: u32, sector: u32) -> &mut Self {
        self.movd(at, ty).movd(at + 4, 0).movd(at + 8, sector).movd(at + 12, 0)
    }
    /// Read sector `sector` into DATA, status at STATUS, chain 0..3 in slot `slot`.
    fn blk_read(&mut self, dev: u32, slot: u16, sector: u32) -> &mut Self {
        self.blk_header(HDR, 0, sector);
        self.desc(0, 0, HDR, 16, NEXT, 1).desc(0, 1, DATA, 512, NEXT | WRITE, 2).desc(0, 2, STATUS, 1, WRITE, 0);
        self.offer(dev, 0, slot, 0)
    }
}

/// A disk of `sectors` sectors, sector n filled with byte n.
fn disk(name: &str, sectors: u8) -> TempFile {
    let data: Vec<u8> = (0..sectors).flat_map(|n| [n; 512]).collect();
    TempFile::new(name, &data)
}

fn run(code: &Asm, name: &str, extra: &[&str]) -> Output {
    let k = TempFile::new(name, &pvh_elf(&code.0));
    let mut args = vec!["boot", "--kernel", k.0.to_str().unwrap(), "--timeout", "20"];
    args.extend_from_slice(extra);
    Command::new(BIN).args(&args).stdin(Stdio::null()).output().unwrap()
}

#[test]
fn a_guest_reads_writes_and_flushes_the_disk() {
    if !kvm_usable() {
        return;
    }
    let d = disk("rw.img", 4);
    let mut a = Asm::default();
    a.init(DEV0).queue(DEV0, 0, 8).driver_ok(DEV0);
    a.blk_read(DEV0, 0, 3);
    // Write "VIRE" + zeros to sector 2 (chain 3..6), then FLUSH (chain 6..8).
    a.blk_header(HDR + 0x100, 1, 2).movd(DATA2, u32::from_le_bytes(*b"VIRE"));
    a.desc(0, 3, HDR + 0x100, 16, NEXT, 4).desc(0, 4, DATA2, 512, NEXT, 5).desc(0, 5, STATUS + 1, 1, WRITE, 0);
    a.offer(DEV0, 0, 1, 3);
    a.blk_header(HDR + 0x200, 4, 0);
    a.desc(0, 6, HDR + 0x200, 16, NEXT, 7).desc(0, 7, STATUS + 2, 1, WRITE, 0);
    a.offer(DEV0, 0, 2, 6);
    a.exit_sum(&[DATA, DATA + 511, STATUS, STATUS + 1, STATUS + 2]);
    let out = run(&a, "blk-rw", &["--disk", d.0.to_str().unwrap(), "--trace"]);
    let err = text(&out.stderr);
    // Sector 3's first and last byte, and three OK statuses.
    assert_eq!(out.status.code(), Some(6), "{err}");
    let file = std::fs::read(&d.0).unwrap();
    assert_eq!(&file[1024..1028], b"VIRE");
    assert!(file[1028..1536].iter().all(|&b| b == 0));
    assert!(file[1536..].iter().all(|&b| b == 3));
    assert!(!err.contains("needs reset"), "{err}");
    assert!(err.contains("mmio virtio-blk x"), "the exits name the device: {err}");
}

/// A guest reads sector 3 and asks for a snapshot; restored in a new
/// process, its disk goes on where it was: the next request (avail slot 1)
/// reads sector 1, the one after writes sector 2, which reaches the file.
/// A disk that changed size since is refused.
#[test]
fn a_restored_disk_goes_on_where_the_snapshot_left_it() {
    if !kvm_usable() {
        return;
    }
    let d = disk("snap.img", 4);
    let dir = std::env::temp_dir().join(format!("vmm-harness-test-{}-snap-blk", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut a = Asm::default();
    a.init(DEV0).queue(DEV0, 0, 16).driver_ok(DEV0);
    a.blk_read(DEV0, 0, 3);
    a.snapshot();
    a.blk_header(HDR + 0x100, 0, 1);
    a.desc(0, 3, HDR + 0x100, 16, NEXT, 4).desc(0, 4, DATA2, 512, NEXT | WRITE, 5).desc(0, 5, STATUS + 1, 1, WRITE, 0);
    a.offer(DEV0, 0, 1, 3);
    a.blk_header(HDR + 0x200, 1, 2).movd(SAVED, u32::from_le_bytes(*b"VIRE"));
    a.desc(0, 6, HDR + 0x200, 16, NEXT, 7).desc(0, 7, SAVED, 512, NEXT, 8).desc(0, 8, STATUS + 2, 1, WRITE, 0);
    a.offer(DEV0, 0, 2, 6);
    // Sector 3 read before, sector 1 after, three OK statuses: 3 + 1.
    a.exit_sum(&[DATA, DATA2, STATUS, STATUS + 1, STATUS + 2]);
    let (disk_arg, snap) = (d.0.to_str().unwrap(), dir.to_str().unwrap());
    let out = run(&a, "blk-snap", &["--disk", disk_arg, "--snapshot-dir", snap]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("vmm-harness: snapshot of 1 vCPUs"), "{err}");
    assert!(std::fs::read(&d.0).unwrap()[1024..1028].iter().all(|&b| b == 2), "nothing written yet");
    let out = Command::new(BIN).args(["restore", snap, "--timeout", "20"]).stdin(Stdio::null()).output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(!err.contains("needs reset"), "{err}");
    assert_eq!(&std::fs::read(&d.0).unwrap()[1024..1028], b"VIRE");

    std::fs::OpenOptions::new().write(true).open(&d.0).unwrap().set_len(1024).unwrap();
    let out = Command::new(BIN).args(["restore", snap]).stdin(Stdio::null()).output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("the virtio-blk cannot be restored: ") && err.contains("has 2 sectors, the snapshot's disk had 4"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_read_only_disk_refuses_writes_with_ioerr() {
    if !kvm_usable() {
        return;
    }
    let d = disk("ro.img", 4);
    let mut a = Asm::default();
    a.init(DEV0).queue(DEV0, 0, 8).driver_ok(DEV0);
    a.blk_header(HDR, 1, 1).movd(DATA, 0xAAAA_AAAA);
    a.desc(0, 0, HDR, 16, NEXT, 1).desc(0, 1, DATA, 512, NEXT, 2).desc(0, 2, STATUS, 1, WRITE, 0);
    a.offer(DEV0, 0, 0, 0);
    // RO is feature bit 5.
    a.copyd(DEV0 + 0x10, SAVED);
    a.exit_sum(&[STATUS]);
    let spec = format!("{},ro", d.0.to_str().unwrap());
    let out = run(&a, "blk-ro", &["--disk", &spec]);
    assert_eq!(out.status.code(), Some(1), "VIRTIO_BLK_S_IOERR: {}", text(&out.stderr));
    assert!(std::fs::read(&d.0).unwrap()[512..1024].iter().all(|&b| b == 1));
}

/// Each bad programming step: the device fails with one stderr line and
/// DEVICE_NEEDS_RESET (0x40) in its status, the guest keeps running, resets
/// the device and reads sector 1 through it. The exit status is the failed
/// status byte plus that sector's byte (1).
#[test]
fn bad_programming_fails_the_device_and_the_vm_runs_on() {
    if !kvm_usable() {
        return;
    }
    type Step = fn(&mut Asm);
    let cases: [(&str, Step, &str, i32); 7] = [
        (
            "loop",
            |a| {
                a.init(DEV0).queue(DEV0, 0, 8).driver_ok(DEV0);
                a.desc(0, 0, HDR, 16, NEXT, 1).desc(0, 1, DATA, 16, NEXT, 0).offer(DEV0, 0, 0, 0);
            },
            "queue 0: chain 0 does not end within 8 descriptors",
            0x4F,
        ),
        (
            "outside-ram",
            |a| {
                a.init(DEV0).queue(DEV0, 0, 8).driver_ok(DEV0);
                a.desc(0, 0, HDR, 16, NEXT, 1).desc(0, 1, 0x8000_0000, 512, WRITE, 0).offer(DEV0, 0, 0, 0);
            },
            "queue 0: chain 0 has a buffer 0x80000000+0x200 outside guest RAM",
            0x4F,
        ),
        (
            "too-long",
            |a| {
                a.init(DEV0).queue(DEV0, 0, 8).driver_ok(DEV0);
                a.desc(0, 0, 0x100_0000, 0x80_0000, NEXT, 1).desc(0, 1, 0x100_0000, 0x80_0000, NEXT, 2);
                a.desc(0, 2, STATUS, 1, WRITE, 0).offer(DEV0, 0, 0, 0);
            },
            "queue 0: chain 0 is too long",
            0x4F,
        ),
        (
            "notify-early",
            |a| {
                a.init(DEV0).queue(DEV0, 0, 8).reg(DEV0, 0x50, 0);
            },
            "queue 0 notified before DRIVER_OK",
            0x4B,
        ),
        (
            "config-write",
            |a| {
                a.init(DEV0).reg(DEV0, 0x100, 0);
            },
            "write to read-only config field at 0x0",
            0x4B,
        ),
        (
            "queue-size",
            |a| {
                a.init(DEV0).queue(DEV0, 0, 3);
            },
            "queue 0: invalid queue size 3",
            0x4B,
        ),
        (
            "ring-address",
            |a| {
                a.init(DEV0).reg(DEV0, 0x30, 0).reg(DEV0, 0x38, 8).reg(DEV0, 0x80, 0xF000_0000).reg(DEV0, 0x44, 1);
            },
            "queue 0: invalid ring addresses (desc 0xf0000000",
            0x4B,
        ),
    ];
    let d = disk("bad.img", 4);
    for (name, bad, line, status) in cases {
        let mut a = Asm::default();
        bad(&mut a);
        a.copyd(DEV0 + 0x70, SAVED);
        a.init(DEV0).queue(DEV0, 0, 8).driver_ok(DEV0).blk_read(DEV0, 0, 1);
        a.exit_sum(&[SAVED, DATA, STATUS]);
        let out = run(&a, name, &["--disk", d.0.to_str().unwrap()]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(status + 1), "{name}: {err}");
        let want = format!("vmm-harness: virtio-blk at 0xc0001000: {line}");
        assert!(err.starts_with(&want), "{name}: {err}");
        assert!(err.ends_with("; device needs reset (the VM keeps running)\n"), "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{name}: one line: {err}");
    }
}

/// RX buffer on queue 0, a 60-byte frame on queue 1, then wait for RX.
fn net_guest(tx_first: [u8; 4]) -> Asm {
    let mut a = Asm::default();
    a.init(DEV0).queue(DEV0, 0, 8).queue(DEV0, 1, 8).driver_ok(DEV0);
    a.desc(0, 0, RXBUF, 2048, WRITE, 0).offer(DEV0, 0, 0, 0);
    a.movd(TXBUF + 12, u32::from_le_bytes(tx_first));
    a.desc(1, 0, TXBUF, 12 + 60, 0, 0).offer(DEV0, 1, 0, 0);
    a.wait_word(Q[0].2 + 2, 1);
    a.exit_sum(&[RXBUF + 12]);
    a
}

#[test]
fn loopback_returns_the_guests_frame() {
    if !kvm_usable() {
        return;
    }
    let out = run(&net_guest(*b"Loop"), "net-loop", &["--net", "loopback"]);
    assert_eq!(out.status.code(), Some(i32::from(b'L')), "{}", text(&out.stderr));
}

/// The card is snapshotted with an RX buffer offered and nothing sent;
/// restored, the guest sends a frame, the new loopback backend returns it,
/// and the restored RX thread puts it in the buffer offered before.
#[test]
fn a_restored_card_sends_and_receives() {
    if !kvm_usable() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("vmm-harness-test-{}-snap-net", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut a = Asm::default();
    a.init(DEV0).queue(DEV0, 0, 8).queue(DEV0, 1, 8).driver_ok(DEV0);
    a.desc(0, 0, RXBUF, 2048, WRITE, 0).offer(DEV0, 0, 0, 0);
    a.snapshot();
    a.movd(TXBUF + 12, u32::from_le_bytes(*b"Snap"));
    a.desc(1, 0, TXBUF, 12 + 60, 0, 0).offer(DEV0, 1, 0, 0);
    a.wait_word(Q[0].2 + 2, 1);
    a.exit_sum(&[RXBUF + 12]);
    let snap = dir.to_str().unwrap();
    let out = run(&a, "net-snap", &["--net", "loopback", "--snapshot-dir", snap]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = Command::new(BIN).args(["restore", snap, "--timeout", "20"]).stdin(Stdio::null()).output().unwrap();
    assert_eq!(out.status.code(), Some(i32::from(b'S')), "{}", text(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn frames_cross_a_udp_wire_both_ways() {
    if !kvm_usable() {
        return;
    }
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let k = TempFile::new("net-udp", &pvh_elf(&net_guest(*b"VIRE").0));
    let spec = format!("udp={}", peer.local_addr().unwrap());
    let child = Command::new(BIN)
        .args(["boot", "--kernel", k.0.to_str().unwrap(), "--timeout", "20", "--net", &spec])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 2048];
    let (n, from) = peer.recv_from(&mut buf).expect("the guest's frame");
    assert_eq!(n, 60);
    assert_eq!(&buf[..4], b"VIRE");
    let mut reply = [0u8; 60];
    reply[0] = 77;
    peer.send_to(&reply, from).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(77), "{}", text(&out.stderr));
}

/// virtio-pci: the function's IDs through ECAM, then a disk read through
/// BAR 0 (common config, notify), as the Cloud Hypervisor path has it.
#[test]
fn a_guest_reads_the_disk_over_virtio_pci() {
    if !kvm_usable() {
        return;
    }
    const ECAM: u32 = 0xE800_0000;
    const BAR: u32 = 0xC100_0000;
    let d = disk("pci.img", 4);
    let mut a = Asm::default();
    a.copyd(ECAM + (1 << 15), SAVED); // 00:01.0 vendor and device ID
    a.movb(BAR + 0x14, 0).movb(BAR + 0x14, 1).movb(BAR + 0x14, 3);
    a.movd(BAR + 0x08, 1).movd(BAR + 0x0c, 1).movd(BAR + 0x08, 0).movd(BAR + 0x0c, 0);
    a.movb(BAR + 0x14, 0xB);
    let (desc, avail, used) = Q[0];
    a.movw(BAR + 0x16, 0).movw(BAR + 0x18, 8);
    a.movd(BAR + 0x20, desc).movd(BAR + 0x28, avail).movd(BAR + 0x30, used).movw(BAR + 0x1c, 1);
    a.movb(BAR + 0x14, 0xF);
    a.blk_header(HDR, 0, 3);
    a.desc(0, 0, HDR, 16, NEXT, 1).desc(0, 1, DATA, 512, NEXT | WRITE, 2).desc(0, 2, STATUS, 1, WRITE, 0);
    a.movw(avail + 4, 0).movw(avail + 2, 1).movw(BAR + 0x1000, 0);
    // Device ID 0x1042 (virtio-blk), sector 3's byte, status OK.
    a.exit_sum(&[SAVED + 2, DATA, STATUS]);
    let out = run(&a, "pci", &["--disk", d.0.to_str().unwrap(), "--transport", "pci", "--trace"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0x42 + 3), "{err}");
    assert!(err.contains("mmio pci config x1") && err.contains("mmio virtio-blk x"), "{err}");
    assert!(!err.contains("needs reset"), "{err}");
}

/// virtio-pci with MSI-X programmed, snapshotted before the first request:
/// restored, the disk serves it, and MSI-X is still enabled with the
/// table entry the driver wrote.
#[test]
fn a_restored_pci_disk_keeps_its_msix_and_queue() {
    if !kvm_usable() {
        return;
    }
    const ECAM: u32 = 0xE800_0000 + (1 << 15);
    const BAR: u32 = 0xC100_0000;
    let d = disk("pci-snap.img", 4);
    let dir = std::env::temp_dir().join(format!("vmm-harness-test-{}-snap-pci", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut a = Asm::default();
    a.movb(BAR + 0x14, 0).movb(BAR + 0x14, 1).movb(BAR + 0x14, 3);
    a.movd(BAR + 0x08, 1).movd(BAR + 0x0c, 1).movd(BAR + 0x08, 0).movd(BAR + 0x0c, 0);
    a.movb(BAR + 0x14, 0xB);
    let (desc, avail, used) = Q[0];
    a.movw(BAR + 0x16, 0).movw(BAR + 0x18, 8).movw(BAR + 0x1a, 0);
    a.movd(BAR + 0x20, desc).movd(BAR + 0x28, avail).movd(BAR + 0x30, used).movw(BAR + 0x1c, 1);
    a.movb(BAR + 0x14, 0xF);
    // MSI-X entry 0 (interrupts stay off in the guest: it only polls), then enable.
    a.movd(BAR + 0x4000, 0xFEE0_0000).movd(BAR + 0x4004, 0).movd(BAR + 0x4008, 0x41).movd(BAR + 0x400c, 0);
    a.movw(ECAM + 0x86, 0x8000);
    a.snapshot();
    a.blk_header(HDR, 0, 3);
    a.desc(0, 0, HDR, 16, NEXT, 1).desc(0, 1, DATA, 512, NEXT | WRITE, 2).desc(0, 2, STATUS, 1, WRITE, 0);
    a.movw(avail + 4, 0).movw(avail + 2, 1).movw(BAR + 0x1000, 0);
    a.copyd(ECAM + 0x84, SAVED).copyd(BAR + 0x4008, SAVED + 4);
    // Sector 3's byte, status OK, MSI-X enable (0x80 in control's high byte), the entry's data.
    a.exit_sum(&[DATA, STATUS, SAVED + 3, SAVED + 4]);
    let (disk_arg, snap) = (d.0.to_str().unwrap(), dir.to_str().unwrap());
    let out = run(&a, "pci-snap", &["--disk", disk_arg, "--transport", "pci", "--snapshot-dir", snap]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = Command::new(BIN).args(["restore", snap, "--timeout", "20"]).stdin(Stdio::null()).output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3 + 0x80 + 0x41), "{err}");
    assert!(!err.contains("needs reset"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The balloon's reporting queue (2): a reported page reads back as zeros,
/// the page after it keeps its bytes; then a run that is not whole pages
/// fails the device (DEVICE_NEEDS_RESET) and its page is kept.
#[test]
fn a_reported_page_is_dropped_and_a_misaligned_run_fails_the_balloon() {
    if !kvm_usable() {
        return;
    }
    let mut a = Asm::default();
    a.copyd(DEV0 + 0x08, SAVED); // device type 5
    a.init(DEV0).queue(DEV0, 2, 8).driver_ok(DEV0);
    a.movb(DATA, 0xAA).movb(DATA + 0xFFF, 0x55).movb(DATA + 0x1000, 7);
    a.desc(2, 0, DATA, 0x1000, WRITE, 0).offer(DEV0, 2, 0, 0);
    a.wait_word(Q[2].2 + 2, 1);
    a.exit_sum(&[SAVED, DATA, DATA + 0xFFF, DATA + 0x1000]);
    let out = run(&a, "balloon", &["--balloon", "--trace"]);
    let err = text(&out.stderr);
    // 5 + 0 + 0 + 7; without the drop 0xAA + 0x55 would be in the sum.
    assert_eq!(out.status.code(), Some(12), "{err}");
    assert!(!err.contains("needs reset"), "{err}");
    assert!(err.contains("mmio virtio-balloon x"), "the exits name the device: {err}");

    let mut a = Asm::default();
    a.init(DEV0).queue(DEV0, 2, 8).driver_ok(DEV0);
    a.movb(DATA, 1);
    a.desc(2, 0, DATA + 0x800, 0x1000, WRITE, 0).offer(DEV0, 2, 0, 0);
    a.copyd(DEV0 + 0x70, SAVED);
    a.exit_sum(&[SAVED, DATA]);
    let out = run(&a, "balloon-bad", &["--balloon"]);
    let err = text(&out.stderr);
    // Status 0x4F (DEVICE_NEEDS_RESET | DRIVER_OK ...) + the kept byte.
    assert_eq!(out.status.code(), Some(0x50), "{err}");
    assert!(err.contains("virtio-balloon at 0xc0001000") && err.contains("not whole 4 KiB pages"), "{err}");
}

#[test]
fn bad_device_options_are_bad_input() {
    let k = TempFile::new("dev-opts", &pvh_elf(&[0xEB, 0xFE]));
    let kernel = k.0.to_str().unwrap();
    for (args, want) in [
        (vec!["--disk", "/nonexistent/disk.img"], "cannot open disk '/nonexistent/disk.img'"),
        (vec!["--net", "bogus"], "invalid --net value 'bogus'"),
        (vec!["--disk", ",ro"], "invalid --disk value ',ro'"),
    ] {
        let mut a = vec!["boot", "--kernel", kernel];
        a.extend(args);
        let out = Command::new(BIN).args(&a).stdin(Stdio::null()).output().unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{a:?}: {err}");
        assert!(err.starts_with(&format!("vmm-harness: error: {want}")), "{a:?}: {err}");
    }
}
