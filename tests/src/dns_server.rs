//! A small DNS server for VM tests: UDP and TCP on one ephemeral port of
//! 127.0.0.1 (the guest reaches it at 10.0.2.2:PORT through QEMU user
//! networking), answering A queries from a fixed zone, counting every
//! query by name and transport so a test can tell a cached answer from a
//! fresh one. [`Silent`] is its opposite: a UDP port that takes queries
//! and never answers (a dead server to fail over from).
//!
//! Written here with std only, independently of the guest's `vireo-dns`,
//! so the resolver is checked against a second reading of RFC 1035.
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the server says about one name.
#[derive(Clone, Debug)]
pub enum Record {
    /// A records with one TTL.
    A(Vec<Ipv4Addr>, u32),
    /// A CNAME (the target's records follow in the same answer, as a
    /// recursive server gives them).
    Cname(String, u32),
    /// NXDOMAIN with an SOA whose MINIMUM is this.
    NxDomain(u32),
    /// SERVFAIL.
    ServFail,
    /// Over UDP an empty answer with TC set; over TCP these A records.
    Truncated(Vec<Ipv4Addr>, u32),
}

/// Queries seen: (lowercase name, "udp" or "tcp") → count.
pub type Counts = Arc<Mutex<HashMap<(String, &'static str), u32>>>;

pub struct DnsServer {
    pub port: u16,
    pub counts: Counts,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl DnsServer {
    /// Starts serving `zone` (lowercase names without the final dot).
    pub fn start(zone: HashMap<String, Record>) -> DnsServer {
        let (udp, tcp) = bind_pair();
        let port = udp.local_addr().expect("local address").port();
        let zone = Arc::new(zone);
        let counts: Counts = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        udp.set_read_timeout(Some(Duration::from_millis(100))).expect("timeout");
        tcp.set_nonblocking(true).expect("nonblocking");
        let (z, c, s) = (zone.clone(), counts.clone(), stop.clone());
        let t1 = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !s.load(Ordering::Relaxed) {
                let Ok((n, from)) = udp.recv_from(&mut buf) else { continue };
                if let Some(reply) = answer(&buf[..n], &z, &c, false) {
                    let _ = udp.send_to(&reply, from);
                }
            }
        });
        let (z, c, s) = (zone, counts.clone(), stop.clone());
        let t2 = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match tcp.accept() {
                    Ok((conn, _)) => serve_tcp(conn, &z, &c),
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        DnsServer { port, counts, stop, threads: vec![t1, t2] }
    }

    /// Queries for `name` over `proto` ("udp" or "tcp") so far.
    pub fn count(&self, name: &str, proto: &'static str) -> u32 {
        self.counts.lock().unwrap_or_else(|e| e.into_inner()).get(&(name.to_string(), proto)).copied().unwrap_or(0)
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// A UDP port that reads queries and never answers; counts them.
pub struct Silent {
    pub port: u16,
    pub queries: Arc<Mutex<u32>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Silent {
    pub fn start() -> Silent {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP port");
        udp.set_read_timeout(Some(Duration::from_millis(100))).expect("timeout");
        let port = udp.local_addr().expect("local address").port();
        let (queries, stop) = (Arc::new(Mutex::new(0)), Arc::new(AtomicBool::new(false)));
        let (q, s) = (queries.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !s.load(Ordering::Relaxed) {
                if udp.recv_from(&mut buf).is_ok() {
                    *q.lock().unwrap_or_else(|e| e.into_inner()) += 1;
                }
            }
        });
        Silent { port, queries, stop, thread: Some(thread) }
    }

    pub fn queries(&self) -> u32 {
        *self.queries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A UDP socket and a TCP listener on the same ephemeral port.
fn bind_pair() -> (UdpSocket, TcpListener) {
    for _ in 0..20 {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP port");
        let port = udp.local_addr().expect("local address").port();
        if let Ok(tcp) = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))) {
            return (udp, tcp);
        }
    }
    panic!("no port free for both UDP and TCP");
}

fn serve_tcp(mut conn: TcpStream, zone: &HashMap<String, Record>, counts: &Counts) {
    let _ = conn.set_nonblocking(false);
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut len = [0u8; 2];
    if conn.read_exact(&mut len).is_err() {
        return;
    }
    let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
    if conn.read_exact(&mut msg).is_err() {
        return;
    }
    if let Some(reply) = answer(&msg, zone, counts, true) {
        let mut out = (reply.len() as u16).to_be_bytes().to_vec();
        out.extend_from_slice(&reply);
        let _ = conn.write_all(&out);
    }
}

/// The question of a query: its name (lowercase, dotted), type, and where
/// the question ends.
fn question(q: &[u8]) -> Option<(String, u16, usize)> {
    if q.len() < 12 || u16::from_be_bytes([q[4], q[5]]) != 1 {
        return None;
    }
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*q.get(at)?);
        if len == 0 {
            at += 1;
            break;
        }
        if len > 63 {
            return None;
        }
        labels.push(String::from_utf8_lossy(q.get(at + 1..at + 1 + len)?).to_ascii_lowercase());
        at += 1 + len;
    }
    let qtype = u16::from_be_bytes([*q.get(at)?, *q.get(at + 1)?]);
    Some((labels.join("."), qtype, at + 4))
}

fn put_name(out: &mut Vec<u8>, name: &str) {
    for l in name.split('.') {
        out.push(l.len() as u8);
        out.extend_from_slice(l.as_bytes());
    }
    out.push(0);
}

fn put_rr(out: &mut Vec<u8>, owner: &str, rtype: u16, ttl: u32, data: &[u8]) {
    put_name(out, owner);
    out.extend_from_slice(&rtype.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&ttl.to_be_bytes());
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(data);
}

/// The reply to query `q`, or None for something that is not a query.
fn answer(q: &[u8], zone: &HashMap<String, Record>, counts: &Counts, tcp: bool) -> Option<Vec<u8>> {
    let (name, qtype, qend) = question(q)?;
    *counts
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry((name.clone(), if tcp { "tcp" } else { "udp" }))
        .or_default() += 1;
    let mut rcode = 0u16;
    let mut tc = false;
    let (mut answers, mut authority) = (Vec::new(), Vec::new());
    let (mut an, mut ns) = (0u16, 0u16);
    let mut current = name.clone();
    // Follows CNAMEs within the zone, as a recursive server would.
    for _ in 0..10 {
        match zone.get(&current) {
            None => {
                rcode = 3;
                break;
            }
            Some(Record::NxDomain(min)) => {
                rcode = 3;
                let mut soa = Vec::new();
                put_name(&mut soa, "ns.test");
                put_name(&mut soa, "admin.test");
                for v in [1u32, 3600, 600, 86400, *min] {
                    soa.extend_from_slice(&v.to_be_bytes());
                }
                put_rr(&mut authority, "test", 6, 3600, &soa);
                ns = 1;
                break;
            }
            Some(Record::ServFail) => {
                rcode = 2;
                break;
            }
            Some(Record::Cname(target, ttl)) => {
                let mut d = Vec::new();
                put_name(&mut d, target);
                put_rr(&mut answers, &current, 5, *ttl, &d);
                an += 1;
                current = target.clone();
            }
            Some(Record::A(addrs, ttl)) => {
                if qtype == 1 {
                    for a in addrs {
                        put_rr(&mut answers, &current, 1, *ttl, &a.octets());
                        an += 1;
                    }
                }
                break;
            }
            Some(Record::Truncated(addrs, ttl)) => {
                if !tcp {
                    tc = true;
                } else {
                    for a in addrs {
                        put_rr(&mut answers, &current, 1, *ttl, &a.octets());
                        an += 1;
                    }
                }
                break;
            }
        }
    }
    // QR, opcode 0, AA, TC, RD copied, RA.
    let flags = 0x8480 | (u16::from_be_bytes([q[2], q[3]]) & 0x0100) | if tc { 0x0200 } else { 0 } | rcode;
    let mut out = Vec::new();
    out.extend_from_slice(&q[..2]);
    out.extend_from_slice(&flags.to_be_bytes());
    for c in [1u16, an, ns, 0] {
        out.extend_from_slice(&c.to_be_bytes());
    }
    out.extend_from_slice(&q[12..qend]);
    out.extend_from_slice(&answers);
    out.extend_from_slice(&authority);
    Some(out)
}
