//! httpd on the host: the binary built for Linux, started on 127.0.0.1
//! with a free port and a temporary root, driven by the checks of
//! `common` (the same the VM test runs against Vireo), plus what only the
//! host can set up cheaply: symlinks, short deadlines, a small cap.
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

/// A running httpd, killed when dropped, and its stdout lines.
struct Server {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    dir: PathBuf,
}

impl Server {
    /// Serves a fresh copy of the test site with `args` added.
    fn start(args: &[&str]) -> Server {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("httpd-host-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let root = dir.join("www");
        write_site(&root);
        std::fs::write(root.join("index.html"), INDEX).expect("index");
        std::fs::write(dir.join("secret.txt"), "root:x:0:0 secret\n").expect("secret");
        std::os::unix::fs::symlink("../secret.txt", root.join("t/link-out")).expect("symlink");
        std::os::unix::fs::symlink("/etc", root.join("t/etc")).expect("symlink");
        std::os::unix::fs::symlink("one.bin", root.join("t/link-in")).expect("symlink");
        let mut child = Command::new(env!("CARGO_BIN_EXE_httpd"))
            .args(["--addr", "127.0.0.1", "--port", "0", "--root"])
            .arg(&root)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start httpd");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        out.read_line(&mut first).expect("httpd's first line");
        // httpd: serving ROOT on 127.0.0.1:PORT (...)
        let addr = first
            .split(" on ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {first:?}"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = Arc::clone(&log);
        // Drained all along: a full pipe would block httpd's log writes.
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                l.lock().unwrap_or_else(|e| e.into_inner()).push(line);
            }
        });
        Server { child, addr, log, dir }
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn serves_files_by_checksum_and_type() {
    let s = Server::start(&["--quiet"]);
    check_files(s.addr);
    let r = get(s.addr, "/");
    assert_eq!((r.status, r.body.as_slice()), (200, INDEX.as_bytes()));
}

#[test]
fn head_requests() {
    check_head(Server::start(&["--quiet"]).addr);
}

#[test]
fn keep_alive_and_pipelining() {
    check_keep_alive(Server::start(&["--quiet"]).addr);
}

#[test]
fn bad_requests_get_their_codes() {
    check_bad_requests(Server::start(&["--quiet"]).addr);
}

#[test]
fn no_escape_from_the_root() {
    let s = Server::start(&["--quiet"]);
    check_traversal(s.addr);
    assert_eq!(get(s.addr, "/t/link-out").status, 404, "a symlink out of the root");
    assert_eq!(get(s.addr, "/t/etc/passwd").status, 404, "a symlink to /etc");
    let r = get(s.addr, "//t/sub");
    assert_eq!((r.status, r.header("location")), (301, Some("/t/sub/")), "no redirect to another host");
    let r = get(s.addr, "/t/link-in");
    assert_eq!((r.status, r.body.len()), (200, 1), "a symlink inside the root");
}

#[test]
fn two_hundred_concurrent_connections() {
    check_concurrent(Server::start(&["--quiet"]).addr, 200);
}

#[test]
fn slow_and_garbage_clients_do_not_stop_others() {
    check_slow_and_garbage_clients(Server::start(&["--quiet"]).addr, 20, Duration::from_secs(2));
}

/// A head trickling in is cut off at the header deadline (408), and an
/// idle kept-alive connection at the idle one.
#[test]
fn deadlines_close_slow_and_idle_connections() {
    let s = Server::start(&["--quiet", "--header-timeout", "1", "--idle-timeout", "0.5"]);
    let mut c = connect(s.addr);
    let t = Instant::now();
    c.write_all(b"GET /t/one.bin HTTP/1.1\r\nHost: t\r\n").expect("send");
    let mut trickle = c.try_clone().expect("clone");
    std::thread::spawn(move || {
        while trickle.write_all(b"X-A: b\r\n").is_ok() {
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let r = read_response(&mut BufReader::new(c), false).expect("a 408");
    assert_eq!(r.status, 408);
    let took = t.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(3), "408 after {took:?}");

    let c = connect(s.addr);
    let mut r = BufReader::new(c.try_clone().expect("clone"));
    (&c).write_all(b"GET /t/one.bin HTTP/1.1\r\nHost: t\r\n\r\n").expect("send");
    assert_eq!(read_response(&mut r, false).expect("response").status, 200);
    let t = Instant::now();
    assert_closed(&mut r, "after the idle timeout");
    assert!(t.elapsed() < Duration::from_secs(2), "idle connection closed after {:?}", t.elapsed());

    // A connection that never sends a byte is closed at the header deadline.
    let mut c = connect(s.addr);
    let t = Instant::now();
    assert_closed(&mut c, "a silent connection");
    assert!(t.elapsed() < Duration::from_secs(3), "silent connection closed after {:?}", t.elapsed());
}

/// Clients that ask for 16 MiB and never read hold their workers only
/// until the write deadline; then the workers serve others again.
#[test]
fn clients_that_never_read_are_dropped() {
    let s = Server::start(&["--quiet", "--threads", "4", "--write-timeout", "1"]);
    let stuck: Vec<_> = (0..4)
        .map(|_| {
            let mut c = connect(s.addr);
            // 64 MiB of answers: more than any socket buffers take.
            c.write_all(&b"GET /t/16m.bin HTTP/1.1\r\nHost: t\r\n\r\n".repeat(4)).expect("send");
            c
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(get(s.addr, "/t/one.bin").status, 503, "all 4 workers should be stuck writing");
    let t = Instant::now();
    loop {
        let r = get(s.addr, "/t/one.bin");
        if r.status == 200 {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "workers still stuck after {:?}", t.elapsed());
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(stuck);
}

/// Beyond --threads connections at once, the next is told 503.
#[test]
fn connections_beyond_the_cap_get_503() {
    let s = Server::start(&["--quiet", "--threads", "2"]);
    let _held: Vec<_> = (0..2).map(|_| connect(s.addr)).collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut c = connect(s.addr);
    let mut b = Vec::new();
    let _ = c.read_to_end(&mut b);
    assert!(b.starts_with(b"HTTP/1.1 503 "), "{:?}", String::from_utf8_lossy(&b));
}

/// A connection is closed after --max-requests.
#[test]
fn max_requests_per_connection() {
    let s = Server::start(&["--quiet", "--max-requests", "2"]);
    let c = connect(s.addr);
    let mut r = BufReader::new(c.try_clone().expect("clone"));
    (&c).write_all(b"GET /t/one.bin HTTP/1.1\r\nHost: t\r\n\r\n".repeat(2).as_slice()).expect("send");
    assert_eq!(read_response(&mut r, false).expect("1").header("connection"), None);
    assert_eq!(read_response(&mut r, false).expect("2").header("connection"), Some("close"));
    assert_closed(&mut r, "after --max-requests");
}

/// The request log: one escaped line per request; none with --quiet.
#[test]
fn request_log() {
    let s = Server::start(&[]);
    get(s.addr, "/t/64k.bin");
    expect(s.addr, b"GET /a\x1b[2J HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    let t = Instant::now();
    while s.log().len() < 2 && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    // Lines come in the order the workers finish, not the requests'.
    let log = s.log();
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log.iter().any(|l| l.starts_with("httpd: GET /t/64k.bin 200 65536 ") && l.ends_with("us")), "{log:?}");
    assert!(log.iter().any(|l| l.starts_with("httpd: GET /a\\x1b[2J 400 ")), "{log:?}");
    let q = Server::start(&["--quiet"]);
    get(q.addr, "/t/one.bin");
    std::thread::sleep(Duration::from_millis(100));
    assert!(q.log().is_empty(), "{:?}", q.log());
}

#[test]
fn command_line_errors() {
    let bin = env!("CARGO_BIN_EXE_httpd");
    let o = Command::new(bin).arg("--bogus").output().expect("run");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("httpd: unknown argument \"--bogus\""), "{err}");
    let o = Command::new(bin).args(["--port", "x"]).output().expect("run");
    assert_eq!(o.status.code(), Some(2));
    let o = Command::new(bin).args(["--root", "/nonexistent-httpd-root"]).output().expect("run");
    assert_eq!(o.status.code(), Some(1));
    let o = Command::new(bin).arg("--help").output().expect("run");
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains("--root DIR"));
}

/// Mutated and random requests against the running server: every one is
/// answered with a status the server can give (or, for a head that
/// never ends, closed at the deadline), and ordinary requests still work.
#[test]
fn fuzzed_requests_on_the_wire() {
    let s = Server::start(&["--quiet", "--header-timeout", "0.3"]);
    let addr = s.addr;
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            std::thread::spawn(move || {
                let mut x = 0x5851_f42d_4c95_7f2d ^ (t + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                let mut rnd = move || {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x
                };
                let valid = b"GET /t/a.txt?q=1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n";
                for i in 0..60 {
                    let mut req = valid.to_vec();
                    if i % 4 == 3 {
                        req = (0..rnd() % 300).map(|_| rnd() as u8).collect();
                    } else {
                        for _ in 0..=rnd() % 6 {
                            let at = (rnd() as usize) % req.len();
                            match rnd() % 3 {
                                0 => req[at] = rnd() as u8,
                                1 => {
                                    req.remove(at);
                                }
                                _ => req.insert(at, rnd() as u8),
                            }
                        }
                    }
                    req.extend_from_slice(b"\r\n\r\n");
                    let mut c = connect(addr);
                    let _ = c.write_all(&req);
                    let mut r = BufReader::new(c);
                    match read_response(&mut r, true) {
                        Ok(resp) => assert!(
                            [200, 301, 400, 404, 405, 408, 413, 501, 505].contains(&resp.status),
                            "{:?} -> {resp:?}",
                            String::from_utf8_lossy(&req)
                        ),
                        // Closed without a response: only for a head
                        // that was not complete (a stray LF-less tail).
                        Err(e) => assert!(
                            e.kind() == std::io::ErrorKind::UnexpectedEof
                                || e.kind() == std::io::ErrorKind::ConnectionReset,
                            "{:?}: {e}",
                            String::from_utf8_lossy(&req)
                        ),
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a fuzzing client failed");
    }
    check_files(addr);
}

/// Small files are served from memory for --cache-ms after a read, then
/// read again; with 0 every request reads the disk.
#[test]
fn small_files_are_cached_briefly() {
    let s = Server::start(&["--quiet", "--cache-ms", "300"]);
    let p = s.dir.join("www/t/a.txt");
    assert_eq!(get(s.addr, "/t/a.txt").body, b"a.txt\n");
    std::fs::write(&p, "changed\n").expect("rewrite");
    let r = get(s.addr, "/t/a.txt");
    assert_eq!((r.body.as_slice(), r.header("connection")), (&b"a.txt\n"[..], Some("close")), "within the TTL");
    // The cache keeps a kept-alive answer too, without `Connection`.
    let r = exchange(s.addr, b"GET /t/a.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!((r.body.as_slice(), r.header("connection")), (&b"a.txt\n"[..], None), "kept alive");
    std::thread::sleep(Duration::from_millis(400));
    let r = get(s.addr, "/t/a.txt");
    assert_eq!((r.body.as_slice(), r.header("content-type")), (&b"changed\n"[..], Some("text/plain; charset=utf-8")));
    std::fs::remove_file(&p).expect("remove");
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(get(s.addr, "/t/a.txt").status, 404);

    let s = Server::start(&["--quiet", "--cache-ms", "0"]);
    let p = s.dir.join("www/t/a.txt");
    assert_eq!(get(s.addr, "/t/a.txt").body, b"a.txt\n");
    std::fs::write(&p, "changed\n").expect("rewrite");
    assert_eq!(get(s.addr, "/t/a.txt").body, b"changed\n");
}
