//! The network in VM tests: a virtio-net card on QEMU user networking (or
//! another netdev), and the frames QEMU saw, captured to a pcap file by a
//! `filter-dump` on the netdev and read back here, so a test can check
//! from the host side what the guest really sent and got.
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use crate::disk::{program, DiskCopy};
use crate::frames::Peer;
use crate::running::RunningVm;
use crate::{Machine, Qemu};

impl Qemu {
    /// Attaches a virtio-net card (virtio-mmio on microvm, virtio-pci on
    /// q35) on `-netdev NETDEV,id=n0` (e.g. `user`), and records its
    /// frames in `pcap` if given.
    pub fn with_net(mut self, netdev: &str, pcap: Option<&Path>) -> Self {
        self.extra.extend(["-netdev".into(), format!("{netdev},id=n0")]);
        match self.machine {
            Machine::Microvm => {
                self.extra.extend(["-global".into(), "virtio-mmio.force-legacy=false".into()]);
                self.extra.extend(["-device".into(), "virtio-net-device,netdev=n0".into()]);
            }
            Machine::Q35 => self.extra.extend(["-device".into(), "virtio-net-pci,netdev=n0".into()]),
        }
        if let Some(p) = pcap {
            self.extra.extend(["-object".into(), format!("filter-dump,id=f0,netdev=n0,file={}", p.display())]);
        }
        self
    }
}

/// Boots `/bin/httpd` (serving the disk's /srv/www on port 80) with the
/// static address `peer.guest_ip`/24 and gateway `peer.ip`, on a card whose
/// wire is `peer` (a QEMU socket netdev: the test plays the network).
pub fn boot_httpd_on_wire(machine: Machine, disk: &DiskCopy, peer: &Peer) -> RunningVm {
    let (guest, host) = (peer.guest_ip, peer.ip);
    let q = Qemu::new(machine)
        .with_initrd()
        .cmdline(&program(&format!("ip={guest}/24,{host} /bin/httpd")))
        .with_disk(&disk.path, false)
        .with_net(&peer.netdev(), None);
    let mut vm = RunningVm::start(&q);
    vm.wait_for(&["httpd: serving /srv/www on 0.0.0.0:80", &format!("io: net: {guest}/24")], Duration::from_secs(120));
    vm
}

/// What a test needs to know about one captured IPv4 frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Frame {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    /// 1 ICMP, 6 TCP, 17 UDP.
    pub proto: u8,
    /// UDP: the destination port; ICMP: the type (8 echo request, 0 reply).
    pub kind: u16,
}

/// The IPv4 frames of a pcap file (Ethernet link type), in order; other
/// frames (ARP) are skipped. Panics on a file that is not such a capture.
pub fn ipv4_frames(pcap: &Path) -> Vec<Ipv4Frame> {
    let b = std::fs::read(pcap).unwrap_or_else(|e| panic!("{}: {e}", pcap.display()));
    assert!(b.len() >= 24, "{}: no pcap header", pcap.display());
    let le = match b[..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] => false,
        _ => panic!("{}: not a pcap file", pcap.display()),
    };
    let u32_at = |at: usize| {
        let w: [u8; 4] = b[at..at + 4].try_into().expect("4 bytes");
        if le {
            u32::from_le_bytes(w)
        } else {
            u32::from_be_bytes(w)
        }
    };
    assert_eq!(u32_at(20), 1, "{}: not an Ethernet capture", pcap.display());
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= b.len() {
        let len = u32_at(at + 8) as usize;
        let f = &b[at + 16..(at + 16 + len).min(b.len())];
        at += 16 + len;
        if f.len() < 34 || f[12..14] != [0x08, 0x00] {
            continue;
        }
        let ip = &f[14..];
        let ihl = usize::from(ip[0] & 15) * 4;
        let l4 = ip.get(ihl..).unwrap_or(&[]);
        let proto = ip[9];
        let kind = match proto {
            17 if l4.len() >= 4 => u16::from_be_bytes([l4[2], l4[3]]),
            1 if !l4.is_empty() => u16::from(l4[0]),
            _ => 0,
        };
        let addr = |o: usize| Ipv4Addr::new(ip[o], ip[o + 1], ip[o + 2], ip[o + 3]);
        out.push(Ipv4Frame { src: addr(12), dst: addr(16), proto, kind });
    }
    out
}
