//! Small files kept in memory for a short time (`--cache-ms`, default
//! 1000; 0 turns it off). On Vireo each file-system call is a round trip
//! to the I/O server, and serving a file takes five (canonicalize, stat,
//! open, read, close); a page asked for many times a second is served
//! from here instead. Only 200 answers of files up to `MAX_FILE` are
//! kept, keyed by the decoded path, so what is cached passed every check
//! of `files.rs` when it was read; a change on disk shows within the TTL.
//! Bounded: at most `MAX_BYTES` in all; when full, expired entries are
//! dropped, and if that is not enough nothing new is kept.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The largest file kept (one chunk: it is read in one go anyway).
pub const MAX_FILE: u64 = 64 * 1024;
/// The most bytes of file data kept at once.
pub const MAX_BYTES: usize = 4 * 1024 * 1024;

/// A cached file: its whole 200 responses for an HTTP/1.1 GET, kept
/// alive and closing (head and body in one buffer each, sent as they are
/// with no copy: moto-rt's `memcpy` is a byte loop; a client that opens a
/// connection per request sends `Connection: close` every time), from
/// which the other answers take the body.
#[derive(Clone)]
pub struct Cached {
    pub keep: Whole,
    pub close: Whole,
    pub content_type: &'static str,
}

/// One whole response: `head_len` bytes of head, then the body.
#[derive(Clone)]
pub struct Whole {
    pub bytes: Arc<[u8]>,
    pub head_len: usize,
}

impl Whole {
    fn new(head: Vec<u8>, body: &[u8]) -> Whole {
        let head_len = head.len();
        let mut bytes = head;
        bytes.extend_from_slice(body);
        Whole { bytes: bytes.into(), head_len }
    }

    /// The bytes a GET (`with_body`) or a HEAD gets.
    pub fn answer(&self, with_body: bool) -> &[u8] {
        if with_body {
            &self.bytes
        } else {
            &self.bytes[..self.head_len.min(self.bytes.len())]
        }
    }
}

impl Cached {
    /// The two heads (each ending with the blank line) and the body.
    pub fn new(keep_head: Vec<u8>, close_head: Vec<u8>, body: &[u8], content_type: &'static str) -> Cached {
        Cached { keep: Whole::new(keep_head, body), close: Whole::new(close_head, body), content_type }
    }

    pub fn body(&self) -> &[u8] {
        let w = &self.keep;
        &w.bytes[w.head_len.min(w.bytes.len())..]
    }

    /// The bytes it holds (what `MAX_BYTES` bounds).
    fn size(&self) -> usize {
        self.keep.bytes.len() + self.close.bytes.len()
    }
}

struct Entry {
    file: Cached,
    at: Instant,
}

#[derive(Default)]
struct Inner {
    map: HashMap<String, Entry>,
    bytes: usize,
}

pub struct Cache {
    ttl: Duration,
    inner: Mutex<Inner>,
}

impl Cache {
    pub fn new(ttl: Duration) -> Cache {
        Cache { ttl, inner: Mutex::new(Inner::default()) }
    }

    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// The key of a decoded path: segments never hold a `/`, so joining
    /// them with one is unambiguous.
    pub fn key(segments: &[String], trailing_slash: bool) -> String {
        let mut k = segments.join("/");
        if trailing_slash {
            k.push('/');
        }
        k
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Every change below is complete before the guard drops.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, key: &str) -> Option<Cached> {
        if !self.enabled() {
            return None;
        }
        let g = self.lock();
        g.map.get(key).filter(|e| e.at.elapsed() < self.ttl).map(|e| e.file.clone())
    }

    pub fn put(&self, key: String, file: Cached) {
        let len = file.size();
        if !self.enabled() || file.body().len() as u64 > MAX_FILE {
            return;
        }
        let mut g = self.lock();
        if let Some(old) = g.map.remove(&key) {
            g.bytes -= old.file.size();
        }
        if g.bytes + len > MAX_BYTES {
            let ttl = self.ttl;
            g.map.retain(|_, e| e.at.elapsed() < ttl);
            g.bytes = g.map.values().map(|e| e.file.size()).sum();
            if g.bytes + len > MAX_BYTES {
                return;
            }
        }
        g.bytes += len;
        g.map.insert(key, Entry { file, at: Instant::now() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(n: usize) -> Cached {
        Cached::new(Vec::new(), Vec::new(), &vec![7u8; n], "text/plain")
    }

    #[test]
    fn entries_expire_and_are_bounded() {
        let c = Cache::new(Duration::from_millis(50));
        c.put("a".into(), file(3));
        assert_eq!(c.get("a").map(|f| f.body().len()), Some(3));
        assert!(c.get("b").is_none());
        std::thread::sleep(Duration::from_millis(60));
        assert!(c.get("a").is_none(), "expired");
        c.put("big".into(), file(MAX_FILE as usize + 1));
        assert!(c.get("big").is_none(), "too big to keep");
        for i in 0..MAX_BYTES / MAX_FILE as usize {
            c.put(format!("f{i}"), file(MAX_FILE as usize));
        }
        c.put("one-more".into(), file(1));
        assert!(c.get("one-more").is_none(), "full of live entries");
        assert!(c.lock().bytes <= MAX_BYTES);
        std::thread::sleep(Duration::from_millis(60));
        c.put("one-more".into(), file(1));
        assert!(c.get("one-more").is_some(), "expired entries made room");
        assert_eq!(c.lock().bytes, 2, "the body twice: kept alive and closing");
    }

    #[test]
    fn off_means_off_and_keys_are_distinct() {
        let c = Cache::new(Duration::ZERO);
        c.put("a".into(), file(1));
        assert!(c.get("a").is_none());
        assert_ne!(Cache::key(&["d".into()], true), Cache::key(&["d".into()], false));
        assert_eq!(Cache::key(&["a".into(), "b".into()], false), "a/b");
    }
}
