//! `/bin/net-suite`: proves std::net end to end through the std API only
//! (the same source runs on a Linux host), against servers the VM test runs
//! on the host behind QEMU user networking (the host's loopback is
//! 10.0.2.2 from the guest; `hostfwd` brings host connections in).
//!
//! Modes:
//! - `client ECHO_PORT CLOSED_PORT UDP_PORT`: each check prints
//!   `net-suite: ok NAME` or `net-suite: FAIL NAME: detail`. ECHO_PORT is a
//!   host TCP echo server, CLOSED_PORT a host port nobody listens on,
//!   UDP_PORT a host UDP echo server.
//! - `echo PORT N [UDP_PORT]`: a TCP echo server on PORT for N connections
//!   (one thread each; prints `net-suite: listening PORT` first); with
//!   UDP_PORT, also answers one datagram there (`ack:` + what came).
//! - `all ECHO_PORT CLOSED_PORT UDP_PORT LISTEN_PORT N LOCAL_UDP`: `client`,
//!   then `echo`.
//!
//! Exit status 0 only if every check passed. Every wait is bounded.
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

const HOST: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
/// The longest any single wait may take.
const PATIENCE: Duration = Duration::from_secs(20);

type Check = Result<String, String>;

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}

fn e<T: std::fmt::Debug>(what: &str) -> impl FnOnce(T) -> String + '_ {
    move |err| format!("{what}: {err:?}")
}

struct Suite {
    failed: Vec<&'static str>,
}

impl Suite {
    fn check(&mut self, name: &'static str, f: impl FnOnce() -> Check) {
        let t = Instant::now();
        match f() {
            Ok(detail) => println!("net-suite: ok {name} ({} ms) {detail}", t.elapsed().as_millis()),
            Err(why) => {
                println!("net-suite: FAIL {name}: {why}");
                self.failed.push(name);
            }
        }
    }
}

fn host(port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(HOST, port))
}

fn connect(port: u16) -> Result<TcpStream, String> {
    let s = TcpStream::connect_timeout(&host(port), PATIENCE).map_err(e("connect"))?;
    s.set_read_timeout(Some(PATIENCE)).map_err(e("set_read_timeout"))?;
    s.set_write_timeout(Some(PATIENCE)).map_err(e("set_write_timeout"))?;
    Ok(s)
}

/// A byte pattern that catches reordering and loss.
fn pattern(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

fn echo_small(port: u16) -> Check {
    let mut s = connect(port)?;
    s.write_all(b"hello, vireo").map_err(e("write"))?;
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).map_err(e("read"))?;
    ensure!(&buf == b"hello, vireo", "echo was {buf:?}");
    let local = s.local_addr().map_err(e("local_addr"))?;
    let peer = s.peer_addr().map_err(e("peer_addr"))?;
    ensure!(peer == host(port), "peer_addr {peer}");
    ensure!(local.ip() == Ipv4Addr::new(10, 0, 2, 15) && local.port() != 0, "local_addr {local}");
    s.set_nodelay(true).map_err(e("set_nodelay"))?;
    ensure!(s.nodelay().map_err(e("nodelay"))?, "nodelay not set");
    s.set_ttl(77).map_err(e("set_ttl"))?;
    ensure!(s.ttl().map_err(e("ttl"))? == 77, "ttl not kept");
    // Small round trips (wall clock, TCG: a rough figure).
    const TRIPS: u32 = 200;
    let t = Instant::now();
    let mut b = [0u8; 1];
    for i in 0..TRIPS {
        s.write_all(&[i as u8]).map_err(e("write"))?;
        s.read_exact(&mut b).map_err(e("read"))?;
        ensure!(b[0] == i as u8, "round trip {i} echoed {}", b[0]);
    }
    let us = t.elapsed().as_micros() / u128::from(TRIPS);
    Ok(format!("{local} -> {peer}, {us} us per 1-byte round trip"))
}

/// 1 MiB each way at once: a writer thread on a `try_clone`, the reader here.
fn bulk(port: u16) -> Check {
    const N: usize = 1 << 20;
    let s = connect(port)?;
    let mut w = s.try_clone().map_err(e("try_clone"))?;
    let data = pattern(N, 7);
    let sum = fnv(&data);
    let t = Instant::now();
    let writer = std::thread::spawn(move || -> Result<(), String> {
        for c in data.chunks(24 * 1024) {
            w.write_all(c).map_err(e("write"))?;
        }
        w.shutdown(Shutdown::Write).map_err(e("shutdown"))
    });
    let mut got = Vec::with_capacity(N);
    let mut r = s;
    r.read_to_end(&mut got).map_err(e("read_to_end"))?;
    writer.join().map_err(|_| "writer panicked".to_string())??;
    ensure!(got.len() == N, "{} bytes came back, not {N}", got.len());
    ensure!(fnv(&got) == sum, "checksum differs");
    let ms = t.elapsed().as_millis().max(1);
    Ok(format!("2 MiB moved in {ms} ms ({} KiB/s)", 2 * 1024 * 1000 / ms))
}

fn refused(closed: u16) -> Check {
    match TcpStream::connect_timeout(&host(closed), PATIENCE) {
        Ok(_) => Err("connected to a closed port".into()),
        // std 1.96 on this target has no ConnectionRefused (docs/network.md).
        Err(err) if err.kind() == ErrorKind::NotConnected || err.kind() == ErrorKind::ConnectionRefused => {
            Ok(format!("{:?}", err.kind()))
        }
        Err(err) => Err(format!("expected refused, got {err:?}")),
    }
}

fn read_timeout(port: u16) -> Check {
    let mut s = connect(port)?;
    s.set_read_timeout(Some(Duration::from_millis(300))).map_err(e("set_read_timeout"))?;
    let t = Instant::now();
    let mut b = [0u8; 8];
    match s.read(&mut b) {
        Ok(n) => Err(format!("read {n} bytes from a silent peer")),
        Err(err) if matches!(err.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => {
            let ms = t.elapsed().as_millis();
            ensure!((250..10_000).contains(&ms), "fired after {ms} ms");
            Ok(format!("{:?} after {ms} ms", err.kind()))
        }
        Err(err) => Err(format!("{err:?}")),
    }
}

fn nonblocking(port: u16) -> Check {
    let mut s = connect(port)?;
    s.set_nonblocking(true).map_err(e("set_nonblocking"))?;
    let mut b = [0u8; 8];
    match s.read(&mut b) {
        Err(err) if err.kind() == ErrorKind::WouldBlock => {}
        other => return Err(format!("read on an empty socket: {other:?}")),
    }
    s.write_all(b"ping").map_err(e("write"))?;
    let t = Instant::now();
    let mut got = Vec::new();
    while got.len() < 4 && t.elapsed() < PATIENCE {
        match s.read(&mut b) {
            Ok(0) => return Err("end of stream".into()),
            Ok(n) => got.extend_from_slice(&b[..n]),
            Err(err) if err.kind() == ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(5)),
            Err(err) => return Err(format!("{err:?}")),
        }
    }
    ensure!(got == b"ping", "got {got:?}");
    let l = TcpListener::bind("0.0.0.0:0").map_err(e("bind"))?;
    l.set_nonblocking(true).map_err(e("listener nonblocking"))?;
    match l.accept() {
        Err(err) if err.kind() == ErrorKind::WouldBlock => Ok("read and accept said WouldBlock".into()),
        other => Err(format!("accept with nothing pending: {other:?}")),
    }
}

fn shutdown(port: u16) -> Check {
    let mut s = connect(port)?;
    s.write_all(b"last words").map_err(e("write"))?;
    s.shutdown(Shutdown::Write).map_err(e("shutdown"))?;
    let mut got = Vec::new();
    s.read_to_end(&mut got).map_err(e("read_to_end"))?;
    ensure!(got == b"last words", "got {got:?}");
    match s.write(b"x") {
        Ok(n) => Err(format!("wrote {n} after shutdown")),
        Err(_) => Ok("echo then end of stream; write refused".into()),
    }
}

/// 100 connections open at once, each used.
fn many(port: u16) -> Check {
    let mut socks = Vec::new();
    for i in 0..100 {
        socks.push(connect(port).map_err(|err| format!("connection {i}: {err}"))?);
    }
    for (i, s) in socks.iter_mut().enumerate() {
        s.write_all(&[i as u8]).map_err(e("write"))?;
    }
    for (i, s) in socks.iter_mut().enumerate() {
        let mut b = [0u8; 1];
        s.read_exact(&mut b).map_err(e("read"))?;
        ensure!(b[0] == i as u8, "connection {i} echoed {}", b[0]);
    }
    Ok("100 connections".into())
}

fn listener_basics() -> Check {
    let l = TcpListener::bind("0.0.0.0:0").map_err(e("bind"))?;
    let a = l.local_addr().map_err(e("local_addr"))?;
    ensure!(a.port() != 0, "port 0 after bind");
    match TcpListener::bind(("0.0.0.0", a.port())) {
        Ok(_) => return Err(format!("bound {} twice", a.port())),
        Err(err) if err.kind() == ErrorKind::AddrInUse || err.kind() == ErrorKind::AlreadyExists => {}
        Err(err) => return Err(format!("second bind: {err:?}")),
    }
    match TcpListener::bind("[::]:0") {
        Err(err) if err.kind() == ErrorKind::Unsupported => {}
        other => return Err(format!("IPv6 bind: {other:?}")),
    }
    Ok(format!("ephemeral {a}"))
}

fn udp(port: u16) -> Check {
    let s = UdpSocket::bind("0.0.0.0:0").map_err(e("bind"))?;
    s.set_read_timeout(Some(Duration::from_millis(500))).map_err(e("set_read_timeout"))?;
    let mut buf = [0u8; 2048];
    // Datagrams may be lost: a few tries.
    let mut answer = None;
    for i in 0..20 {
        let msg = format!("datagram {i}");
        s.send_to(msg.as_bytes(), host(port)).map_err(e("send_to"))?;
        match s.recv_from(&mut buf) {
            Ok((n, from)) => {
                answer = Some((buf[..n].to_vec(), from, msg));
                break;
            }
            Err(err) if matches!(err.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => {}
            Err(err) => return Err(format!("recv_from: {err:?}")),
        }
    }
    let (got, from, sent) = answer.ok_or("no answer in 20 tries")?;
    ensure!(got == sent.as_bytes(), "echo {:?}", String::from_utf8_lossy(&got));
    ensure!(from == host(port), "answer from {from}");
    // Connected: send/recv, peek.
    s.connect(host(port)).map_err(e("connect"))?;
    ensure!(s.peer_addr().map_err(e("peer_addr"))? == host(port), "peer_addr");
    for _ in 0..20 {
        s.send(b"connected").map_err(e("send"))?;
        let mut p = [0u8; 64];
        match s.peek(&mut p) {
            Ok(n) => {
                ensure!(&p[..n] == b"connected", "peek {:?}", &p[..n]);
                let n = s.recv(&mut buf).map_err(e("recv"))?;
                ensure!(&buf[..n] == b"connected", "recv {:?}", &buf[..n]);
                return Ok(format!("echo from {from}"));
            }
            Err(err) if matches!(err.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => {}
            Err(err) => return Err(format!("peek: {err:?}")),
        }
    }
    Err("no answer to the connected socket".into())
}

/// moto-rt's poll slots on a connection: a silent socket times out, data
/// makes it readable, a modified registration reports writable, and a
/// wake from another thread ends a wait with no events.
#[cfg(target_os = "motor")]
fn poll_check(port: u16) -> Check {
    use moto_rt::poll::{self, Event, POLL_READABLE, POLL_WRITABLE};
    use std::os::fd::AsRawFd;
    let mut s = connect(port)?;
    let fd = s.as_raw_fd();
    let p = poll::new().map_err(e("poll new"))?;
    let wait = |ms: u64, ev: &mut [Event]| {
        let deadline = moto_rt::time::Instant::now() + Duration::from_millis(ms);
        poll::wait(p, ev.as_mut_ptr(), ev.len(), Some(deadline))
    };
    let mut ev = [Event::default(); 4];
    poll::add(p, fd, 7, POLL_READABLE).map_err(e("poll add"))?;
    let t = Instant::now();
    let n = wait(200, &mut ev).map_err(e("wait on a silent socket"))?;
    ensure!(n == 0, "{n} events on a silent socket");
    ensure!(t.elapsed() >= Duration::from_millis(150), "returned after {:?}", t.elapsed());
    s.write_all(b"poll").map_err(e("write"))?;
    let n = wait(PATIENCE.as_millis() as u64, &mut ev).map_err(e("wait for data"))?;
    ensure!(n == 1 && ev[0].token == 7 && ev[0].events & POLL_READABLE != 0, "{n} events, first {:?}", ev[0]);
    poll::set(p, fd, 8, POLL_WRITABLE).map_err(e("poll set"))?;
    let n = wait(PATIENCE.as_millis() as u64, &mut ev).map_err(e("wait for writable"))?;
    ensure!(n == 1 && ev[0].token == 8 && ev[0].events & POLL_WRITABLE != 0, "{n} events, first {:?}", ev[0]);
    poll::del(p, fd).map_err(e("poll del"))?;
    let waker = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        poll::wake(p)
    });
    let t = Instant::now();
    let n = wait(PATIENCE.as_millis() as u64, &mut ev).map_err(e("wait for the wake"))?;
    waker.join().map_err(|_| "waker panicked".to_string())?.map_err(e("wake"))?;
    ensure!(n == 0 && t.elapsed() < PATIENCE / 2, "{n} events after {:?}", t.elapsed());
    moto_rt::fs::close(p).map_err(e("close"))?;
    Ok(format!("woken after {} ms", t.elapsed().as_millis()))
}

#[cfg(not(target_os = "motor"))]
fn poll_check(_port: u16) -> Check {
    Ok("moto-rt's poll is for target motor only".into())
}

/// A process blocked in accept is killed: the server drops its parked
/// request and closes its listener, so the port can be bound again.
fn killed_owner() -> Check {
    const PORT: u16 = 7100;
    let mut child =
        std::process::Command::new("/bin/net-suite").args(["block", &PORT.to_string()]).spawn().map_err(e("spawn"))?;
    // The child has bound the port once a second bind fails.
    let t = Instant::now();
    loop {
        match TcpListener::bind(("0.0.0.0", PORT)) {
            Err(_) => break,
            Ok(l) => drop(l),
        }
        ensure!(t.elapsed() < PATIENCE, "the child never bound {PORT}");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    child.kill().map_err(e("kill"))?;
    child.wait().map_err(e("wait"))?;
    let t = Instant::now();
    loop {
        match TcpListener::bind(("0.0.0.0", PORT)) {
            Ok(_) => return Ok(format!("port free again {} ms after the kill", t.elapsed().as_millis())),
            Err(err) if t.elapsed() > PATIENCE => return Err(format!("port still taken: {err:?}")),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn client(suite: &mut Suite, echo: u16, closed: u16, udp_port: u16) {
    suite.check("tcp-echo", || echo_small(echo));
    suite.check("tcp-bulk-1mib-each-way", || bulk(echo));
    suite.check("connect-refused", || refused(closed));
    suite.check("read-timeout", || read_timeout(echo));
    suite.check("nonblocking", || nonblocking(echo));
    suite.check("shutdown", || shutdown(echo));
    suite.check("100-sockets", || many(echo));
    suite.check("listener", listener_basics);
    suite.check("udp", || udp(udp_port));
    suite.check("poll", || poll_check(echo));
    suite.check("killed-owner", killed_owner);
}

fn serve(stream: TcpStream) -> std::io::Result<u64> {
    stream.set_read_timeout(Some(PATIENCE * 3))?;
    let mut w = stream.try_clone()?;
    let mut r = stream;
    let mut buf = vec![0u8; 32 * 1024];
    let mut total = 0u64;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        w.write_all(&buf[..n])?;
        total += n as u64;
    }
}

fn echo_server(suite: &mut Suite, port: u16, n: usize, udp_port: Option<u16>) {
    suite.check("echo-server", || {
        let l = TcpListener::bind(("0.0.0.0", port)).map_err(e("bind"))?;
        println!("net-suite: listening {port}");
        let mut threads = Vec::new();
        for _ in 0..n {
            let (s, from) = l.accept().map_err(e("accept"))?;
            ensure!(from.ip() == HOST, "connection from {from}");
            threads.push(std::thread::spawn(move || serve(s)));
        }
        let mut total = 0;
        for t in threads {
            total += t.join().map_err(|_| "server thread panicked".to_string())?.map_err(e("serve"))?;
        }
        Ok(format!("{n} connections, {total} bytes echoed"))
    });
    if let Some(p) = udp_port {
        suite.check("udp-server", || {
            let s = UdpSocket::bind(("0.0.0.0", p)).map_err(e("bind"))?;
            s.set_read_timeout(Some(PATIENCE)).map_err(e("set_read_timeout"))?;
            println!("net-suite: udp listening {p}");
            let mut buf = [0u8; 1500];
            let (n, from) = s.recv_from(&mut buf).map_err(e("recv_from"))?;
            let mut reply = b"ack:".to_vec();
            reply.extend_from_slice(&buf[..n]);
            for _ in 0..3 {
                s.send_to(&reply, from).map_err(e("send_to"))?;
            }
            Ok(format!("{n} bytes from {from}"))
        });
    }
}

fn port(arg: Option<&String>) -> u16 {
    arg.and_then(|a| a.parse().ok()).unwrap_or_else(|| {
        println!("net-suite: FAIL args: expected a port, got {arg:?}");
        std::process::exit(2)
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut suite = Suite { failed: Vec::new() };
    let t = Instant::now();
    match args.first().map(String::as_str) {
        Some("client") => client(&mut suite, port(args.get(1)), port(args.get(2)), port(args.get(3))),
        Some("echo") => {
            let n = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1);
            echo_server(&mut suite, port(args.get(1)), n, args.get(3).map(|_| port(args.get(3))));
        }
        // Used by killed-owner: block in accept until killed.
        Some("block") => {
            // The parent's probe holds the port for moments: retry.
            let p = port(args.get(1));
            let t = Instant::now();
            while t.elapsed() < PATIENCE {
                if let Ok(l) = TcpListener::bind(("0.0.0.0", p)) {
                    let _ = l.accept();
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            std::process::exit(3);
        }
        Some("all") => {
            client(&mut suite, port(args.get(1)), port(args.get(2)), port(args.get(3)));
            let n = args.get(5).and_then(|a| a.parse().ok()).unwrap_or(1);
            echo_server(&mut suite, port(args.get(4)), n, args.get(6).map(|_| port(args.get(6))));
        }
        _ => {
            println!("net-suite: FAIL args: client|echo|all ...");
            std::process::exit(2);
        }
    }
    println!("net-suite: {} failed, {} ms", suite.failed.len(), t.elapsed().as_millis());
    std::process::exit(if suite.failed.is_empty() { 0 } else { 1 });
}
