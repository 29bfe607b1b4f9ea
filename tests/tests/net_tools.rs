//! The network and disk tools of `coreutils` (`df`, `ip`, `ping`, `fetch`;
//! docs/shell.md, "Tools") driven from the shell on Vireo's serial console,
//! under QEMU TCG with the disk as `/` and QEMU user networking. The tools
//! reach what std has no API for through the I/O server's made-up files
//! (`/sys/fs/root`, `/sys/net/eth0`, `/sys/net/ping`; docs/network.md).
//!
//! Checked: `df` agrees with the image's own superblock (dumpe2fs) and sees
//! a copied file's blocks; `ip` shows the DHCP address, gateway and name
//! server, and counters that grow; `ping -c 3` to QEMU's gateway (which
//! user networking answers itself) gets 3 replies, and an address nobody
//! has gets none; `fetch` from a server this test runs on the host: a
//! 200 KiB file byte for byte (read back from the image), a redirect, a
//! chunked body, a 404, a body cut short, a refused port, a bad URL; and
//! bad command lines giving one-line errors. On q35 (virtio-pci) `ip` and a
//! ping; without a card, one-line errors from `ip`, `ping` and `fetch`.
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use vireo_tests::console::{Console, PROMPT};
use vireo_tests::disk::{e2fs, program, text, DiskCopy};
use vireo_tests::{Machine, Qemu};

/// One VM at a time: TCG on a 2-core host, and the session is timing-sensitive.
static ONE_VM: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The file `/big.bin` the host serves: 200 KiB of a fixed pseudo-random stream.
fn big() -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..200 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// A small HTTP server on the host's loopback (10.0.2.2 from the guest).
fn http_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || serve(s));
        }
    });
    port
}

fn serve(mut s: TcpStream) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    let line = String::from_utf8_lossy(&req).lines().next().unwrap_or("").to_string();
    let path = line.split(' ').nth(1).unwrap_or("");
    let ok =
        |body: &[u8]| [format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes(), body].concat();
    let answer = match path {
        "/big.bin" => ok(&big()),
        "/hello.txt" => ok(b"hello from the host\n"),
        "/redirect" => b"HTTP/1.1 302 Found\r\nLocation: /hello.txt\r\nContent-Length: 0\r\n\r\n".to_vec(),
        "/chunked.txt" => {
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n8;x=y\r\nchunked \r\n6\r\nworld\n\r\n0\r\n\r\n"
                .to_vec()
        }
        "/cut" => b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly these".to_vec(),
        _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
    };
    let _ = s.write_all(&answer);
}

/// Runs `line` at the prompt and returns the lines it printed (the
/// command's own echo left out): a marker echoed after it says it ended.
struct Shell {
    c: Console,
    n: u32,
}

impl Shell {
    fn run(&mut self, line: &str) -> Vec<String> {
        self.n += 1;
        let start = self.c.text().len();
        // Typed as `@"@"N`, printed as `@@N`: the echo of the line cannot match.
        self.c.type_keys(&format!("{line}; echo @\"@\"{}\r", self.n));
        let marker = format!("\n@@{}", self.n);
        self.c.expect(&marker);
        let all = self.c.text();
        let out = &all[start..];
        let end = out.find(&marker).unwrap_or(out.len());
        let body = out[..end].split_once('\n').map_or("", |(_, rest)| rest);
        body.lines().map(|l| l.trim_end_matches('\r').to_string()).collect()
    }
}

/// `Key: value` from `dumpe2fs -h`.
fn superblock(image: &std::path::Path, key: &str) -> u64 {
    let out = text(&e2fs("dumpe2fs", &["-h"], image));
    let line = out.lines().find(|l| l.starts_with(&format!("{key}:"))).unwrap_or_else(|| panic!("{key}: {out}"));
    line.split(':').nth(1).unwrap().trim().parse().unwrap()
}

/// The columns of `df`'s line for `/`.
fn df_row(out: &[String]) -> Vec<String> {
    let row = out.iter().find(|l| l.ends_with(" /")).unwrap_or_else(|| panic!("no / row: {out:?}"));
    row.split_whitespace().map(String::from).collect()
}

fn counter(out: &[String], dir: &str) -> u64 {
    let l = out.iter().find(|l| l.trim_start().starts_with(dir)).unwrap_or_else(|| panic!("no {dir}: {out:?}"));
    l.split_whitespace().nth(2).unwrap().parse().unwrap()
}

fn has(out: &[String], want: &str) -> bool {
    out.iter().any(|l| l == want)
}

#[test]
fn df_ip_ping_and_fetch_from_the_shell() {
    let _one = ONE_VM.lock().unwrap_or_else(|e| e.into_inner());
    let disk = DiskCopy::new("net-tools");
    let (blocks, free, bsize) = (
        superblock(&disk.path, "Block count"),
        superblock(&disk.path, "Free blocks"),
        superblock(&disk.path, "Block size"),
    );
    let port = http_server();
    let closed = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port");
    let started = Instant::now();
    let c = Console::shell(Machine::Microvm, &disk.path, true);
    let mut sh = Shell { c, n: 0 };
    // The address may come before the prompt or after it.
    sh.c.expect("io: net: 10.0.2.15/24 gw 10.0.2.2 dns 10.0.2.3 (DHCP");
    let _ = sh.c.wait_for(PROMPT, Duration::from_secs(30));

    // The made-up files are listed under /sys, beside the disk's own runtime.
    assert_eq!(
        sh.run("ls /sys /sys/fs /sys/net"),
        ["/sys:", "fs", "motor-rt", "net", "", "/sys/fs:", "root", "", "/sys/net:", "eth0", "ping"]
    );
    let long = sh.run("ls -l /sys/net");
    assert!(long.iter().any(|l| l.starts_with("-r- ") && l.ends_with(" eth0")), "{long:?}");
    assert_eq!(sh.run("echo x > /sys/fs/root; echo write $?"), ["sh: /sys/fs/root: Permission denied", "write 1"]);

    // df: the superblock's numbers, in 1 KiB blocks; a copy's blocks show.
    let out = sh.run("df");
    assert!(out[0].starts_with("Filesystem"), "{out:?}");
    let row = df_row(&out);
    let kib = |b: u64| (b * bsize / 1024).to_string();
    assert_eq!(row[..5], ["virtio-blk", "ext4", &kib(blocks), &kib(blocks - free), &kib(free)], "{out:?}");
    let row_h = df_row(&sh.run("df -h"));
    assert_eq!(row_h[2], "64M", "{row_h:?}");
    let inodes = df_row(&sh.run("df -i"));
    assert_eq!(inodes[2], superblock(&disk.path, "Inode count").to_string());
    sh.run("cp /bin/coreutils /copy");
    let after = df_row(&sh.run("df"));
    let grew = after[3].parse::<u64>().unwrap() - row[3].parse::<u64>().unwrap();
    let size = std::fs::metadata(
        vireo_tests::repo_root().join("guest-userspace/std-programs/target/x86_64-unknown-motor/release/coreutils"),
    )
    .unwrap()
    .len();
    assert!(grew >= size / 1024 && grew <= size / 1024 + 64, "df grew by {grew} KiB for a {size}-byte copy");

    // ip: DHCP's address, gateway and name server; counters that grow.
    let ip = sh.run("ip");
    assert!(ip[0].starts_with("eth0: virtio-net (MMIO) mac 52:54:00:12:34:56 link up state ok"), "{ip:?}");
    for want in ["    inet 10.0.2.15/24 (dhcp)", "    default via 10.0.2.2", "    dns 10.0.2.3"] {
        assert!(has(&ip, want), "{want}: {ip:?}");
    }
    let (rx0, tx0) = (counter(&ip, "RX:"), counter(&ip, "TX:"));
    assert!(rx0 >= 2 && tx0 >= 2, "DHCP alone is 2 frames each way: {ip:?}");
    assert_eq!(sh.run("cat /sys/net/eth0 | grep address"), ["address 10.0.2.15/24"]);

    // ping: QEMU's user network answers echo requests to its gateway.
    let p = sh.run("ping -c 3 -i 0.2 10.0.2.2; echo status $?");
    assert_eq!(p[0], "PING 10.0.2.2 (10.0.2.2) 56 data bytes", "{p:?}");
    for seq in 1..=3 {
        let prefix = format!("64 bytes from 10.0.2.2: icmp_seq={seq} time=");
        assert!(p.iter().any(|l| l.starts_with(&prefix)), "{prefix}: {p:?}");
    }
    assert!(has(&p, "3 packets transmitted, 3 received, 0% packet loss"), "{p:?}");
    assert!(has(&p, "status 0"), "{p:?}");
    eprintln!("ping: {:?}", p.iter().find(|l| l.starts_with("rtt")));
    let stats = sh.run("ip stats");
    assert!(counter(&stats, "RX:") >= rx0 + 3 && counter(&stats, "TX:") >= tx0 + 3, "{ip:?} then {stats:?}");
    // Nobody has 10.0.2.99: no ARP answer, no reply.
    let p = sh.run("ping -c 1 -W 0.5 10.0.2.99; echo status $?");
    assert!(has(&p, "no reply from 10.0.2.99: icmp_seq=1 (waited 0.5 s)"), "{p:?}");
    assert!(has(&p, "1 packets transmitted, 0 received, 100% packet loss") && has(&p, "status 1"), "{p:?}");

    // The made-up files refuse what they do not do, each with its error; a
    // ping's answer belongs to the handle that asked (a fresh open is empty).
    let refusals = [
        ("echo x > /sys/net/eth0", "sh: /sys/net/eth0: Permission denied"),
        ("echo x > /sys/fs/root", "sh: /sys/fs/root: Permission denied"),
        ("echo 10.0.2.2 1 > /sys/net/ping", "sh: echo: InvalidArgument (os error 7)"),
        ("echo 10.0.2.2 1 56 99999 > /sys/net/ping", "sh: echo: InvalidArgument (os error 7)"),
        ("ls /sys/net/eth0/x", "ls: /sys/net/eth0/x: No such file or directory"),
    ];
    for (cmd, want) in refusals {
        assert_eq!(sh.run(&format!("{cmd}; echo status $?")), [want, "status 1"], "{cmd}");
    }
    assert_eq!(sh.run("echo 10.0.2.2 9 8 1000 > /sys/net/ping; cat /sys/net/ping; echo status $?"), ["status 0"]);

    // fetch from the host.
    let base = format!("http://10.0.2.2:{port}");
    let f = sh.run(&format!("fetch -o /big.bin {base}/big.bin; echo status $?"));
    assert!(
        f.len() == 2 && vireo_tests::fits(&f[0], &format!("fetch: 200 {base}/big.bin: 204800 bytes in {{}} ms")),
        "{f:?}"
    );
    assert_eq!(f[1], "status 0");
    eprintln!("{}", f[0]);
    assert_eq!(sh.run(&format!("fetch -q {base}/redirect")), ["hello from the host"]);
    assert_eq!(sh.run(&format!("fetch -q {base}/chunked.txt")), ["hello chunked world"]);
    let errors = [
        (format!("fetch {base}/missing"), format!("fetch: {base}/missing: the server answered 404 Not Found")),
        // What did come is written (to a file here, so it does not mix with the message).
        (
            format!("fetch -o /cut.bin {base}/cut"),
            format!("fetch: {base}/cut: connection closed after 10 of 1000 body bytes"),
        ),
        (
            format!("fetch http://10.0.2.2:{closed}/"),
            format!(
                "fetch: http://10.0.2.2:{closed}/: cannot connect to 10.0.2.2:{closed}: connection refused (or network \
                 unreachable)"
            ),
        ),
        ("fetch 10.0.2.2/x".into(), "fetch: 10.0.2.2/x: bad URL: expected http://HOST[:PORT]/PATH".into()),
        (
            "fetch https://10.0.2.2/".into(),
            "fetch: https://10.0.2.2/: bad URL: scheme 'https' is not supported (only http)".into(),
        ),
    ];
    for (cmd, want) in &errors {
        let out = sh.run(&format!("{cmd}; echo status $?"));
        assert_eq!(out, [want.clone(), "status 1".into()], "{cmd}");
    }

    // Bad command lines: one line saying why, the usage line, status 2.
    let usage = [
        ("fetch", "fetch: expected one URL", "usage: fetch [-o FILE] [-t SECONDS] [-q] URL"),
        (
            "ping -c x 10.0.2.2",
            "ping: invalid count 'x'",
            "usage: ping [-c COUNT] [-i SECONDS] [-W SECONDS] [-s SIZE] HOST",
        ),
        ("ping -s 2000 10.0.2.2", "ping: invalid size '2000': expected 0-1472", "usage: ping {}"),
        ("ip frob", "ip: unknown object 'frob'", "usage: ip [addr|route|dns|stats]"),
        ("df -z", "df: invalid option -- 'z'", "usage: df [-h] [-i]"),
        ("fetch -t 0 http://h/", "fetch: invalid timeout: expected seconds in (0, 3600]", "usage: fetch {}"),
    ];
    for (cmd, why, line) in usage {
        let out = sh.run(&format!("{cmd}; echo status $?"));
        assert_eq!(out.len(), 3, "{cmd}: {out:?}");
        assert_eq!(out[0], why, "{cmd}");
        assert!(vireo_tests::fits(&out[1], line), "{cmd}: {out:?}");
        assert_eq!(out[2], "status 2", "{cmd}");
    }
    let p = sh.run("ping -c 1 no-such-host.invalid; echo status $?");
    assert_eq!(p.last().map(String::as_str), Some("status 1"), "{p:?}");
    assert!(p[0].starts_with("ping: no-such-host.invalid: "), "{p:?}");
    for tool in ["df", "ip", "ping", "fetch"] {
        let out = sh.run(&format!("{tool} --help | head -n 1"));
        assert!(out[0].starts_with(&format!("usage: {tool} ")), "{out:?}");
    }

    sh.c.type_keys("poweroff\r");
    sh.c.expect("io: / unmounted cleanly");
    sh.c.expect("VIREO-EXIT 0");
    let _ = sh.c.wait();
    eprintln!("net tools session: {:?}", started.elapsed());

    // What fetch wrote is on the disk, byte for byte.
    let dumped = disk.path.with_file_name("big.bin");
    let o = e2fs("debugfs", &["-R", &format!("dump /big.bin {}", dumped.display())], &disk.path);
    assert!(o.status.success(), "{}", text(&o));
    assert!(std::fs::read(&dumped).expect("dumped") == big(), "/big.bin differs from what the host served");
}

/// q35 (virtio-pci card): `ip` names the PCI card and a ping is answered.
#[test]
fn q35_ip_and_ping() {
    let _one = ONE_VM.lock().unwrap_or_else(|e| e.into_inner());
    let disk = DiskCopy::new("net-tools-q35");
    let c = Console::shell(Machine::Q35, &disk.path, true);
    let mut sh = Shell { c, n: 0 };
    sh.c.expect("io: net: 10.0.2.15/24 gw 10.0.2.2 dns 10.0.2.3 (DHCP");
    let _ = sh.c.wait_for(PROMPT, Duration::from_secs(30));
    let ip = sh.run("ip addr");
    assert!(ip[0].starts_with("eth0: virtio-net (PCI) mac 52:54:00:12:34:56 link up state ok"), "{ip:?}");
    let p = sh.run("ping -c 1 10.0.2.2");
    assert!(has(&p, "1 packets transmitted, 1 received, 0% packet loss"), "{p:?}");
    sh.c.type_keys("poweroff\r");
    sh.c.expect("VIREO-EXIT 0");
}

/// No card: the tools say so in one line (and `df` still works).
#[test]
fn without_a_card_the_network_tools_say_so() {
    let _one = ONE_VM.lock().unwrap_or_else(|e| e.into_inner());
    let disk = DiskCopy::new("net-tools-nocard");
    disk.put(
        "nocard.sh",
        "ip; echo status $?\nping -c 1 10.0.2.2; echo status $?\nfetch http://10.0.2.2:9/; echo status $?\n\
         df | grep -c virtio-blk\n",
    );
    let run = Qemu::new(Machine::Microvm)
        .with_initrd()
        .with_disk(&disk.path, false)
        .cmdline(&program("/bin/sh /nocard.sh"))
        .timeout(Duration::from_secs(120))
        .run();
    run.assert_lines_in_order(&[
        "ip: no network interface (no virtio-net card, or ip=off)",
        "status 1",
        "ping: no network (no /sys/net/ping)",
        "status 1",
        "fetch: http://10.0.2.2:9/: cannot connect to 10.0.2.2:9: {}",
        "status 1",
        "1",
    ]);
    run.assert_exit(0);
}
