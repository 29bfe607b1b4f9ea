//! `fetch [-o FILE] [-t SECONDS] [-q] URL`: GETs an `http://` URL
//! (HTTP/1.1, one request per connection), following up to 5 redirects,
//! and writes the body to stdout or FILE. Names go through std's
//! `ToSocketAddrs` (on Vireo the I/O server's resolver). Every failure is
//! one line, `fetch: URL: why`, and status 1; a bad command line status 2.
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use crate::common::{bad_args, usage_error};
use crate::http::{self, HttpError, Url};

pub const USAGE: &str = "usage: fetch [-o FILE] [-t SECONDS] [-q] URL
GETs an http:// URL and writes the body to stdout (or FILE with -o),
following up to 5 redirects. -t: timeout for connecting and for each read
(default 10 s). -q: no summary line (status, URL, bytes, time) on stderr. A status other than 2xx is
an error (status 1) and nothing is written.";

const MAX_REDIRECTS: usize = 5;

pub fn run(args: &[String]) -> ExitCode {
    let a = match crate::args::parse(args, "q", "ot") {
        Ok(a) => a,
        Err(e) => return bad_args("fetch", USAGE, &e),
    };
    let [url] = a.operands.as_slice() else { return usage_error("fetch", USAGE, "expected one URL") };
    let timeout = match a.value('t').map(str::parse::<f64>) {
        None => Duration::from_secs(10),
        Some(Ok(s)) if s > 0.0 && s <= 3600.0 => Duration::from_secs_f64(s),
        Some(_) => return usage_error("fetch", USAGE, "invalid timeout: expected seconds in (0, 3600]"),
    };
    let out = a.value('o');
    let start = std::time::Instant::now();
    match fetch(url, out, timeout) {
        Ok(done) => {
            if !a.has('q') {
                let ms = start.elapsed().as_millis();
                eprintln!("fetch: {} {}: {} bytes in {ms} ms", done.status, done.url, done.bytes);
            }
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("fetch: {url}: {why}");
            ExitCode::FAILURE
        }
    }
}

struct Done {
    status: u16,
    url: String,
    bytes: u64,
}

fn fetch(url: &str, out: Option<&str>, timeout: Duration) -> Result<Done, String> {
    let mut url = Url::parse(url).map_err(|e| e.to_string())?;
    for _ in 0..=MAX_REDIRECTS {
        let stream = connect(&url, timeout)?;
        let err = |e: HttpError| e.to_string();
        (&stream).write_all(http::request(&url).as_bytes()).map_err(|e| err(e.into()))?;
        let mut r = BufReader::with_capacity(64 * 1024, &stream);
        let head = http::read_head(&mut r).map_err(err)?;
        let shown = format!("http://{}{}", url.host_header(), url.target);
        if matches!(head.status, 301 | 302 | 303 | 307 | 308) {
            let to = head.field("location").ok_or(format!("{} {} without a Location", head.status, head.reason))?;
            url = url.join(to).map_err(|e| format!("redirect to '{to}': {e}"))?;
            continue;
        }
        if !(200..300).contains(&head.status) {
            return Err(format!("the server answered {} {}", head.status, head.reason));
        }
        let framing = head.framing().map_err(err)?;
        let bytes = match out {
            Some(path) => {
                let f = File::create(path).map_err(|e| format!("{path}: {}", crate::common::describe(&e)))?;
                let mut w = BufWriter::with_capacity(64 * 1024, f);
                let n = http::copy_body(&mut r, framing, &mut w).map_err(err)?;
                w.flush().map_err(|e| format!("{path}: {}", crate::common::describe(&e)))?;
                n
            }
            None => {
                let mut w = io::stdout().lock();
                let n = http::copy_body(&mut r, framing, &mut w).map_err(err)?;
                w.flush().map_err(|e| err(e.into()))?;
                n
            }
        };
        return Ok(Done { status: head.status, url: shown, bytes });
    }
    Err(format!("more than {MAX_REDIRECTS} redirects"))
}

/// A connection to the URL's host, trying each of its addresses in turn.
fn connect(url: &Url, timeout: Duration) -> Result<TcpStream, String> {
    let addrs: Vec<SocketAddr> = (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {}", url.host, resolve_error(&e)))?
        .filter(SocketAddr::is_ipv4)
        .collect();
    let mut last = format!("no IPv4 address for {}", url.host);
    for a in addrs {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(s) => {
                s.set_read_timeout(Some(timeout))
                    .and_then(|()| s.set_write_timeout(Some(timeout)))
                    .map_err(|e| e.to_string())?;
                return Ok(s);
            }
            Err(e) => last = format!("cannot connect to {a}: {}", connect_error(&e)),
        }
    }
    Err(last)
}

fn resolve_error(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such host".into(),
        io::ErrorKind::TimedOut => "timed out".into(),
        _ => e.to_string(),
    }
}

/// On Vireo a refused connection is `NotConnected`, as is one with no
/// route (docs/network.md: std's codes for this target have no
/// ConnectionRefused), so the message names both.
fn connect_error(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".into(),
        io::ErrorKind::NotConnected => "connection refused (or network unreachable)".into(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => "timed out".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;

    /// A server on the loopback answering each connection with the next of `answers`.
    fn server(answers: Vec<Vec<u8>>) -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for a in answers {
                let (mut s, _) = l.accept().unwrap();
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = s.write_all(&a);
            }
        });
        port
    }

    #[test]
    fn follows_a_redirect_and_writes_the_file() {
        let port = server(vec![
            b"HTTP/1.1 302 Found\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n".to_vec(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody".to_vec(),
        ]);
        let dir = std::env::temp_dir().join(format!("fetch-test-{}", std::process::id()));
        let path = dir.to_string_lossy().to_string();
        let done = fetch(&format!("http://127.0.0.1:{port}/a"), Some(&path), Duration::from_secs(5)).unwrap();
        assert_eq!((done.status, done.bytes), (200, 4));
        assert_eq!(done.url, format!("http://127.0.0.1:{port}/b"));
        assert_eq!(std::fs::read(&dir).unwrap(), b"body");
        let _ = std::fs::remove_file(&dir);
    }

    #[test]
    fn errors_are_one_line() {
        let port = server(vec![b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec()]);
        let e = fetch(&format!("http://127.0.0.1:{port}/"), None, Duration::from_secs(5)).err().unwrap();
        assert_eq!(e, "the server answered 404 Not Found");
        let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let e = fetch(&format!("http://127.0.0.1:{closed}/"), None, Duration::from_secs(5)).err().unwrap();
        assert_eq!(e, format!("cannot connect to 127.0.0.1:{closed}: connection refused"));
        let e = fetch("ftp://x/", None, Duration::from_secs(1)).err().unwrap();
        assert!(e.starts_with("bad URL: scheme 'ftp'"), "{e}");
        let loop_port = server(vec![b"HTTP/1.1 301 M\r\nLocation: /\r\n\r\n".to_vec(); 6]);
        let e = fetch(&format!("http://127.0.0.1:{loop_port}/"), None, Duration::from_secs(5)).err().unwrap();
        assert_eq!(e, "more than 5 redirects");
    }

    #[test]
    fn a_silent_server_times_out() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let e = fetch(&format!("http://127.0.0.1:{port}/"), None, Duration::from_millis(200)).err().unwrap();
        assert_eq!(e, "timed out");
        drop(l);
    }
}
