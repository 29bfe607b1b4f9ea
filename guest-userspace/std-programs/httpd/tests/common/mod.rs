//! The checks httpd must pass, as a client over TCP, shared by the host
//! tests (`tests/host.rs`, against httpd built for Linux) and the VM test
//! (`tests/tests/httpd.rs` at the repository root includes this file,
//! against httpd on Vireo through QEMU's hostfwd). Each check panics with
//! what went wrong. Only std: no HTTP client library, so the bytes on the
//! wire are exactly the ones written here.
#![allow(dead_code)] // each includer uses its own subset

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// How long a client waits for any one read (generous: the VM is TCG).
pub const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// The files of the test site, under `t/` in the root: (name, length).
pub const FILES: &[(&str, usize)] = &[("one.bin", 1), ("64k.bin", 64 * 1024), ("16m.bin", 16 << 20)];

/// Small files whose Content-Type is checked: (name, type).
pub const TYPED: &[(&str, &str)] = &[
    ("a.txt", "text/plain; charset=utf-8"),
    ("page.html", "text/html; charset=utf-8"),
    ("style.css", "text/css; charset=utf-8"),
    ("app.js", "text/javascript; charset=utf-8"),
    ("data.json", "application/json"),
    ("img.png", "image/png"),
    ("photo.jpg", "image/jpeg"),
    ("pic.svg", "image/svg+xml"),
    ("mod.wasm", "application/wasm"),
    ("blob.xyz", "application/octet-stream"),
];

pub const INDEX: &str = "<!doctype html><title>t</title><p>test index</p>\n";

/// Deterministic content for a file of the test site.
pub fn content(name: &str, len: usize) -> Vec<u8> {
    let mut x = fnv64(name.as_bytes()) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// FNV-1a, 64 bits: the checksum the checks compare.
pub fn fnv64(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325, |h, &x| (h ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3))
}

/// Every file of the test site as (path relative to the root, bytes);
/// the directories `t/noindex` (empty) and `t/sub` must exist too.
pub fn site_files() -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = FILES.iter().map(|&(n, l)| (format!("t/{n}"), content(n, l))).collect();
    v.extend(TYPED.iter().map(|&(n, _)| (format!("t/{n}"), format!("{n}\n").into_bytes())));
    v.push(("t/sub/index.html".into(), INDEX.as_bytes().to_vec()));
    v
}

/// Writes the test site into `root` (a host directory).
pub fn write_site(root: &Path) {
    for d in ["t/noindex", "t/sub"] {
        std::fs::create_dir_all(root.join(d)).expect("mkdir");
    }
    for (p, b) in site_files() {
        std::fs::write(root.join(p), b).expect("write");
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn content_length(&self) -> Option<usize> {
        self.header("content-length").and_then(|v| v.parse().ok())
    }
}

pub fn connect(addr: SocketAddr) -> TcpStream {
    let s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(20)).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(READ_TIMEOUT)).expect("read timeout");
    s.set_write_timeout(Some(READ_TIMEOUT)).expect("write timeout");
    s
}

/// Reads one response; the body is Content-Length bytes (none for HEAD).
pub fn read_response(r: &mut impl BufRead, head: bool) -> io::Result<Response> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    let status_line = line.trim_end().to_string();
    let mut parts = status_line.splitn(3, ' ');
    let (Some("HTTP/1.1"), Some(code)) = (parts.next(), parts.next()) else {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("bad status line {status_line:?}")));
    };
    let status = code.parse().map_err(|_| io::Error::new(io::ErrorKind::InvalidData, status_line.clone()))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (n, v) = l.split_once(':').ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, l.to_string()))?;
        headers.push((n.to_string(), v.trim().to_string()));
    }
    let mut resp = Response { status, headers, body: Vec::new() };
    if !head {
        let n = resp.content_length().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no length"))?;
        resp.body = vec![0; n];
        r.read_exact(&mut resp.body)?;
    }
    Ok(resp)
}

/// Sends `raw` on a new connection and reads one response.
pub fn exchange(addr: SocketAddr, raw: &[u8]) -> Response {
    let mut s = connect(addr);
    s.write_all(raw).expect("send request");
    let head = raw.starts_with(b"HEAD ");
    read_response(&mut BufReader::new(s), head).unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(raw)))
}

pub fn get(addr: SocketAddr, path: &str) -> Response {
    exchange(addr, format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes())
}

/// Asserts the response to `raw` has `status`.
pub fn expect(addr: SocketAddr, raw: &[u8], status: u16) -> Response {
    let r = exchange(addr, raw);
    assert_eq!(r.status, status, "{:?} -> {r:?}", String::from_utf8_lossy(raw));
    r
}

/// 1 byte, 64 KiB and 16 MiB by checksum, the Content-Types, the index.
pub fn check_files(addr: SocketAddr) {
    for &(name, len) in FILES {
        let t = Instant::now();
        let r = get(addr, &format!("/t/{name}"));
        assert_eq!(r.status, 200, "{name}");
        assert_eq!(r.content_length(), Some(len), "{name}");
        assert_eq!(r.header("content-type"), Some("application/octet-stream"), "{name}");
        assert_eq!(fnv64(&r.body), fnv64(&content(name, len)), "{name}: checksum");
        eprintln!("GET /t/{name}: {len} bytes in {:?}", t.elapsed());
    }
    for &(name, ty) in TYPED {
        let r = get(addr, &format!("/t/{name}"));
        assert_eq!((r.status, r.header("content-type")), (200, Some(ty)), "{name}");
        assert_eq!(r.body, format!("{name}\n").as_bytes(), "{name}");
    }
    let r = get(addr, "/t/sub/");
    assert_eq!((r.status, r.header("content-type")), (200, Some("text/html; charset=utf-8")));
    assert_eq!(r.body, INDEX.as_bytes());
    let r = get(addr, "/t/sub?x=1");
    assert_eq!((r.status, r.header("location")), (301, Some("/t/sub/")), "{r:?}");
    assert_eq!(get(addr, "/t/noindex/").status, 404);
    assert_eq!(get(addr, "/t/missing").status, 404);
    assert_eq!(get(addr, "/t/one.bin/").status, 404);
}

/// HEAD has GET's headers and no body (the next response on the same
/// connection starts right after HEAD's head).
pub fn check_head(addr: SocketAddr) {
    let mut s = connect(addr);
    s.write_all(b"HEAD /t/64k.bin HTTP/1.1\r\nHost: t\r\n\r\nGET /t/one.bin HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("send");
    let mut r = BufReader::new(s);
    let h = read_response(&mut r, true).expect("HEAD response");
    assert_eq!((h.status, h.content_length()), (200, Some(64 * 1024)), "{h:?}");
    assert_eq!(h.header("content-type"), Some("application/octet-stream"));
    let g = read_response(&mut r, false).expect("GET after HEAD");
    assert_eq!((g.status, g.body.as_slice()), (200, content("one.bin", 1).as_slice()), "{g:?}");
    let h = expect(addr, b"HEAD /t/missing HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 404);
    assert!(h.content_length().is_some_and(|n| n > 0), "{h:?}");
    // Even a refused HEAD has no body: the stream ends right after the head.
    let mut s = connect(addr);
    s.write_all(b"HEAD /t/one.bin HTTP/2.0\r\nHost: t\r\n\r\n").expect("send");
    let mut r = BufReader::new(s);
    assert_eq!(read_response(&mut r, true).expect("HEAD 505").status, 505);
    assert_closed(&mut r, "after a refused HEAD");
}

/// Several requests on one connection, pipelined too; HTTP/1.0 closes
/// unless it asks for keep-alive.
pub fn check_keep_alive(addr: SocketAddr) {
    let mut s = connect(addr);
    let mut r = BufReader::new(s.try_clone().expect("clone"));
    for i in 0..5 {
        s.write_all(b"GET /t/64k.bin HTTP/1.1\r\nHost: t\r\n\r\n").expect("send");
        let g = read_response(&mut r, false).unwrap_or_else(|e| panic!("request {i} on one connection: {e}"));
        assert_eq!((g.status, g.body.len(), g.header("connection")), (200, 64 * 1024, None), "request {i}");
    }
    // Three at once, answered in order.
    s.write_all(
        b"GET /t/one.bin HTTP/1.1\r\nHost: t\r\n\r\nGET /t/a.txt HTTP/1.1\r\nHost: t\r\n\r\n\
          GET /t/missing HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    .expect("send pipelined");
    let a = read_response(&mut r, false).expect("pipelined 1");
    let b = read_response(&mut r, false).expect("pipelined 2");
    let c = read_response(&mut r, false).expect("pipelined 3");
    assert_eq!((a.status, a.body.len(), b.status, b.body.as_slice(), c.status), (200, 1, 200, &b"a.txt\n"[..], 404));
    assert_eq!(c.header("connection"), Some("close"));
    assert_closed(&mut r, "after Connection: close");

    let mut s = connect(addr);
    s.write_all(b"GET /t/one.bin HTTP/1.0\r\n\r\n").expect("send");
    let mut r = BufReader::new(s);
    let g = read_response(&mut r, false).expect("1.0 response");
    assert_eq!((g.status, g.header("connection")), (200, Some("close")));
    assert_closed(&mut r, "after an HTTP/1.0 request");

    let mut s = connect(addr);
    let mut r = BufReader::new(s.try_clone().expect("clone"));
    for _ in 0..2 {
        s.write_all(b"GET /t/one.bin HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").expect("send");
        let g = read_response(&mut r, false).expect("1.0 keep-alive response");
        assert_eq!((g.status, g.header("connection")), (200, Some("keep-alive")));
    }
}

/// The server closes: the next read is the end of the stream (or a reset).
pub fn assert_closed(r: &mut impl Read, when: &str) {
    let mut b = [0u8; 1];
    match r.read(&mut b) {
        Ok(0) | Err(_) => {}
        Ok(_) => panic!("bytes after the last response {when}"),
    }
}

/// Each bad request gets its status.
pub fn check_bad_requests(addr: SocketAddr) {
    let big_header = format!("GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n", "a".repeat(9000));
    let cases: &[(&[u8], u16)] = &[
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET /t/one.bin\r\n\r\n", 400),
        (b"GET  /t/one.bin HTTP/1.1\r\nHost: t\r\n\r\n", 400),
        (b"GET /t/one.bin HTTP/1.1\r\n\r\n", 400),
        (b"GET /t/one.bin HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n", 400),
        (b"GET /t/one.bin HTTP/1.1\r\nHost: t\r\n folded\r\n\r\n", 400),
        (b"GET /t/\xff HTTP/1.1\r\nHost: t\r\n\r\n", 400),
        (b"GET /t/%zz HTTP/1.1\r\nHost: t\r\n\r\n", 400),
        (b"GET /t/%ff HTTP/1.1\r\nHost: t\r\n\r\n", 400),
        (b"GET /t/one.bin HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n", 400),
        (b"GET /t/one.bin HTTP/2.0\r\nHost: t\r\n\r\n", 505),
        (b"GET /t/one.bin HTTP/3\r\nHost: t\r\n\r\n", 505),
        (b"POST /t/one.bin HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", 405),
        (b"DELETE /t/one.bin HTTP/1.1\r\nHost: t\r\n\r\n", 405),
        (big_header.as_bytes(), 413),
        (b"GET /t/one.bin HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n", 413),
        (b"GET /t/one.bin HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501),
    ];
    for &(raw, status) in cases {
        let r = expect(addr, raw, status);
        // A bad path in a well-formed request leaves the connection usable.
        let path_error = raw.starts_with(b"GET /t/%");
        let closes = if path_error { None } else { Some("close") };
        assert_eq!(r.header("connection"), closes, "{:?}", String::from_utf8_lossy(raw));
        if status == 405 {
            assert_eq!(r.header("allow"), Some("GET, HEAD"));
        }
    }
    // A small body on a GET is read and dropped; the connection goes on.
    let mut s = connect(addr);
    s.write_all(
        b"GET /t/one.bin HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhelloGET /t/a.txt HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .expect("send");
    let mut r = BufReader::new(s);
    let a = read_response(&mut r, false).expect("GET with a body");
    let b = read_response(&mut r, false).expect("GET after it");
    assert_eq!((a.status, b.status, b.body.as_slice()), (200, 200, &b"a.txt\n"[..]));
}

/// No way out of the root: 400 for `..`, encoded slashes, backslashes,
/// NULs; 404 for what stays inside (`//etc`, a double-encoded `..`).
pub fn check_traversal(addr: SocketAddr) {
    for (target, status) in [
        ("/../../../../etc/passwd", 400),
        ("/t/../../etc/passwd", 400),
        ("/t/..", 400),
        ("/%2e%2e/%2e%2e/etc/passwd", 400),
        ("/.%2E/etc/passwd", 400),
        ("/..%2f..%2fetc%2fpasswd", 400),
        ("/t%2fone.bin", 400),
        ("/t%2Fone.bin", 400),
        ("/..\\..\\etc\\passwd", 400),
        ("/t/%5c..%5c..%5cetc", 400),
        ("/t/one.bin%00.html", 400),
        ("http://t/../etc/passwd", 400),
        ("/etc/passwd", 404),
        ("//etc/passwd", 404),
        ("/%252e%252e/etc/passwd", 404),
        ("/t/%2e/one.bin", 200),
        ("/t/./one.bin", 200),
        ("//t//one.bin", 200),
    ] {
        let r =
            expect(addr, format!("GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(), status);
        assert!(!String::from_utf8_lossy(&r.body).contains("root:"), "{target}: {r:?}");
    }
}

/// `n` connections open at once (the server has `n` idle keep-alive
/// clients), then all fetch 64 KiB together.
///
/// Each connection first proves it reached the server with a small
/// request, one connection after another: QEMU user networking's
/// `hostfwd` listens with a backlog of 1, so a burst of connects from the
/// host waits in the host kernel's accept queue (seconds, with SYN-ACK
/// retransmissions) before the guest ever sees a SYN. That is the host's
/// queue, not the server's, and says nothing about the server.
pub fn check_concurrent(addr: SocketAddr, n: usize) {
    let t = Instant::now();
    let mut conns = Vec::with_capacity(n);
    for i in 0..n {
        let mut s = BufReader::new(connect(addr));
        s.get_mut().write_all(b"GET /t/one.bin HTTP/1.1\r\nHost: t\r\n\r\n").expect("send");
        let g = read_response(&mut s, false).unwrap_or_else(|e| panic!("connection {i}, first request: {e}"));
        assert_eq!(g.status, 200, "connection {i}: {:?}", g.headers);
        conns.push(s);
    }
    let opened = t.elapsed();
    let barrier = Arc::new(Barrier::new(n));
    let want = fnv64(&content("64k.bin", 64 * 1024));
    let threads: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(i, mut r)| {
            let b = Arc::clone(&barrier);
            std::thread::spawn(move || {
                b.wait();
                r.get_mut().write_all(b"GET /t/64k.bin HTTP/1.1\r\nHost: t\r\n\r\n").expect("send");
                let g = read_response(&mut r, false).unwrap_or_else(|e| panic!("connection {i}: {e}"));
                assert_eq!((g.status, fnv64(&g.body)), (200, want), "connection {i}: {:?}", g.headers);
            })
        })
        .collect();
    for (i, th) in threads.into_iter().enumerate() {
        th.join().unwrap_or_else(|_| panic!("connection {i} failed"));
    }
    eprintln!("{n} concurrent connections: opened in {opened:?}, all served in {:?}", t.elapsed());
}

/// While slowloris clients trickle heads and garbage clients spray bytes,
/// `rounds` ordinary requests are still answered, each within `each`.
pub fn check_slow_and_garbage_clients(addr: SocketAddr, rounds: usize, each: Duration) {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut pests = Vec::new();
    for i in 0..10 {
        let stop = Arc::clone(&stop);
        pests.push(std::thread::spawn(move || {
            let Ok(mut s) = TcpStream::connect(addr) else { return };
            let head = b"GET /t/one.bin HTTP/1.1\r\nHost: t\r\nX-Slow: ";
            let _ = s.write_all(head);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if s.write_all(if i % 2 == 0 { b"a" } else { b"\x00" }).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }));
    }
    for i in 0..4u64 {
        let stop = Arc::clone(&stop);
        pests.push(std::thread::spawn(move || {
            let mut x = 0x1234_5678_9abc_def1 ^ i;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok(mut s) = TcpStream::connect(addr) else { return };
                let junk: Vec<u8> = (0..2000)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x as u8
                    })
                    .collect();
                let _ = s.write_all(&junk);
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let _ = s.read(&mut [0u8; 512]);
            }
        }));
    }
    std::thread::sleep(Duration::from_millis(300));
    for i in 0..rounds {
        let t = Instant::now();
        let r = get(addr, "/t/64k.bin");
        assert_eq!(r.status, 200, "round {i}");
        assert!(t.elapsed() < each, "round {i} took {:?} behind slow and garbage clients", t.elapsed());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for p in pests {
        let _ = p.join();
    }
}
