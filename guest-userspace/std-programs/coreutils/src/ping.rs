//! `ping [-c COUNT] [-i SECONDS] [-W SECONDS] [-s SIZE] HOST`: ICMP echo
//! through the I/O server's `/sys/net/ping` (std has no ICMP socket):
//! each echo is one write of `ADDR SEQ SIZE TIMEOUT_MS`, which returns
//! once the reply came (or fails with `TimedOut`), then a read of the
//! answer line (docs/network.md, "System files").
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::{IpAddr, Ipv4Addr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::common::usage_error;

pub const USAGE: &str = "usage: ping [-c COUNT] [-i SECONDS] [-W SECONDS] [-s SIZE] HOST
Sends ICMP echo requests to HOST (a name or an IPv4 address) and prints
each reply: COUNT of them (default 4; 0: until interrupted), SECONDS apart
(-i, default 1), each waiting up to -W SECONDS (default 2) for its reply,
with SIZE bytes of payload (-s, 0-1472, default 56). Status 0 if any reply
came, 1 if none did.";

const PING_FILE: &str = "/sys/net/ping";

struct Options {
    count: u64,
    interval: Duration,
    wait: Duration,
    size: usize,
    host: String,
}

fn options(args: &[String]) -> Result<Options, String> {
    let a = crate::args::parse(args, "", "ciWs").map_err(|e| e.to_string())?;
    let [host] = a.operands.as_slice() else { return Err("expected one HOST".into()) };
    let seconds = |flag: char, default: f64, min: f64| -> Result<Duration, String> {
        match a.value(flag).map(str::parse::<f64>) {
            None => Ok(Duration::from_secs_f64(default)),
            Some(Ok(s)) if (min..=3600.0).contains(&s) => Ok(Duration::from_secs_f64(s)),
            Some(_) => Err(format!("invalid -{flag}: expected seconds in [{min}, 3600]")),
        }
    };
    let count = match a.value('c') {
        None => 4,
        Some(c) => c.parse().map_err(|_| format!("invalid count '{c}'"))?,
    };
    let size = match a.value('s') {
        None => 56,
        Some(s) => s.parse().ok().filter(|&n| n <= 1472).ok_or(format!("invalid size '{s}': expected 0-1472"))?,
    };
    let wait = seconds('W', 2.0, 0.001)?.min(Duration::from_secs(10));
    Ok(Options { count, interval: seconds('i', 1.0, 0.01)?, wait, size, host: host.clone() })
}

pub fn run(args: &[String]) -> ExitCode {
    let o = match options(args) {
        Ok(o) => o,
        Err(m) => return usage_error("ping", USAGE, &m),
    };
    let target = match resolve(&o.host) {
        Ok(a) => a,
        Err(why) => {
            eprintln!("ping: {}: {why}", o.host);
            return ExitCode::FAILURE;
        }
    };
    let mut file = match OpenOptions::new().read(true).write(true).open(PING_FILE) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            eprintln!("ping: no network (no {PING_FILE})");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("ping: {PING_FILE}: {}", crate::common::describe(&e));
            return ExitCode::FAILURE;
        }
    };
    println!("PING {} ({target}) {} data bytes", o.host, o.size);
    let mut rtts: Vec<f64> = Vec::new();
    let mut sent = 0u64;
    let mut seq: u16 = 1;
    while o.count == 0 || sent < o.count {
        let start = Instant::now();
        sent += 1;
        match echo(&mut file, target, seq, o.size, o.wait) {
            Ok(reply) => {
                let ms = reply.time_us as f64 / 1000.0;
                println!("{} bytes from {target}: icmp_seq={seq} time={ms:.3} ms", reply.bytes);
                rtts.push(ms);
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock) => {
                println!("no reply from {target}: icmp_seq={seq} (waited {:.1} s)", o.wait.as_secs_f64());
            }
            Err(e) => {
                eprintln!("ping: {}", why(&e));
                return ExitCode::FAILURE;
            }
        }
        seq = seq.wrapping_add(1);
        if o.count == 0 || sent < o.count {
            std::thread::sleep(o.interval.saturating_sub(start.elapsed()));
        }
    }
    println!("--- {} ping statistics ---", o.host);
    println!("{}", summary(sent, &rtts));
    if rtts.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn why(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotConnected => "network is unreachable (no address yet?)".into(),
        io::ErrorKind::InvalidInput => "the I/O server refused the request".into(),
        _ => crate::common::describe(e),
    }
}

/// The first IPv4 address of HOST.
fn resolve(host: &str) -> Result<Ipv4Addr, String> {
    let addrs = (host, 0).to_socket_addrs().map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => "no such host".to_string(),
        io::ErrorKind::InvalidInput => "invalid host name".to_string(),
        _ => crate::common::describe(&e),
    })?;
    addrs
        .map(|a| a.ip())
        .find_map(|ip| match ip {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(_) => None,
        })
        .ok_or_else(|| "no IPv4 address".to_string())
}

#[derive(Debug, PartialEq, Eq)]
struct Reply {
    bytes: u64,
    time_us: u64,
}

fn echo(file: &mut File, target: Ipv4Addr, seq: u16, size: usize, wait: Duration) -> io::Result<Reply> {
    let request = format!("{target} {seq} {size} {}\n", wait.as_millis().max(1));
    file.write_all(request.as_bytes())?;
    file.seek(SeekFrom::Start(0))?;
    let mut answer = String::new();
    file.read_to_string(&mut answer)?;
    file.seek(SeekFrom::Start(0))?;
    parse_reply(&answer).ok_or_else(|| io::Error::other(format!("unexpected answer from {PING_FILE}: {answer:?}")))
}

/// `reply ADDR seq N bytes B time_us T`.
fn parse_reply(line: &str) -> Option<Reply> {
    let w: Vec<&str> = line.split_whitespace().collect();
    match w.as_slice() {
        ["reply", _, "seq", _, "bytes", b, "time_us", t] => {
            Some(Reply { bytes: b.parse().ok()?, time_us: t.parse().ok()? })
        }
        _ => None,
    }
}

fn summary(sent: u64, rtts: &[f64]) -> String {
    let got = rtts.len() as u64;
    let loss = ((sent - got) * 100).checked_div(sent).unwrap_or(0);
    let mut s = format!("{sent} packets transmitted, {got} received, {loss}% packet loss");
    if !rtts.is_empty() {
        let min = rtts.iter().copied().fold(f64::INFINITY, f64::min);
        let max = rtts.iter().copied().fold(0.0, f64::max);
        let avg = rtts.iter().sum::<f64>() / rtts.len() as f64;
        s += &format!("\nrtt min/avg/max = {min:.3}/{avg:.3}/{max:.3} ms");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn flags_and_their_bounds() {
        let o = options(&v(&["-c", "3", "-i", "0.2", "-W", "1", "-s", "100", "h"])).unwrap();
        assert_eq!(
            (o.count, o.interval, o.wait, o.size, o.host.as_str()),
            (3, Duration::from_millis(200), Duration::from_secs(1), 100, "h")
        );
        let d = options(&v(&["h"])).unwrap();
        assert_eq!((d.count, d.interval, d.wait, d.size), (4, Duration::from_secs(1), Duration::from_secs(2), 56));
        for bad in [
            &["-c", "x", "h"][..],
            &["-s", "1473", "h"],
            &["-i", "0", "h"],
            &["-W", "-1", "h"],
            &[],
            &["a", "b"],
            &["-z", "h"],
        ] {
            assert!(options(&v(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn replies_and_the_summary() {
        assert_eq!(parse_reply("reply 10.0.2.2 seq 1 bytes 64 time_us 812\n"), Some(Reply { bytes: 64, time_us: 812 }));
        assert_eq!(parse_reply("timeout"), None);
        assert_eq!(parse_reply(""), None);
        assert_eq!(
            summary(3, &[1.0, 2.0, 3.0]),
            "3 packets transmitted, 3 received, 0% packet loss\nrtt min/avg/max = 1.000/2.000/3.000 ms"
        );
        assert_eq!(summary(2, &[]), "2 packets transmitted, 0 received, 100% packet loss");
    }
}
