//! Raw Ethernet frames for VM tests that play the guest's peer on the
//! wire themselves: QEMU's UDP socket netdev (`-netdev
//! socket,udp=...,localaddr=...`) carries each frame as one datagram, so
//! the test can send anything, broken frames included, and read every
//! frame the guest sends.
//!
//! [`Peer`] is a tiny host on that wire: it answers ARP, pings, and speaks
//! just enough TCP for one request and its answer (no retransmission
//! queue, no out-of-order data: a segment that is not the next is dropped
//! and the guest sends it again). The builders make well-formed headers
//! (checksums right) that a test then breaks on purpose.
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

pub const ETH_IPV4: u16 = 0x0800;
pub const ETH_ARP: u16 = 0x0806;
pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;

/// TCP flag bits (the low byte of the flags word; NS is bit 8).
pub mod tcp_flag {
    pub const FIN: u16 = 0x01;
    pub const SYN: u16 = 0x02;
    pub const RST: u16 = 0x04;
    pub const PSH: u16 = 0x08;
    pub const ACK: u16 = 0x10;
    pub const URG: u16 = 0x20;
    pub const ECE: u16 = 0x40;
    pub const CWR: u16 = 0x80;
    pub const NS: u16 = 0x100;
}

/// The Internet checksum (RFC 1071) of `parts` concatenated.
pub fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum = 0u32;
    let mut odd: Option<u8> = None;
    for p in parts {
        for &b in *p {
            match odd.take() {
                Some(hi) => sum += u32::from(u16::from_be_bytes([hi, b])),
                None => odd = Some(b),
            }
        }
    }
    if let Some(hi) = odd {
        sum += u32::from(u16::from_be_bytes([hi, 0]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The IPv4 pseudo header TCP and UDP checksums cover.
fn pseudo(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, len: usize) -> [u8; 12] {
    let mut p = [0u8; 12];
    p[..4].copy_from_slice(&src.octets());
    p[4..8].copy_from_slice(&dst.octets());
    p[9] = proto;
    p[10..].copy_from_slice(&(len as u16).to_be_bytes());
    p
}

pub fn ethernet(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An IPv4 header with options `opts` (a multiple of 4 bytes) and
/// fragment word `frag` (flags and offset), then `payload`; checksum right.
pub fn ipv4_with(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, opts: &[u8], frag: u16, payload: &[u8]) -> Vec<u8> {
    let hl = 20 + opts.len();
    let mut p = vec![0u8; hl];
    p[0] = 0x40 | (hl / 4) as u8;
    p[2..4].copy_from_slice(&((hl + payload.len()) as u16).to_be_bytes());
    p[4..6].copy_from_slice(&0x1234u16.to_be_bytes());
    p[6..8].copy_from_slice(&frag.to_be_bytes());
    p[8] = 64;
    p[9] = proto;
    p[12..16].copy_from_slice(&src.octets());
    p[16..20].copy_from_slice(&dst.octets());
    p[20..].copy_from_slice(opts);
    let c = checksum(&[&p]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, payload: &[u8]) -> Vec<u8> {
    ipv4_with(src, dst, proto, &[], 0x4000, payload)
}

/// Recomputes the IPv4 header checksum after a test changed the header.
pub fn fix_ipv4_checksum(ip: &mut [u8]) {
    let hl = (usize::from(ip[0] & 15) * 4).min(ip.len());
    ip[10..12].fill(0);
    let c = checksum(&[&ip[..hl]]);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
}

/// One TCP segment's header fields.
#[derive(Clone, Debug)]
pub struct Tcp {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    /// [`tcp_flag`] bits.
    pub flags: u16,
    pub window: u16,
    pub urgent: u16,
    /// Raw option bytes (padded to 4 with zeros by [`tcp`]).
    pub opts: Vec<u8>,
}

impl Tcp {
    pub fn new(sport: u16, dport: u16, seq: u32, ack: u32, flags: u16) -> Tcp {
        Tcp { sport, dport, seq, ack, flags, window: 65535, urgent: 0, opts: Vec::new() }
    }
}

/// A TCP segment (header, options, payload) with its checksum right.
pub fn tcp(src: Ipv4Addr, dst: Ipv4Addr, h: &Tcp, payload: &[u8]) -> Vec<u8> {
    let mut opts = h.opts.clone();
    while !opts.len().is_multiple_of(4) {
        opts.push(0);
    }
    let hl = 20 + opts.len();
    let mut s = vec![0u8; hl];
    s[0..2].copy_from_slice(&h.sport.to_be_bytes());
    s[2..4].copy_from_slice(&h.dport.to_be_bytes());
    s[4..8].copy_from_slice(&h.seq.to_be_bytes());
    s[8..12].copy_from_slice(&h.ack.to_be_bytes());
    s[12] = ((hl / 4) as u8) << 4 | (h.flags >> 8) as u8 & 1;
    s[13] = h.flags as u8;
    s[14..16].copy_from_slice(&h.window.to_be_bytes());
    s[18..20].copy_from_slice(&h.urgent.to_be_bytes());
    s[20..].copy_from_slice(&opts);
    s.extend_from_slice(payload);
    fix_l4_checksum(src, dst, PROTO_TCP, &mut s);
    s
}

pub fn udp(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut s = vec![0u8; 8];
    s[0..2].copy_from_slice(&sport.to_be_bytes());
    s[2..4].copy_from_slice(&dport.to_be_bytes());
    s[4..6].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    s.extend_from_slice(payload);
    fix_l4_checksum(src, dst, PROTO_UDP, &mut s);
    s
}

/// Recomputes a TCP or UDP checksum (over the whole of `seg`).
pub fn fix_l4_checksum(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, seg: &mut [u8]) {
    let at = if proto == PROTO_TCP { 16 } else { 6 };
    seg[at..at + 2].fill(0);
    let c = checksum(&[&pseudo(src, dst, proto, seg.len()), seg]);
    seg[at..at + 2].copy_from_slice(&c.to_be_bytes());
}

/// An ICMP echo request (type 8) or reply (0).
pub fn icmp_echo(kind: u8, id: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let mut m = vec![kind, 0, 0, 0];
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(data);
    let c = checksum(&[&m]);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    m
}

/// An ARP request (op 1) or reply (2) for Ethernet and IPv4.
pub fn arp(op: u16, sha: [u8; 6], spa: Ipv4Addr, tha: [u8; 6], tpa: Ipv4Addr) -> Vec<u8> {
    let mut a = vec![0, 1, 8, 0, 6, 4];
    a.extend_from_slice(&op.to_be_bytes());
    a.extend_from_slice(&sha);
    a.extend_from_slice(&spa.octets());
    a.extend_from_slice(&tha);
    a.extend_from_slice(&tpa.octets());
    a
}

/// What a test looks at in a frame from the guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// An ARP request: who has `target`?
    ArpRequest {
        target: Ipv4Addr,
        sender_mac: [u8; 6],
        sender: Ipv4Addr,
    },
    /// Another ARP frame.
    Arp,
    /// An ICMP echo reply to us.
    EchoReply {
        id: u16,
        seq: u16,
    },
    /// A TCP segment (with its IP addresses).
    Tcp {
        src: Ipv4Addr,
        dst: Ipv4Addr,
        h: TcpSeen,
        payload: Vec<u8>,
    },
    Other,
}

/// The TCP header fields the client needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpSeen {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u16,
}

/// Parses a frame the guest sent (well formed: it is the system under
/// test's output, and a frame we cannot read is `Other`).
pub fn parse(f: &[u8]) -> Seen {
    if f.len() < 14 {
        return Seen::Other;
    }
    let et = u16::from_be_bytes([f[12], f[13]]);
    let p = &f[14..];
    let v4 = |b: &[u8]| Ipv4Addr::new(b[0], b[1], b[2], b[3]);
    if et == ETH_ARP {
        if p.len() >= 28 && p[6..8] == [0, 1] {
            let mut sender_mac = [0u8; 6];
            sender_mac.copy_from_slice(&p[8..14]);
            return Seen::ArpRequest { target: v4(&p[24..28]), sender_mac, sender: v4(&p[14..18]) };
        }
        return Seen::Arp;
    }
    if et != ETH_IPV4 || p.len() < 20 {
        return Seen::Other;
    }
    let hl = usize::from(p[0] & 15) * 4;
    let total = usize::from(u16::from_be_bytes([p[2], p[3]])).min(p.len());
    if hl < 20 || total < hl {
        return Seen::Other;
    }
    let l4 = &p[hl..total];
    let (src, dst) = (v4(&p[12..16]), v4(&p[16..20]));
    match p[9] {
        PROTO_ICMP if l4.len() >= 8 && l4[0] == 0 => {
            Seen::EchoReply { id: u16::from_be_bytes([l4[4], l4[5]]), seq: u16::from_be_bytes([l4[6], l4[7]]) }
        }
        PROTO_TCP if l4.len() >= 20 => {
            let off = (usize::from(l4[12] >> 4) * 4).clamp(20, l4.len());
            let h = TcpSeen {
                sport: u16::from_be_bytes([l4[0], l4[1]]),
                dport: u16::from_be_bytes([l4[2], l4[3]]),
                seq: u32::from_be_bytes([l4[4], l4[5], l4[6], l4[7]]),
                ack: u32::from_be_bytes([l4[8], l4[9], l4[10], l4[11]]),
                flags: u16::from(l4[12] & 1) << 8 | u16::from(l4[13]),
            };
            Seen::Tcp { src, dst, h, payload: l4[off..].to_vec() }
        }
        _ => Seen::Other,
    }
}

/// A small deterministic generator (xorshift64*), so a failing run can be
/// replayed from its printed seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// The host end of the wire: one UDP socket that QEMU's socket netdev
/// exchanges frames with, and the addresses of both ends.
pub struct Peer {
    sock: UdpSocket,
    pub mac: [u8; 6],
    pub ip: Ipv4Addr,
    pub guest_mac: [u8; 6],
    pub guest_ip: Ipv4Addr,
    /// Frames sent and received, for the report.
    pub sent: u64,
    pub received: u64,
    next_port: u16,
    next_ping: u16,
}

/// Why the guest did not serve.
pub type PeerResult<T> = Result<T, String>;

impl Peer {
    /// Binds 127.0.0.1:`port` (0: any) and sends to QEMU's end at `qemu`.
    pub fn bind(port: u16, qemu: SocketAddr, ip: Ipv4Addr, guest_ip: Ipv4Addr) -> Peer {
        let sock = UdpSocket::bind(("127.0.0.1", port)).expect("bind the peer's UDP socket");
        sock.connect(qemu).expect("connect the peer's UDP socket");
        Peer {
            sock,
            mac: [0x02, 0, 0, 0, 0, 1],
            ip,
            guest_mac: [0x52, 0x54, 0, 0x12, 0x34, 0x56],
            guest_ip,
            sent: 0,
            received: 0,
            next_port: 40000,
            next_ping: 1,
        }
    }

    /// A peer on a free port of the host's loopback, for a QEMU socket
    /// netdev on another free one ([`netdev`](Self::netdev)).
    pub fn for_qemu(ip: Ipv4Addr, guest_ip: Ipv4Addr) -> Peer {
        let free = UdpSocket::bind("127.0.0.1:0").expect("bind an ephemeral port");
        let qemu = free.local_addr().expect("local_addr");
        // Free again for QEMU to bind.
        drop(free);
        Peer::bind(0, qemu, ip, guest_ip)
    }

    pub fn local_port(&self) -> u16 {
        self.sock.local_addr().expect("local_addr").port()
    }

    /// The `-netdev` that makes QEMU's end of this wire (without its id).
    pub fn netdev(&self) -> String {
        let qemu = self.sock.peer_addr().expect("peer_addr");
        format!("socket,udp=127.0.0.1:{},localaddr={qemu}", self.local_port())
    }

    /// Sends one frame as it is (whatever it holds).
    pub fn send_raw(&mut self, frame: &[u8]) {
        // A datagram QEMU cannot take is dropped by the host, which is
        // what a lossy wire does too.
        let _ = self.sock.send(frame);
        self.sent += 1;
    }

    /// Sends an IPv4 packet from us to the guest in an Ethernet frame.
    pub fn send_ip(&mut self, packet: &[u8]) {
        let f = ethernet(self.guest_mac, self.mac, ETH_IPV4, packet);
        self.send_raw(&f);
    }

    /// A TCP segment from `src` to the guest, checksums right.
    pub fn send_tcp_from(&mut self, src: Ipv4Addr, h: &Tcp, payload: &[u8]) {
        let seg = tcp(src, self.guest_ip, h, payload);
        let p = ipv4(src, self.guest_ip, PROTO_TCP, &seg);
        self.send_ip(&p);
    }

    pub fn send_tcp(&mut self, h: &Tcp, payload: &[u8]) {
        self.send_tcp_from(self.ip, h, payload);
    }

    /// The next frame from the guest before `deadline`; ARP requests for
    /// our address are answered here and not returned.
    pub fn recv(&mut self, deadline: Instant) -> Option<Seen> {
        let mut buf = vec![0u8; 70_000];
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            self.sock.set_read_timeout(Some(left.max(Duration::from_millis(1)))).expect("set_read_timeout");
            let n = match self.sock.recv(&mut buf) {
                Ok(n) => n,
                Err(_) => continue,
            };
            self.received += 1;
            match parse(&buf[..n]) {
                Seen::ArpRequest { target, sender_mac, sender } if target == self.ip => {
                    let a = arp(2, self.mac, self.ip, sender_mac, sender);
                    let f = ethernet(sender_mac, self.mac, ETH_ARP, &a);
                    self.send_raw(&f);
                }
                s => return Some(s),
            }
        }
    }

    /// Reads (and answers ARP) for `d`, dropping everything else.
    pub fn drain(&mut self, d: Duration) {
        let end = Instant::now() + d;
        while self.recv(end).is_some() {}
    }

    /// Tells the guest our address (an ARP request for its own), and waits
    /// for its answer: then both sides know each other.
    pub fn introduce(&mut self, within: Duration) -> PeerResult<()> {
        let end = Instant::now() + within;
        while Instant::now() < end {
            let a = arp(1, self.mac, self.ip, [0; 6], self.guest_ip);
            let f = ethernet([0xff; 6], self.mac, ETH_ARP, &a);
            self.send_raw(&f);
            let step = (Instant::now() + Duration::from_millis(300)).min(end);
            while let Some(s) = self.recv(step) {
                if s == Seen::Arp {
                    return Ok(());
                }
            }
        }
        Err(format!("no ARP answer from {} in {within:?}", self.guest_ip))
    }

    /// One ICMP echo round trip (a few tries, 300 ms apart).
    pub fn ping(&mut self, within: Duration) -> PeerResult<Duration> {
        let t = Instant::now();
        let end = t + within;
        let seq = self.next_ping;
        self.next_ping = self.next_ping.wrapping_add(1);
        while Instant::now() < end {
            let m = icmp_echo(8, 0x7e57, seq, b"are you there?");
            let p = ipv4(self.ip, self.guest_ip, PROTO_ICMP, &m);
            self.send_ip(&p);
            let step = (Instant::now() + Duration::from_millis(300)).min(end);
            while let Some(s) = self.recv(step) {
                if s == (Seen::EchoReply { id: 0x7e57, seq }) {
                    return Ok(t.elapsed());
                }
            }
        }
        Err(format!("no echo reply from {} in {within:?}", self.guest_ip))
    }

    /// A fresh source port for a connection of ours.
    pub fn port(&mut self) -> u16 {
        self.next_port = if self.next_port >= 60000 { 40000 } else { self.next_port + 1 };
        self.next_port
    }

    /// A real handshake with the guest's `port` (SYN with `opts`, SYN-ACK,
    /// ACK), the SYN again every 500 ms until answered.
    pub fn connect(&mut self, port: u16, opts: &[u8], within: Duration) -> PeerResult<Conn> {
        use tcp_flag::*;
        let end = Instant::now() + within;
        let sport = self.port();
        let iss: u32 = 0x9e37_79b9u32.wrapping_mul(u32::from(sport)) ^ 0x5eed;
        let mut syn = Tcp::new(sport, port, iss, 0, SYN);
        syn.opts = opts.to_vec();
        loop {
            if Instant::now() >= end {
                return Err(format!("no SYN-ACK from port {port} in {within:?}"));
            }
            self.send_tcp(&syn, &[]);
            let step = (Instant::now() + Duration::from_millis(500)).min(end);
            while let Some(s) = self.recv(step) {
                let Seen::Tcp { h, .. } = s else { continue };
                if h.dport != sport || h.sport != port {
                    continue;
                }
                if h.flags & RST != 0 {
                    return Err(format!("port {port} reset our SYN"));
                }
                if h.flags & (SYN | ACK) == SYN | ACK && h.ack == iss.wrapping_add(1) {
                    let c = Conn { sport, port, snd: iss.wrapping_add(1), rcv: h.seq.wrapping_add(1) };
                    self.send_tcp(&c.header(ACK), &[]);
                    return Ok(c);
                }
            }
        }
    }

    /// On connection `c`: sends `request` (again every 500 ms until the
    /// guest acknowledges it), then reads everything the guest sends until
    /// its FIN, which we answer with ours. Returns the bytes received.
    pub fn exchange(&mut self, c: &mut Conn, request: &[u8], within: Duration) -> PeerResult<Vec<u8>> {
        use tcp_flag::*;
        let end = Instant::now() + within;
        let port = c.port;
        let mut got = Vec::new();
        let mut acked = request.is_empty();
        let mut fin = false;
        let mut last_send = Instant::now() - Duration::from_secs(1);
        let after = c.snd.wrapping_add(request.len() as u32);
        while !fin {
            if Instant::now() >= end {
                let text = String::from_utf8_lossy(&got);
                return Err(format!("the exchange with port {port} did not end in {within:?} (got {text:?})"));
            }
            if !acked && last_send.elapsed() >= Duration::from_millis(500) {
                self.send_tcp(&c.header(ACK | PSH), request);
                last_send = Instant::now();
            }
            let step = (Instant::now() + Duration::from_millis(100)).min(end);
            let Some(Seen::Tcp { h, payload, .. }) = self.recv(step) else { continue };
            if h.dport != c.sport || h.sport != port {
                continue;
            }
            if h.flags & RST != 0 {
                return Err(format!("port {port} reset the connection after {} bytes", got.len()));
            }
            if !acked && h.flags & ACK != 0 && h.ack == after {
                acked = true;
                c.snd = after;
            }
            if h.seq == c.rcv {
                got.extend_from_slice(&payload);
                c.rcv = c.rcv.wrapping_add(payload.len() as u32);
                if h.flags & FIN != 0 {
                    c.rcv = c.rcv.wrapping_add(1);
                    fin = true;
                }
            }
            if !payload.is_empty() || h.flags & FIN != 0 {
                self.send_tcp(&c.header(ACK), &[]);
            }
        }
        // Our FIN (the guest's last ACK is not waited for).
        self.send_tcp(&c.header(FIN | ACK), &[]);
        c.snd = c.snd.wrapping_add(1);
        Ok(got)
    }

    /// [`connect`](Self::connect) (MSS 1460) and [`exchange`](Self::exchange).
    pub fn tcp_exchange(&mut self, port: u16, request: &[u8], within: Duration) -> PeerResult<Vec<u8>> {
        let end = Instant::now() + within;
        let mut c = self.connect(port, &[2, 4, 0x05, 0xb4], within)?;
        self.exchange(&mut c, request, end.saturating_duration_since(Instant::now()))
    }
}

/// Our side of one TCP connection.
#[derive(Clone, Copy, Debug)]
pub struct Conn {
    pub sport: u16,
    pub port: u16,
    /// The next sequence number we send, and the next we expect.
    pub snd: u32,
    pub rcv: u32,
}

impl Conn {
    /// A header on this connection, at our next sequence number.
    pub fn header(&self, flags: u16) -> Tcp {
        Tcp::new(self.sport, self.port, self.snd, self.rcv, flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_rfc_1071_and_verifies_to_zero() {
        // RFC 1071's example: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2.
        assert_eq!(checksum(&[&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]]), !0xddf2);
        // Split at an odd byte, the same sum.
        assert_eq!(checksum(&[&[0x00, 0x01, 0xf2], &[0x03, 0xf4, 0xf5, 0xf6, 0xf7]]), !0xddf2);
        let ip = ipv4(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2), PROTO_ICMP, &[]);
        assert_eq!(checksum(&[&ip]), 0);
    }

    #[test]
    fn built_segments_parse_back() {
        let (a, b) = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
        let mut h = Tcp::new(1234, 80, 7, 9, tcp_flag::SYN | tcp_flag::NS);
        h.opts = vec![2, 4, 5, 0xb4, 1];
        let seg = tcp(a, b, &h, b"hi");
        assert_eq!(checksum(&[&pseudo(a, b, PROTO_TCP, seg.len()), &seg]), 0);
        let f = ethernet([1; 6], [2; 6], ETH_IPV4, &ipv4(a, b, PROTO_TCP, &seg));
        let want = TcpSeen { sport: 1234, dport: 80, seq: 7, ack: 9, flags: tcp_flag::SYN | tcp_flag::NS };
        assert_eq!(parse(&f), Seen::Tcp { src: a, dst: b, h: want, payload: b"hi".to_vec() });
        let d = udp(a, b, 1, 2, b"odd");
        assert_eq!(checksum(&[&pseudo(a, b, PROTO_UDP, d.len()), &d]), 0);
        let e = ethernet([1; 6], [2; 6], ETH_IPV4, &ipv4(b, a, PROTO_ICMP, &icmp_echo(0, 5, 6, b"x")));
        assert_eq!(parse(&e), Seen::EchoReply { id: 5, seq: 6 });
        for cut in 0..f.len() {
            let _ = parse(&f[..cut]);
        }
    }
}
