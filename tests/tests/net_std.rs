//! std::net end to end (issue 12; docs/network.md): the unmodified std
//! program `/bin/net-suite` (guest-userspace/std-programs/net-suite) against
//! servers this test runs on the host's loopback, reached from the guest
//! through QEMU user networking's gateway 10.0.2.2, and a guest echo server
//! the test reaches through `hostfwd` on 127.0.0.1. Nothing leaves the host.
//!
//! microvm: every client check (TCP echo, 1 MiB each way with checksums,
//! refused, read timeout, nonblocking, shutdown, 100 connections at once,
//! listener basics, UDP both ways, moto-rt's poll slots, a child blocked in accept
//! killed and its port free again), then the guest's echo server for 10 host
//! connections (9 of them idle at once) and a datagram from the host. q35: the echo server.
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use vireo_tests::disk::{assert_program_ran, program};
use vireo_tests::{Machine, Qemu, Run};

/// One VM at a time: TCG on a 2-core host.
static ONE_VM: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The guest's echo server port (TCP) and datagram port (UDP).
const GUEST_TCP: u16 = 7000;
const GUEST_UDP: u16 = 7001;

/// Every check net-suite prints in `all` mode.
const CLIENT_CHECKS: &[&str] = &[
    "tcp-echo",
    "tcp-bulk-1mib-each-way",
    "connect-refused",
    "read-timeout",
    "nonblocking",
    "shutdown",
    "100-sockets",
    "listener",
    "udp",
    "poll",
    "killed-owner",
];

/// A free port on the host's loopback (bound and let go).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// A TCP echo server on the loopback: one thread per connection, each
/// echoing until end of stream (bounded by a read timeout).
fn tcp_echo_server(stop: Arc<AtomicBool>) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind echo server");
    let port = l.local_addr().expect("addr").port();
    l.set_nonblocking(true).expect("nonblocking");
    thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match l.accept() {
                Ok((s, _)) => {
                    thread::spawn(move || {
                        let _ = s.set_nonblocking(false);
                        let _ = s.set_read_timeout(Some(Duration::from_secs(60)));
                        let mut w = s.try_clone().expect("clone");
                        let mut r = s;
                        let mut buf = vec![0u8; 64 * 1024];
                        while let Ok(n) = r.read(&mut buf) {
                            if n == 0 || w.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                    });
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => thread::sleep(Duration::from_millis(10)),
                Err(_) => break,
            }
        }
    });
    port
}

fn udp_echo_server(stop: Arc<AtomicBool>) -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind udp echo");
    let port = s.local_addr().expect("addr").port();
    s.set_read_timeout(Some(Duration::from_millis(200))).expect("timeout");
    thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while !stop.load(Ordering::Relaxed) {
            if let Ok((n, from)) = s.recv_from(&mut buf) {
                let _ = s.send_to(&buf[..n], from);
            }
        }
    });
    port
}

/// Connects to the guest's echo server through `hostfwd`, retrying until
/// it listens, and checks one echo of `data` (the guest may not listen yet:
/// QEMU then accepts and closes at once).
fn echo_through_guest(port: u16, data: &[u8], deadline: Instant) -> Result<(), String> {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut last = String::new();
    while Instant::now() < deadline {
        let attempt = (|| -> Result<Vec<u8>, String> {
            let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|e| e.to_string())?;
            s.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| e.to_string())?;
            let mut w = s.try_clone().map_err(|e| e.to_string())?;
            let owned = data.to_vec();
            let writer = thread::spawn(move || {
                let r = w.write_all(&owned);
                let _ = w.shutdown(std::net::Shutdown::Write);
                r
            });
            let mut got = Vec::new();
            s.read_to_end(&mut got).map_err(|e| e.to_string())?;
            let _ = writer.join();
            Ok(got)
        })();
        match attempt {
            Ok(got) if got == data => return Ok(()),
            // Accepted by QEMU, refused by a guest not listening yet.
            Ok(got) if got.is_empty() => last = "closed at once".into(),
            Ok(got) => return Err(format!("echo of {} bytes came back as {} bytes, differing", data.len(), got.len())),
            Err(e) => last = e,
        }
        thread::sleep(Duration::from_millis(300));
    }
    Err(format!("no echo before the deadline (last: {last})"))
}

/// Sends a datagram to the guest through `hostfwd` until it answers.
fn datagram_through_guest(port: u16, deadline: Instant) -> Result<(), String> {
    let s = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_millis(300))).map_err(|e| e.to_string())?;
    let mut buf = [0u8; 64];
    while Instant::now() < deadline {
        s.send_to(b"from-host", ("127.0.0.1", port)).map_err(|e| e.to_string())?;
        if let Ok(n) = s.recv(&mut buf) {
            return if &buf[..n] == b"ack:from-host" {
                Ok(())
            } else {
                Err(format!("answer {:?}", String::from_utf8_lossy(&buf[..n])))
            };
        }
    }
    Err("no answer before the deadline".into())
}

/// Boots `cmd` with a card on user networking forwarding the guest ports;
/// `host` runs meanwhile (given the forwarded TCP and UDP host ports).
fn boot(
    machine: Machine,
    cpus: u32,
    cmd: &str,
    host: impl FnOnce(u16, u16) -> Result<(), String> + Send + 'static,
) -> Run {
    let _one = ONE_VM.lock().unwrap_or_else(|e| e.into_inner());
    let (fwd_tcp, fwd_udp) = (free_port(), free_port());
    let netdev =
        format!("user,hostfwd=tcp:127.0.0.1:{fwd_tcp}-:{GUEST_TCP},hostfwd=udp:127.0.0.1:{fwd_udp}-:{GUEST_UDP}");
    let q = Qemu::new(machine)
        .cpus(cpus)
        .with_initrd()
        .cmdline(&program(cmd))
        .timeout(Duration::from_secs(300))
        .with_net(&netdev, None);
    let driver = thread::spawn(move || host(fwd_tcp, fwd_udp));
    let run = q.run();
    let host_result = driver.join().unwrap_or_else(|_| Err("the host side panicked".into()));
    for l in run.stdout.lines().filter(|l| l.starts_with("net-suite") || l.starts_with("io: net")) {
        println!("{l}");
    }
    eprintln!("boot {machine:?} `{cmd}`: {:?}", run.elapsed);
    assert_program_ran(&run, cmd);
    if let Err(e) = host_result {
        panic!("host side: {e}\n{}", run.dump());
    }
    run
}

fn assert_passed(run: &Run, checks: &[&str]) {
    let fails = run.lines_containing("net-suite: FAIL");
    assert!(fails.is_empty(), "failed checks: {fails:#?}\n{}", run.dump());
    for c in checks {
        assert!(run.has_line_starting(&format!("net-suite: ok {c} ")), "check {c} did not pass\n{}", run.dump());
    }
    assert!(run.has_line_starting("net-suite: 0 failed"), "{}", run.dump());
    run.assert_exit(0);
}

/// The guest echo server's side on the host: a first connection of 256
/// KiB (retried until the guest listens), then the other `n - 1` opened
/// together and left idle a moment (every guest thread blocked in a read
/// at once), then each echoed, the last opened first; then a datagram.
fn drive_echo(fwd_tcp: u16, fwd_udp: Option<u16>, n: usize) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(240);
    let big: Vec<u8> = (0..256 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    echo_through_guest(fwd_tcp, &big, deadline).map_err(|e| format!("connection 0: {e}"))?;
    let t = Instant::now();
    let mut idle = Vec::new();
    for i in 1..n {
        let s = TcpStream::connect(("127.0.0.1", fwd_tcp)).map_err(|e| format!("connection {i}: {e}"))?;
        s.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| e.to_string())?;
        idle.push(s);
    }
    thread::sleep(Duration::from_millis(500));
    for (i, s) in idle.iter_mut().enumerate().rev() {
        let msg = format!("connection {}", i + 1).into_bytes();
        s.write_all(&msg).map_err(|e| format!("connection {}: {e}", i + 1))?;
        s.shutdown(std::net::Shutdown::Write).map_err(|e| e.to_string())?;
        let mut got = Vec::new();
        s.read_to_end(&mut got).map_err(|e| format!("connection {}: {e}", i + 1))?;
        if got != msg {
            return Err(format!("connection {}: echo {:?}", i + 1, String::from_utf8_lossy(&got)));
        }
    }
    // QEMU's user networking forwards new hostfwd connections to the guest
    // about once a second (the capture shows the guest answering each SYN
    // at once): most of this time is QEMU's.
    eprintln!("host: {} idle connections echoed in {:?} (500 ms of it idle)", n - 1, t.elapsed());
    if let Some(p) = fwd_udp {
        datagram_through_guest(p, deadline)?;
    }
    Ok(())
}

#[test]
fn std_net_suite_microvm() {
    let stop = Arc::new(AtomicBool::new(false));
    let echo = tcp_echo_server(stop.clone());
    let udp = udp_echo_server(stop.clone());
    let closed = free_port();
    let cmd = format!("/bin/net-suite all {echo} {closed} {udp} {GUEST_TCP} 10 {GUEST_UDP}");
    let run = boot(Machine::Microvm, 1, &cmd, move |t, u| drive_echo(t, Some(u), 10));
    stop.store(true, Ordering::Relaxed);
    let mut checks = CLIENT_CHECKS.to_vec();
    checks.extend(["echo-server", "udp-server"]);
    assert_passed(&run, &checks);
}

/// The same on 2 vCPUs: the runtime's threads (a reader and a writer on one
/// connection, the echo server's) really run at once.
#[test]
fn std_net_suite_microvm_2_cpus() {
    let stop = Arc::new(AtomicBool::new(false));
    let echo = tcp_echo_server(stop.clone());
    let udp = udp_echo_server(stop.clone());
    let closed = free_port();
    let cmd = format!("/bin/net-suite all {echo} {closed} {udp} {GUEST_TCP} 10 {GUEST_UDP}");
    let run = boot(Machine::Microvm, 2, &cmd, move |t, u| drive_echo(t, Some(u), 10));
    stop.store(true, Ordering::Relaxed);
    let mut checks = CLIENT_CHECKS.to_vec();
    checks.extend(["echo-server", "udp-server"]);
    assert_passed(&run, &checks);
}

#[test]
fn std_net_echo_q35() {
    let cmd = format!("/bin/net-suite echo {GUEST_TCP} 2");
    let run = boot(Machine::Q35, 1, &cmd, move |t, _| drive_echo(t, None, 2));
    assert_passed(&run, &["echo-server"]);
}
