//! `net.probe`: once the interface has an address, ping the gateway (up to
//! 5 echo requests, 1 s apart) and say on the console whether it answered:
//! proof that frames flow both ways through the card (ARP, IPv4, ICMP).
//! QEMU user networking answers pings to its gateway itself, so nothing
//! leaves the host. With `net.lease=S` it pings again after 2.5 S, when the
//! first lease would long have run out had it not been renewed.
//!
//! It runs on a thread of its own and reaches the stack only through
//! [`NetHandle::call`], as the socket protocol will: a test of that path.
use super::stack::NetStack;
use super::thread::NetHandle;
use alloc::vec;
use core::net::Ipv4Addr;
use smoltcp::iface::SocketHandle;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::socket::icmp;
use smoltcp::wire::{Icmpv4Packet, Icmpv4Repr, IpAddress};
use vireo_rt::{println, sys};

const IDENT: u16 = 0x7669;
const PAYLOAD: &[u8] = b"vireo net.probe";
const TRIES: u16 = 5;
/// Pings in the burst after the first answer: more than either ring holds,
/// so every receive and transmit buffer is used and recycled.
const BURST: u16 = 300;
const WAIT_NS: u64 = 1_000_000_000;
/// How long the probe waits for an address (DHCP under TCG is quick).
const ADDRESS_NS: u64 = 30_000_000_000;
/// How often it looks at the socket while waiting.
const LOOK_NS: u64 = 5_000_000;

/// Every `call` is None once the net thread is gone (the card did not
/// start; it said why): then the probe just ends.
pub fn run(net: NetHandle, lease_s: Option<u64>) {
    let start = sys::now_ns();
    let gateway = loop {
        let Some(c) = net.call(|s| s.config().clone()) else { return };
        if c.cidr.is_some() {
            break c.gateway;
        }
        if sys::now_ns() - start > ADDRESS_NS {
            println!("io: net: probe: no address after 30 s");
            return;
        }
        let _ = sys::sleep(10 * LOOK_NS);
    };
    let Some(target) = gateway else {
        println!("io: net: probe: no gateway to ping");
        return;
    };
    let Some(h) = net.call(|s| {
        let h = s.add_socket(icmp::Socket::new(buffer(), buffer()));
        // A fresh socket on an identifier nothing else uses: cannot fail.
        let _ = s.socket::<icmp::Socket>(h).bind(icmp::Endpoint::Ident(IDENT));
        h
    }) else {
        return;
    };
    if ping(&net, h, target, 1, "") {
        burst(&net, h, target);
        if let Some(l) = lease_s {
            let _ = sys::sleep(l.saturating_mul(2_500_000_000));
            ping(&net, h, target, 100, " (after 2.5 leases)");
        }
    }
    net.call(move |s| s.remove_socket(h));
}

/// [`BURST`] pings one after the other, each answered before the next,
/// then what the net thread spent on them (docs/network.md, "Cost").
fn burst(net: &NetHandle, h: SocketHandle, target: Ipv4Addr) {
    let Some(before) = net.call(|s| s.stats()) else { return };
    let start = sys::now_ns();
    let mut got = 0;
    for seq in 1000..1000 + BURST {
        net.call(move |s| send_echo(s, h, target, seq));
        let sent = sys::now_ns();
        while sys::now_ns() - sent < WAIT_NS {
            if net.call(move |s| answered(s, h, target, seq)) == Some(true) {
                got += 1;
                break;
            }
            let _ = sys::sleep(1_000_000);
        }
    }
    let ms = (sys::now_ns() - start) / 1_000_000;
    let Some(after) = net.call(|s| s.stats()) else { return };
    let (polls, tsc) = (after.polls - before.polls, after.poll_tsc - before.poll_tsc);
    let (rx, tx) = (after.rx_frames - before.rx_frames, after.tx_frames - before.tx_frames);
    println!(
        "io: net: probe: {got} of {BURST} pings answered in {ms} ms; net thread: {polls} polls, {rx} frames in, \
         {tx} out, {tsc} TSC in polls ({} per frame)",
        tsc / (rx + tx).max(1)
    );
}

/// Up to [`TRIES`] echo requests from `first_seq` on; true if one was answered.
fn ping(net: &NetHandle, h: SocketHandle, target: Ipv4Addr, first_seq: u16, note: &str) -> bool {
    for seq in first_seq..first_seq + TRIES {
        let sent = sys::now_ns();
        net.call(move |s| send_echo(s, h, target, seq));
        while sys::now_ns() - sent < WAIT_NS {
            if net.call(move |s| answered(s, h, target, seq)) == Some(true) {
                let us = (sys::now_ns() - sent) / 1000;
                println!("io: net: probe: {target} answered ping {seq} in {us} us{note}");
                return true;
            }
            let _ = sys::sleep(LOOK_NS);
        }
    }
    println!("io: net: probe: no answer from {target} to {TRIES} pings{note}");
    false
}

fn send_echo(s: &mut NetStack, h: SocketHandle, target: Ipv4Addr, seq: u16) {
    let repr = Icmpv4Repr::EchoRequest { ident: IDENT, seq_no: seq, data: PAYLOAD };
    // A full queue only loses this try; the next one repeats it.
    if let Ok(buf) = s.socket::<icmp::Socket>(h).send(repr.buffer_len(), IpAddress::Ipv4(target)) {
        repr.emit(&mut Icmpv4Packet::new_unchecked(buf), &ChecksumCapabilities::default());
    }
}

/// Whether an echo reply to `seq` from `target` is in the socket.
fn answered(s: &mut NetStack, h: SocketHandle, target: Ipv4Addr, seq: u16) -> bool {
    let sock = s.socket::<icmp::Socket>(h);
    let mut found = false;
    while let Ok((data, from)) = sock.recv() {
        let Ok(pkt) = Icmpv4Packet::new_checked(data) else { continue };
        if let Ok(Icmpv4Repr::EchoReply { ident: IDENT, seq_no, data }) =
            Icmpv4Repr::parse(&pkt, &ChecksumCapabilities::default())
        {
            found |= seq_no == seq && data == PAYLOAD && from == IpAddress::Ipv4(target);
        }
    }
    found
}

fn buffer() -> icmp::PacketBuffer<'static> {
    icmp::PacketBuffer::new(vec![icmp::PacketMetadata::EMPTY; 4], vec![0; 256])
}
