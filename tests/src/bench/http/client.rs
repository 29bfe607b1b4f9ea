//! The benchmark's own HTTP/1.0 client: the readiness probe (does the port
//! answer the small page?) and the bulk figure (the 64 MiB file over one
//! connection, checked byte for byte).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// One answer.
#[derive(Debug, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    /// From the request's first byte to the body's last.
    pub seconds: f64,
}

/// The status code of `HTTP/1.x NNN ...`, and where the body starts.
pub fn head(bytes: &[u8]) -> Option<(u16, usize)> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let text = std::str::from_utf8(&bytes[..end]).ok()?;
    let mut words = text.lines().next()?.split_whitespace();
    if !words.next()?.starts_with("HTTP/1.") {
        return None;
    }
    Some((words.next()?.parse().ok()?, end))
}

/// `GET path` on 127.0.0.1:`port`; each read or write may take `timeout`.
pub fn get(port: u16, path: &str, timeout: Duration) -> Result<Answer, String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let t0 = Instant::now();
    let mut s = TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(timeout)).and_then(|()| s.set_write_timeout(Some(timeout))).map_err(|e| e.to_string())?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    let mut all = Vec::new();
    s.read_to_end(&mut all).map_err(|e| format!("read after {} bytes: {e}", all.len()))?;
    let seconds = t0.elapsed().as_secs_f64();
    let (status, body_at) = head(&all).ok_or_else(|| format!("no HTTP answer ({} bytes)", all.len()))?;
    Ok(Answer { status, body: all.split_off(body_at), seconds })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn heads() {
        assert_eq!(head(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"), Some((200, 38)));
        assert_eq!(head(b"HTTP/1.0 404 Not Found\r\n\r\n"), Some((404, 26)));
        assert_eq!(head(b"HTTP/1.1 200 OK\r\n"), None);
        assert_eq!(head(b"SSH-2.0\r\n\r\n"), None);
    }

    #[test]
    fn gets_from_a_local_server() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let t = std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            let mut req = [0u8; 512];
            let n = c.read(&mut req).unwrap();
            assert!(req[..n].starts_with(b"GET /x HTTP/1.0\r\n"));
            c.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello").unwrap();
        });
        let a = get(port, "/x", Duration::from_secs(10)).unwrap();
        t.join().unwrap();
        assert_eq!((a.status, a.body.as_slice()), (200, b"hello".as_slice()));
        assert!(get(port, "/x", Duration::from_secs(2)).is_err());
    }
}
