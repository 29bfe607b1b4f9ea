//! The parser against well-formed, malformed and random heads.
use super::*;

fn ok(head: &str) -> Request<'_> {
    parse(head.as_bytes()).unwrap_or_else(|e| panic!("{head:?}: {e:?}"))
}

fn status(head: &str) -> u16 {
    match parse(head.as_bytes()) {
        Ok(r) => panic!("{head:?} parsed: {r:?}"),
        Err(e) => e.status(),
    }
}

#[test]
fn a_simple_get() {
    let r = ok("GET /index.html?x=1 HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(r.method, Method::Get);
    assert_eq!(r.target, "/index.html?x=1");
    assert_eq!(r.version, Version::Http11);
    assert!(r.keep_alive);
    assert_eq!(r.content_length, 0);
}

#[test]
fn keep_alive_defaults_and_overrides() {
    assert!(!ok("GET / HTTP/1.0\r\n\r\n").keep_alive);
    assert!(ok("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
    assert!(!ok("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").keep_alive);
    assert!(!ok("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n").keep_alive);
    assert!(!ok("GET / HTTP/1.0\r\nConnection: close\r\nConnection: keep-alive\r\n\r\n").keep_alive);
}

#[test]
fn head_bare_lf_and_leading_blank_lines() {
    let r = ok("\r\n\nHEAD /a HTTP/1.1\nHost: a\n\n");
    assert_eq!(r.method, Method::Head);
    assert_eq!(r.target, "/a");
}

#[test]
fn absolute_form_keeps_only_the_path() {
    assert_eq!(ok("GET http://example.com/x/y HTTP/1.1\r\nHost: a\r\n\r\n").target, "/x/y");
    assert_eq!(ok("GET HTTP://example.com HTTP/1.1\r\nHost: a\r\n\r\n").target, "/");
    assert_eq!(status("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}

#[test]
fn content_length() {
    assert_eq!(ok("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n").content_length, 12);
    assert_eq!(ok("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n").content_length, 5);
    for bad in ["-1", "+1", "1 2", "0x10", "", "99999999999999999999999"] {
        assert_eq!(status(&format!("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: {bad}\r\n\r\n")), 400, "{bad}");
    }
    assert_eq!(status("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"), 400);
}

#[test]
fn transfer_codings_are_501_and_smuggling_400() {
    assert_eq!(status("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"), 501);
    assert_eq!(status("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"), 400);
    assert_eq!(status("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
}

#[test]
fn bad_request_lines_are_400() {
    for head in [
        "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
        "GET /\r\n\r\n",
        "GET\r\n\r\n",
        " GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1x\r\nHost: a\r\n\r\n",
        "GET / http/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/11\r\nHost: a\r\n\r\n",
        "GET index.html HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /a\x01b HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /\u{e9} HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\rHost: a\r\n\r\n",
        "\r\n\r\n",
    ] {
        assert_eq!(status(head), 400, "{head:?}");
    }
}

#[test]
fn bad_headers_are_400() {
    for field in ["Host : a", " folded", "NoColon", "Bad Name: x", "X: a\x00b", "X: a\x7fb", "(x): y", ": empty"] {
        let head = format!("GET / HTTP/1.1\r\nHost: a\r\n{field}\r\n\r\n");
        assert_eq!(status(&head), 400, "{field:?}");
    }
    assert_eq!(status("GET / HTTP/1.1\r\n\r\n"), 400, "no Host");
    assert_eq!(status("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400, "two Hosts");
    // obs-text and tabs are allowed in values.
    ok("GET / HTTP/1.1\r\nHost: a\r\nX: caf\u{e9}\tok\r\n\r\n");
}

#[test]
fn other_versions_are_505() {
    for v in ["HTTP/2.0", "HTTP/2", "HTTP/3", "HTTP/0.9", "HTTP/1.2"] {
        assert_eq!(status(&format!("GET / {v}\r\nHost: a\r\n\r\n")), 505, "{v}");
    }
}

#[test]
fn other_methods_are_405_but_broken_ones_400() {
    for m in ["POST", "PUT", "DELETE", "OPTIONS", "get", "BREW"] {
        assert_eq!(status(&format!("{m} / HTTP/1.1\r\nHost: a\r\n\r\n")), 405, "{m}");
    }
    assert_eq!(status("POST / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n"), 400);
}

#[test]
fn too_many_fields_are_413() {
    let mut head = String::from("GET / HTTP/1.1\r\nHost: a\r\n");
    for i in 0..MAX_HEADERS {
        head.push_str(&format!("X-{i}: y\r\n"));
    }
    head.push_str("\r\n");
    assert_eq!(status(&head), 413);
}

#[test]
fn head_len_finds_the_end() {
    assert_eq!(head_len(b"GET / HTTP/1.1\r\nHost: a\r\n"), None);
    assert_eq!(head_len(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nrest"), Some(27));
    assert_eq!(head_len(b"GET / HTTP/1.0\n\nrest"), Some(16));
    assert_eq!(head_len(b"\r\n\r\nGET / HTTP/1.0\r\n\r\n"), Some(22));
    assert_eq!(head_len(b"\r\n\r\n"), None);
    assert_eq!(head_len(b""), None);
}

/// A small deterministic generator (xorshift64*), so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Pieces requests are made of, so random heads get past the first checks.
const PIECES: &[&[u8]] = &[
    b"GET",
    b"HEAD",
    b"POST",
    b" ",
    b"  ",
    b"/",
    b"/a/../b",
    b"%2f",
    b"%",
    b"?",
    b"HTTP/1.1",
    b"HTTP/1.0",
    b"HTTP/2",
    b"\r\n",
    b"\n",
    b"\r",
    b"Host: x",
    b"Host:",
    b":",
    b"Content-Length: ",
    b"99999999999999999999",
    b"7",
    b"Transfer-Encoding: chunked",
    b"Connection: close",
    b"\t",
    b"\x00",
    b"\xff",
    b"\xe9",
    b"http://",
];

/// Random bytes, random splices of request pieces, and single-byte
/// mutations of a valid request: the parser returns, never panics, and
/// whatever it accepts is consistent.
#[test]
fn fuzz_heads_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let valid = b"GET /dir/file.txt?q HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\n";
    let (mut accepted, mut refused) = (0, 0);
    for round in 0..200_000 {
        let buf: Vec<u8> = match round % 3 {
            0 => (0..rng.below(200)).map(|_| rng.next() as u8).collect(),
            1 => (0..rng.below(30)).flat_map(|_| PIECES[rng.below(PIECES.len())].iter().copied()).collect(),
            _ => {
                let mut v = valid.to_vec();
                for _ in 0..=rng.below(4) {
                    let i = rng.below(v.len());
                    match rng.below(3) {
                        0 => v[i] = rng.next() as u8,
                        1 => {
                            v.remove(i);
                        }
                        _ => v.insert(i, rng.next() as u8),
                    }
                }
                v
            }
        };
        let _ = head_len(&buf);
        let Some(n) = head_len(&buf) else { continue };
        match parse(&buf[..n]) {
            Ok(r) => {
                accepted += 1;
                assert!(r.target.starts_with('/'), "{buf:?}: {r:?}");
                assert!(r.target.bytes().all(|b| b.is_ascii_graphic()), "{buf:?}: {r:?}");
            }
            Err(e) => {
                refused += 1;
                assert!([400, 405, 413, 501, 505].contains(&e.status()));
            }
        }
    }
    assert!(accepted > 1000 && refused > 1000, "{accepted} accepted, {refused} refused: the generator is off");
}
