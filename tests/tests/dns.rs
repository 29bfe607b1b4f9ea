//! Name resolution in the I/O server (issue 12; docs/network.md, "Name
//! resolution"): `net.resolve=NAME` words make it resolve names once the
//! card has an address and print the answers. The name servers are the
//! test's own, on the host (tests/src/dns_server.rs), reached at 10.0.2.2
//! through QEMU user networking: the first one never answers, so every
//! lookup that goes to the network must time out on it (1 s) and move on
//! to the second, which serves a fixed zone over UDP and TCP and counts the
//! queries it gets.
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use vireo_tests::disk::{program, DiskCopy};
use vireo_tests::dns_server::{DnsServer, Record, Silent};
use vireo_tests::{Machine, Qemu, Run};

/// One VM at a time: TCG on a 2-core host.
static ONE_VM: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Boots `cmd` (init's words after `--`) on microvm with a copy of the
/// disk and a card on QEMU user networking; the run, which exited with 0.
fn boot(name: &str, cmd: &str) -> Run {
    let _one = ONE_VM.lock().unwrap_or_else(|e| e.into_inner());
    let d = DiskCopy::new(name);
    let q = Qemu::new(Machine::Microvm)
        .with_initrd()
        .cmdline(&program(cmd))
        .timeout(Duration::from_secs(150))
        .with_disk(&d.path, false)
        .with_net("user", None);
    let run = q.run();
    for l in run.stdout.lines().filter(|l| l.starts_with("io: net") || l.starts_with("dns-lookup")) {
        println!("{l}");
    }
    eprintln!("boot `{cmd}`: {:?}", run.elapsed);
    run.assert_exit(0);
    run
}

fn zone() -> HashMap<String, Record> {
    let a = |o: [u8; 4]| Ipv4Addr::from(o);
    let mut z = HashMap::new();
    z.insert("a.test".into(), Record::A(vec![a([10, 1, 2, 3])], 300));
    z.insert("multi.test".into(), Record::A(vec![a([10, 1, 2, 4]), a([10, 1, 2, 5])], 300));
    z.insert("www.test".into(), Record::Cname("web.test".into(), 300));
    z.insert("web.test".into(), Record::Cname("host.test".into(), 300));
    z.insert("host.test".into(), Record::A(vec![a([10, 1, 2, 6])], 300));
    z.insert("nx.test".into(), Record::NxDomain(60));
    z.insert("fail.test".into(), Record::ServFail);
    z.insert("short.test".into(), Record::A(vec![a([10, 1, 2, 7])], 1));
    let big = (1..=12).map(|i| a([10, 2, 0, i])).collect();
    z.insert("big.test".into(), Record::Truncated(big, 300));
    z
}

/// The console line for `name`: `io: net: resolve NAME: ...`, the n-th one.
fn resolved<'a>(run: &'a Run, name: &str, n: usize) -> &'a str {
    let prefix = format!("io: net: resolve {name}: ");
    let lines: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with(&prefix)).collect();
    match lines.get(n) {
        Some(l) => &l[prefix.len()..],
        None => panic!("no answer {n} for {name}\n{}", run.dump()),
    }
}

/// "ADDRS (SOURCE, N ms)" → (ADDRS, SOURCE, N).
fn split(line: &str) -> (&str, &str, u64) {
    let (what, rest) = line.rsplit_once(" (").unwrap_or_else(|| panic!("malformed: {line}"));
    let (source, ms) = rest.trim_end_matches(" ms)").split_once(", ").unwrap_or_else(|| panic!("malformed: {line}"));
    (what, source, ms.parse().unwrap_or_else(|_| panic!("malformed: {line}")))
}

#[test]
fn the_io_server_resolves_names_against_a_host_server() {
    let server = DnsServer::start(zone());
    let silent = Silent::start();
    let names = [
        "a.test",
        "A.Test.",
        "www.test",
        "multi.test",
        "nx.test",
        "nx.test",
        "big.test",
        "short.test",
        "fail.test",
        "short.test",
        "localhost",
        "10.9.9.9",
        "bad..name",
    ];
    let mut cmd = format!("dns=10.0.2.2:{},10.0.2.2:{}", silent.port, server.port);
    for n in names {
        cmd += &format!(" net.resolve={n}");
    }
    cmd += " /bin/hello";
    let run = boot("dns-resolve", &cmd);

    // The first lookup: a timeout on the silent server, then the answer.
    let (addrs, source, ms) = split(resolved(&run, "a.test", 0));
    assert_eq!((addrs, source), ("10.1.2.3", "network"));
    assert!(ms >= 900, "answered in {ms} ms: the silent server was not waited for");
    // Within the TTL, any spelling: from the cache, no new query.
    let (addrs, source, _) = split(resolved(&run, "A.Test.", 0));
    assert_eq!((addrs, source), ("10.1.2.3", "cache"));
    assert_eq!(server.count("a.test", "udp"), 1, "a.test was asked again despite its TTL");
    // A CNAME chain, and several addresses.
    assert_eq!(split(resolved(&run, "www.test", 0)).0, "10.1.2.6");
    assert_eq!(split(resolved(&run, "multi.test", 0)).0, "10.1.2.4,10.1.2.5");
    // NXDOMAIN, then the same from the cache (RFC 2308).
    let nx = split(resolved(&run, "nx.test", 0));
    assert_eq!((nx.0, nx.1), ("error: no such name (NXDOMAIN)", "network"));
    let nx = split(resolved(&run, "nx.test", 1));
    assert_eq!((nx.0, nx.1), ("error: no such name (NXDOMAIN)", "cache"));
    assert_eq!(server.count("nx.test", "udp"), 1);
    // Truncated over UDP: the same server over TCP, all 12 addresses.
    let big: Vec<String> = (1..=12).map(|i| format!("10.2.0.{i}")).collect();
    assert_eq!(split(resolved(&run, "big.test", 0)).0, big.join(","));
    assert_eq!((server.count("big.test", "udp"), server.count("big.test", "tcp")), (1, 1));
    // SERVFAIL from the only live server, twice (two rounds): a failure.
    let fail = split(resolved(&run, "fail.test", 0));
    assert_eq!((fail.0, fail.1), ("error: the name servers failed to answer", "network"));
    assert_eq!(server.count("fail.test", "udp"), 2);
    // A 1 s TTL has run out by the second lookup (fail.test took seconds).
    let short = split(resolved(&run, "short.test", 1));
    assert_eq!((short.0, short.1), ("10.1.2.7", "network"));
    assert_eq!(server.count("short.test", "udp"), 2);
    // No query at all for these.
    assert_eq!(split(resolved(&run, "localhost", 0)).0, "127.0.0.1");
    assert_eq!(split(resolved(&run, "10.9.9.9", 0)).0, "10.9.9.9");
    let bad = split(resolved(&run, "bad..name", 0));
    assert!(bad.0.starts_with("error: invalid name: an empty label"), "{bad:?}");
    assert_eq!(bad.1, "local");
    // Every network lookup asked the silent server first (and fail.test
    // twice): a.test, www, multi, nx, big, short, fail (2), short.
    assert!(silent.queries() >= 9, "the silent server got {} queries", silent.queries());
    assert!(run.has_line_starting("hello from user space"), "the program did not run\n{}", run.dump());
}

/// The same resolver behind std: `ToSocketAddrs` in an ordinary std program
/// (moto-rt's `dns_lookup`, the I/O channel's `Resolve` op). One live
/// server this time, no silent one.
#[test]
fn std_to_socket_addrs_resolves_through_the_io_server() {
    let server = DnsServer::start(zone());
    let cmd = format!(
        "dns=10.0.2.2:{} net.resolve=multi.test net.resolve=host.test net.resolve=big.test \
         /bin/dns-lookup a.test a.test www.test nx.test big.test localhost bad..name",
        server.port
    );
    let run = boot("dns-std", &cmd);
    let line = |name: &str, n: usize| -> String {
        let prefix = format!("dns-lookup: {name}: ");
        let lines: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with(&prefix)).collect();
        let l = lines.get(n).unwrap_or_else(|| panic!("no answer {n} for {name}\n{}", run.dump()));
        l[prefix.len()..].rsplit_once(" (").map_or(String::new(), |(what, _)| what.to_string())
    };
    assert_eq!(line("a.test", 0), "10.1.2.3:443", "the \"name:port\" form");
    assert_eq!(line("a.test", 1), "10.1.2.3:80");
    assert_eq!(server.count("a.test", "udp"), 1, "the second lookup was not served from the cache");
    assert_eq!(line("www.test", 0), "10.1.2.6:80");
    assert_eq!(line("nx.test", 0), "error: NotFound");
    let big: Vec<String> = (1..=12).map(|i| format!("10.2.0.{i}:80")).collect();
    assert_eq!(line("big.test", 0), big.join(","));
    assert_eq!(line("localhost", 0), "127.0.0.1:80");
    assert_eq!(line("bad..name", 0), "error: InvalidInput");
    // The server's own lookups ran meanwhile, side by side with the
    // program's (big.test perhaps from the cache, whoever came second).
    assert_eq!(split(resolved(&run, "multi.test", 0)).0, "10.1.2.4,10.1.2.5");
    assert_eq!(split(resolved(&run, "host.test", 0)).0, "10.1.2.6");
    assert_eq!(split(resolved(&run, "big.test", 0)).0, big.join(",").replace(":80", ""));
    let big_tcp = server.count("big.test", "tcp");
    assert!((1..=2).contains(&big_tcp), "big.test over TCP {big_tcp} times");
}
