//! One connection: read a head within its deadline, answer it, and go on
//! while the connection is kept alive.
//!
//! Deadlines (no client holds a worker for ever): the first head must be
//! complete within `header_timeout` of the accept; later ones must start
//! within `idle_timeout` of the previous response and then be complete
//! within `header_timeout` of their first byte; every socket write (at
//! most 64 KiB) must finish within `write_timeout`. A head beyond
//! `MAX_HEAD` is a 413, a body beyond `MAX_BODY` too; a connection serves
//! at most `max_requests`.
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use crate::args::Config;
use crate::cache::{self, Cache, Cached};
use crate::files::{Resolved, Root};
use crate::http::{self, Method, Request, Version};
use crate::log;
use crate::path;
use crate::response::{self, After, Head, CLOSE};

/// The largest request head (request line and headers) read.
pub const MAX_HEAD: usize = 8 * 1024;
/// The most one read takes.
const READ_CHUNK: usize = 4 * 1024;
/// The largest request body read (and discarded) on a GET or HEAD.
pub const MAX_BODY: u64 = 8 * 1024;

/// What every connection shares.
pub struct Site {
    pub root: Root,
    pub cache: Cache,
    pub cfg: Config,
}

fn ok_head(content_type: &str, len: u64, keep: bool, http10: bool) -> Head {
    Head::new(200).header("Content-Type", content_type).header("Content-Length", len).connection(keep, http10)
}

/// How reading a head ended, when no head came.
enum NoHead {
    /// The client closed, or went quiet between requests: close quietly.
    Gone,
    /// Part of a head, then the deadline: 408.
    TimedOut,
    /// `MAX_HEAD` bytes without the end of the head: 413.
    TooLarge,
}

/// The socket's write side with a deadline per `write_all` (one chunk of
/// at most 64 KiB): a socket write timeout alone restarts with every
/// partial write, so a client taking a byte at a time would never trip it.
struct Timed {
    stream: TcpStream,
    limit: Duration,
}

impl Write for Timed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }

    fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        let deadline = Instant::now() + self.limit;
        while !buf.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left < Duration::from_millis(1) {
                return Err(io::ErrorKind::TimedOut.into());
            }
            // Best effort: without socket timeouts there is no deadline, but still service.
            let _ = self.stream.set_write_timeout(Some(left));
            match self.stream.write(buf) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => buf = &buf[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A worker's buffers, kept from one connection to the next: zeroing a
/// fresh 4 KiB read buffer for each connection cost 16 k instructions
/// (moto-rt's `memset` is a byte loop), a third of a request's own cost
/// when every request opens a connection.
pub struct Buffers {
    /// Bytes read and not yet consumed (pipelined requests stay here);
    /// at most `MAX_HEAD + MAX_BODY`.
    buf: Vec<u8>,
    /// Where reads land before joining `buf`.
    scratch: Box<[u8]>,
}

impl Default for Buffers {
    fn default() -> Buffers {
        Buffers { buf: Vec::with_capacity(MAX_HEAD), scratch: vec![0; READ_CHUNK].into_boxed_slice() }
    }
}

struct Conn<'a> {
    stream: Timed,
    site: &'a Site,
    buf: &'a mut Vec<u8>,
    scratch: &'a mut [u8],
}

pub fn serve(stream: TcpStream, site: &Site, bufs: &mut Buffers) {
    let accepted = Instant::now();
    // Best effort: a platform without these still serves, only less well.
    let _ = stream.set_nodelay(true);
    let stream = Timed { stream, limit: site.cfg.write_timeout };
    bufs.buf.clear();
    let mut c = Conn { stream, site, buf: &mut bufs.buf, scratch: &mut bufs.scratch };
    let mut served = 0u32;
    loop {
        let idle_deadline = (served > 0).then(|| Instant::now() + site.cfg.idle_timeout);
        let head_len = match c.read_head(accepted, idle_deadline) {
            Ok(n) => n,
            Err(NoHead::Gone) => return,
            Err(e) => {
                let status = if matches!(e, NoHead::TimedOut) { 408 } else { 413 };
                let t = Instant::now();
                let sent = response::send_error(&mut c.stream, status, None, CLOSE);
                log::request(&site.cfg, c.buf, status, sent.unwrap_or(0), t);
                c.close();
                return;
            }
        };
        served += 1;
        let t = Instant::now();
        let last = served >= site.cfg.max_requests;
        let (status, sent, keep) = c.answer(head_len, last);
        log::request(&site.cfg, &c.buf[..head_len], status, sent.as_ref().map_or(0, |&n| n), t);
        c.buf.drain(..head_len.min(c.buf.len()));
        if sent.is_err() || !keep {
            c.close();
            return;
        }
    }
}

impl Conn<'_> {
    /// Reads until `buf` holds a complete head; returns its length.
    fn read_head(&mut self, accepted: Instant, idle_deadline: Option<Instant>) -> Result<usize, NoHead> {
        let cfg = &self.site.cfg;
        let mut deadline = idle_deadline.unwrap_or(accepted + cfg.header_timeout);
        let mut waiting_idle = idle_deadline.is_some();
        loop {
            if let Some(n) = http::head_len(self.buf) {
                return Ok(n);
            }
            if self.buf.len() >= MAX_HEAD {
                return Err(NoHead::TooLarge);
            }
            if waiting_idle && !self.buf.is_empty() {
                waiting_idle = false;
                deadline = Instant::now() + cfg.header_timeout;
            }
            let quiet = if self.buf.is_empty() { NoHead::Gone } else { NoHead::TimedOut };
            match self.read_until(deadline, MAX_HEAD) {
                Ok(0) | Err(_) => return Err(quiet),
                Ok(_) => {}
            }
        }
    }

    /// One read into `buf` (up to `limit` bytes held) that must come
    /// before `deadline`.
    fn read_until(&mut self, deadline: Instant, limit: usize) -> io::Result<usize> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left < Duration::from_millis(1) {
            return Err(io::ErrorKind::TimedOut.into());
        }
        // Best effort: without socket timeouts there is no deadline, but still service.
        let _ = self.stream.stream.set_read_timeout(Some(left));
        let room = limit.saturating_sub(self.buf.len()).clamp(1, READ_CHUNK);
        let r = loop {
            match self.stream.stream.read(&mut self.scratch[..room]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => break r,
            }
        };
        if let Ok(n) = r {
            self.buf.extend_from_slice(&self.scratch[..n]);
        }
        r
    }

    /// Answers the head at the start of `buf`; returns the status, the
    /// body bytes sent (or the write error) and whether to keep going.
    fn answer(&mut self, head_len: usize, last: bool) -> (u16, io::Result<u64>, bool) {
        let head = self.buf[..head_len].to_vec();
        let req = match http::parse(&head) {
            Ok(r) => r,
            Err(e) => {
                // A HEAD that is otherwise wrong still gets no body.
                let after = After { with_body: !head.trim_ascii_start().starts_with(b"HEAD "), ..CLOSE };
                return (e.status(), response::send_error(&mut self.stream, e.status(), e.why(), after), false);
            }
        };
        if req.content_length > MAX_BODY {
            let after = After { with_body: req.method == Method::Get, ..CLOSE };
            return (413, response::send_error(&mut self.stream, 413, Some("request body too large"), after), false);
        }
        if let Err(e) = self.skip_body(head_len, req.content_length) {
            return (408, Err(e), false);
        }
        let keep = req.keep_alive && !last;
        let http10 = req.version == Version::Http10;
        let (status, sent) = self.answer_path(&req, keep, http10);
        (status, sent, keep)
    }

    fn answer_path(&mut self, req: &Request<'_>, keep: bool, http10: bool) -> (u16, io::Result<u64>) {
        let with_body = req.method == Method::Get;
        let after = After { keep_alive: keep, http10, with_body };
        let url = match path::decode(req.target) {
            Ok(u) => u,
            Err(e) => return (400, response::send_error(&mut self.stream, 400, Some(e.reason()), after)),
        };
        let cache = &self.site.cache;
        let key = cache.enabled().then(|| Cache::key(&url.segments, url.trailing_slash));
        if let Some(hit) = key.as_deref().and_then(|k| cache.get(k)) {
            return (200, self.send_cached(&hit, keep, http10, with_body));
        }
        match self.site.root.resolve(&url) {
            Ok(Resolved::File { mut file, len, content_type }) => {
                let head = ok_head(content_type, len, keep, http10);
                let Some(key) = key.filter(|_| len <= cache::MAX_FILE) else {
                    return (200, response::send_file(&mut self.stream, head, &mut file, len, with_body));
                };
                match response::read_small(&mut file, len) {
                    Ok(body) => {
                        let hit = Cached::new(
                            ok_head(content_type, len, true, false).into_bytes(),
                            ok_head(content_type, len, false, false).into_bytes(),
                            &body,
                            content_type,
                        );
                        cache.put(key, hit.clone());
                        (200, self.send_cached(&hit, keep, http10, with_body))
                    }
                    // Nothing sent yet: say so rather than send short.
                    Err(_) => (500, response::send_error(&mut self.stream, 500, None, after)),
                }
            }
            Ok(Resolved::Directory) => {
                // The target is visible ASCII (the parser checked), so it
                // cannot break the header; one leading slash only, or
                // `//host/dir` would send the client to another host.
                let p = req.target.split(['?', '#']).next().unwrap_or("/").trim_start_matches('/');
                let head = Head::new(301).header("Location", format_args!("/{p}/")).connection(keep, http10);
                (301, response::send_text(&mut self.stream, head, "301 Moved Permanently\n", with_body))
            }
            Err(e) => (e.status(), response::send_error(&mut self.stream, e.status(), None, after)),
        }
    }

    /// A cached file's 200: a stored response as it is for HTTP/1.1 (kept
    /// alive or closing), else a head made for this request.
    fn send_cached(&mut self, hit: &Cached, keep: bool, http10: bool, with_body: bool) -> io::Result<u64> {
        let body = hit.body();
        if !http10 {
            let whole = if keep { &hit.keep } else { &hit.close };
            self.stream.write_all(whole.answer(with_body))?;
            return Ok(if with_body { body.len() as u64 } else { 0 });
        }
        let head = ok_head(hit.content_type, body.len() as u64, keep, http10);
        response::send_bytes(&mut self.stream, head, body, with_body)
    }

    /// Drops a body of `len` bytes after the head (some may be in `buf`
    /// already), within the header deadline; the head stays in `buf`.
    fn skip_body(&mut self, head_len: usize, len: u64) -> io::Result<()> {
        let want = head_len + len as usize;
        let deadline = Instant::now() + self.site.cfg.header_timeout;
        while self.buf.len() < want {
            if self.read_until(deadline, want)? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        self.buf.drain(head_len..want);
        Ok(())
    }

    /// Closes after the last response: no more writes, then a short wait
    /// for the client to close first, so bytes it sent that we did not
    /// read do not turn our close into a reset that loses the response.
    fn close(&mut self) {
        let s = &mut self.stream.stream;
        let _ = s.shutdown(Shutdown::Write);
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        let mut drained = 0;
        while drained < 64 * 1024 {
            match s.read(self.scratch) {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
    }
}
