//! The network's first layer (issue 12; docs/network.md): the I/O server
//! drives the virtio-net card (virtio-mmio on microvm, virtio-pci on q35)
//! under smoltcp. With QEMU user networking, DHCP gives 10.0.2.15, gateway
//! 10.0.2.2 and name server 10.0.2.3; `ip=`/`dns=` after `--` give a static
//! address and no DHCP at all; `net.probe` pings the gateway, and the
//! frames QEMU saw (captured to a pcap file) must show the echo request and
//! its reply. Leases capped at 2 s are renewed. A boot without a card, or
//! with a card nobody answers, still runs its program with the disk.
//!
//! Nothing leaves the host: QEMU's user networking answers DHCP and pings to
//! its gateway itself, and the guest sends nothing else.
use std::net::Ipv4Addr;
use std::time::Duration;

use vireo_tests::disk::{assert_fsck_clean, program, DiskCopy};
use vireo_tests::net::{ipv4_frames, Ipv4Frame};
use vireo_tests::{Machine, Qemu, Run};

/// One VM at a time: TCG on a 2-core host.
static ONE_VM: std::sync::Mutex<()> = std::sync::Mutex::new(());

const GUEST: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 15);
const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
const MAC: &str = "52:54:00:12:34:56";

fn card(machine: Machine) -> &'static str {
    match machine {
        Machine::Microvm => "virtio-net (MMIO)",
        Machine::Q35 => "virtio-net (PCI)",
    }
}

/// Boots `cmd` (init's words after `--`) with a copy of the disk and, if
/// `netdev` is given, a card on it; returns the run and the capture.
fn boot(machine: Machine, netdev: Option<&str>, cmd: &str, disk: &DiskCopy) -> (Run, Vec<Ipv4Frame>) {
    let _one = ONE_VM.lock().unwrap_or_else(|e| e.into_inner());
    let pcap = disk.path.with_file_name("net.pcap");
    let mut q = Qemu::new(machine).with_initrd().cmdline(&program(cmd)).timeout(Duration::from_secs(120));
    q = q.with_disk(&disk.path, false);
    if let Some(n) = netdev {
        q = q.with_net(n, Some(&pcap));
    }
    let run = q.run();
    for l in run.stdout.lines().filter(|l| l.starts_with("io:") || l.starts_with("hello")) {
        println!("{l}");
    }
    eprintln!("boot {machine:?} net {netdev:?} `{cmd}`: {:?}", run.elapsed);
    run.assert_exit(0);
    assert!(run.has_line_starting("hello from user space"), "the program did not run\n{}", run.dump());
    assert!(run.has_line_starting("io: / is ext4 on virtio-blk"), "the disk was not mounted\n{}", run.dump());
    assert!(run.has_line_starting("io: / unmounted cleanly"), "{}", run.dump());
    let frames = if netdev.is_some() { ipv4_frames(&pcap) } else { Vec::new() };
    (run, frames)
}

fn disk(name: &str, machine: Machine) -> DiskCopy {
    DiskCopy::new(&format!("net-{name}-{machine:?}"))
}

/// The probe's answer line, and the echo request and reply in the capture.
fn assert_pinged(run: &Run, frames: &[Ipv4Frame], from: Ipv4Addr) {
    assert!(
        run.has_line_starting(&format!("io: net: probe: {GATEWAY} answered ping 1 in ")),
        "the gateway did not answer the probe\n{}",
        run.dump()
    );
    // More round trips than either ring has buffers: all of them recycled.
    assert!(
        run.has_line_starting("io: net: probe: 300 of 300 pings answered"),
        "the ping burst lost answers\n{}",
        run.dump()
    );
    let request = Ipv4Frame { src: from, dst: GATEWAY, proto: 1, kind: 8 };
    let reply = Ipv4Frame { src: GATEWAY, dst: from, proto: 1, kind: 0 };
    let at = frames.iter().position(|f| *f == request);
    assert!(at.is_some(), "no echo request from {from} in the capture: {frames:#?}");
    assert!(frames[at.unwrap_or(0)..].contains(&reply), "no echo reply to {from} in the capture: {frames:#?}");
    let pairs = frames.iter().filter(|f| **f == request).count().min(frames.iter().filter(|f| **f == reply).count());
    assert!(pairs >= 301, "{pairs} echo requests and replies in the capture, not 301");
}

/// UDP frames from the guest to a DHCP server's port.
fn dhcp_requests(frames: &[Ipv4Frame]) -> usize {
    frames.iter().filter(|f| f.proto == 17 && f.kind == 67).count()
}

fn dhcp(machine: Machine) {
    let d = disk("dhcp", machine);
    let (run, frames) = boot(machine, Some("user"), "net.probe /bin/hello", &d);
    let line = format!("io: net: {GUEST}/24 gw {GATEWAY} dns 10.0.2.3 (DHCP, {} {MAC})", card(machine));
    assert!(run.has_line_starting(&line), "no `{line}`\n{}", run.dump());
    assert_eq!(
        run.lines_containing("io: net: 10.").len(),
        1,
        "the address was announced more than once\n{}",
        run.dump()
    );
    assert!(dhcp_requests(&frames) >= 2, "no DHCP discover and request in the capture: {frames:#?}");
    assert_pinged(&run, &frames, GUEST);
    assert_fsck_clean(&d.path, "a boot with the network");
}

#[test]
fn dhcp_configures_the_card_on_microvm() {
    dhcp(Machine::Microvm);
}

#[test]
fn dhcp_configures_the_card_on_q35() {
    dhcp(Machine::Q35);
}

fn static_address(machine: Machine) {
    let d = disk("static", machine);
    let (run, frames) = boot(machine, Some("user"), "ip=10.0.2.20/24,10.0.2.2 dns=10.0.2.3 net.probe /bin/hello", &d);
    let line = format!("io: net: 10.0.2.20/24 gw {GATEWAY} dns 10.0.2.3 (static, {} {MAC})", card(machine));
    assert!(run.has_line_starting(&line), "no `{line}`\n{}", run.dump());
    assert!(run.lines_containing("(DHCP").is_empty(), "DHCP configured a static card\n{}", run.dump());
    assert_eq!(dhcp_requests(&frames), 0, "the guest asked DHCP although its address is static: {frames:#?}");
    assert_pinged(&run, &frames, Ipv4Addr::new(10, 0, 2, 20));
}

#[test]
fn ip_and_dns_options_give_a_static_address_on_microvm() {
    static_address(Machine::Microvm);
}

#[test]
fn ip_and_dns_options_give_a_static_address_on_q35() {
    static_address(Machine::Q35);
}

/// A 2 s lease is renewed every second; 5 s later the address still works.
#[test]
fn short_leases_are_renewed() {
    let d = disk("lease", Machine::Microvm);
    let (run, frames) = boot(Machine::Microvm, Some("user"), "net.lease=2 net.probe /bin/hello", &d);
    assert!(run.lines_containing("lease lost").is_empty(), "the lease ran out\n{}", run.dump());
    assert!(
        run.has_line_starting(&format!("io: net: probe: {GATEWAY} answered ping 100 in ")),
        "the second ping, after 2.5 leases, got no answer\n{}",
        run.dump()
    );
    // Discover and request, then a renewal about every second for 5 s.
    let n = dhcp_requests(&frames);
    assert!(n >= 5, "{n} DHCP requests: leases were not renewed: {frames:#?}");
}

#[test]
fn bad_network_options_are_reported_and_dhcp_used() {
    let d = disk("badopt", Machine::Microvm);
    let (run, _) = boot(
        Machine::Microvm,
        Some("user"),
        "ip=10.0.2.300/24 ip=10.0.2.20/24,10.0.3.1 dns=x net.nonsense /bin/hello",
        &d,
    );
    for opt in ["ip=10.0.2.300/24", "ip=10.0.2.20/24,10.0.3.1", "dns=x", "net.nonsense"] {
        assert!(run.has_line_starting(&format!("io: net: ignoring \"{opt}\"")), "{opt} not reported\n{}", run.dump());
    }
    assert!(run.has_line_starting(&format!("io: net: {GUEST}/24")), "{}", run.dump());
}

fn no_card(machine: Machine) {
    let d = disk("nocard", machine);
    let (run, _) = boot(machine, None, "net.probe /bin/hello", &d);
    assert!(run.lines_containing("io: net").is_empty(), "a net line without a card\n{}", run.dump());
}

#[test]
fn without_a_card_the_disk_works_as_before_on_microvm() {
    no_card(Machine::Microvm);
}

#[test]
fn without_a_card_the_disk_works_as_before_on_q35() {
    no_card(Machine::Q35);
}

/// A card whose frames go nowhere (a UDP socket netdev with no peer, on
/// the loopback): no DHCP answer ever comes, and the system must not wait
/// for one to run its program and power off.
#[test]
fn an_unanswered_card_does_not_hold_up_the_system() {
    let d = disk("silent", Machine::Microvm);
    let (run, frames) = boot(Machine::Microvm, Some("socket,udp=127.0.0.1:9,localaddr=127.0.0.1:0"), "/bin/hello", &d);
    assert!(run.lines_containing("io: net: 10.").is_empty(), "an address from nowhere\n{}", run.dump());
    assert!(dhcp_requests(&frames) >= 1, "the card sent no DHCP discover: {frames:#?}");
    assert!(run.elapsed < Duration::from_secs(30), "took {:?}", run.elapsed);
}
